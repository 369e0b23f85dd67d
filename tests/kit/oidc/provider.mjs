// An OpenID provider for the tests: panva's certified oidc-provider, configured from a JSON
// file (issuer, port, signing keys, clients, accounts and their claims). Its sign-in is a
// one-field form (the account's name) that a test completes over HTTP; consent is implied
// for the configured clients, as an organisation's own provider does for its applications.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { accounts } = config;
const RESOURCE = config.resource;
const SCOPES = 'openid profile crocevia';

function claimsOf(accountId) {
  return { sub: accountId, ...accounts[accountId] };
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: [config.cookieKey] },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    crocevia: config.claims,
  },
  scopes: ['openid', 'profile', 'crocevia'],
  // The mapped claims travel in the ID token itself, as Keycloak and Entra ID put them there.
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) =>
    accounts[id] ? { accountId: id, claims: async () => claimsOf(id) } : undefined,
  // Access tokens for the Crocevia API: JWTs, signed with the same keys, with the same claims.
  extraTokenClaims: async (_ctx, token) => {
    if (token.kind !== 'AccessToken') return undefined;
    const { sub, ...claims } = claimsOf(token.accountId);
    return claims;
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!doctype html><title>Sign out</title>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: SCOPES,
        audience: RESOURCE,
        accessTokenFormat: 'jwt',
        accessTokenTTL: config.accessTokenTtl,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  pkce: { methods: ['S256'], required: () => true },
  ttl: {
    IdToken: config.idTokenTtl,
    Session: 3600,
    Interaction: 600,
    Grant: 3600,
    AuthorizationCode: 60,
  },
  interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPES);
    grant.addResourceScope(RESOURCE, SCOPES);
    await grant.save();
    return grant;
  },
});

async function formOf(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const page = (body) => `<!doctype html><title>Sign in</title>${body}`;

provider.use(async (ctx, next) => {
  const found = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(ctx.path);
  if (!found) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = page(`<form method="post" action="/interaction/${details.uid}">
<label>Account <input name="login" autofocus></label><button type="submit">Sign in</button></form>`);
    return undefined;
  }
  if (ctx.method !== 'POST') return next();
  const login = (await formOf(ctx.req)).get('login') || '';
  if (!Object.hasOwn(accounts, login)) {
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = page('<p>No such account.</p>');
    return undefined;
  }
  const url = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: login } }, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(url);
  return undefined;
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${config.issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
