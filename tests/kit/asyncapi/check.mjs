// Parse an AsyncAPI document with the official parser (resolving relative references from
// the document's own folder) and print its diagnostics as JSON: [{severity, message, path}].
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Parser, fromFile } from "@asyncapi/parser";

const file = resolve(process.argv[2]);
const parser = new Parser();
const { diagnostics } = await fromFile(parser, file).parse({ source: pathToFileURL(file).href });
const found = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path.join("/") }));
process.stdout.write(JSON.stringify(found, null, 1));
