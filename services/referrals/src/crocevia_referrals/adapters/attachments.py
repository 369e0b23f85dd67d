"""Attachments between nodes: each file encrypted with a key of its own (XSalsa20-Poly1305,
libsodium's secretbox) and put in the receiving agency's JetStream object store bucket; the
key travels only in the message's sealed part. A node reads and deletes only in its own
bucket; it puts into another's by publishing the object's chunks and meta, as an object store
lays them out, without reading that bucket."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from nacl.utils import random
from nats.js import JetStreamContext
from nats.js.api import Header
from nats.js.errors import BadObjectMetaError, DigestMismatchError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from crocevia_contracts.stream import attachments_bucket
from crocevia_referrals.handlers.ports import AttachmentError, Shipped

log = logging.getLogger(__name__)
CHUNK_BYTES = 128 * 1024  # the object store's own chunk size


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


class NatsCarrier:
    """The attachments of ``agency_id``'s node, through the object store buckets."""

    def __init__(self, js: JetStreamContext, agency_id: str) -> None:
        self.js = js
        self.agency_id = agency_id
        self.bucket = attachments_bucket(agency_id)
        self._own: ObjectStore | None = None

    async def _store(self) -> ObjectStore:
        if self._own is None:
            self._own = await self.js.object_store(self.bucket)
        return self._own

    async def ship(self, to_agency: str, content: bytes) -> Shipped:
        key = random(SecretBox.KEY_SIZE)
        sealed = bytes(SecretBox(key).encrypt(content))
        name, nuid = str(uuid4()), uuid4().hex
        bucket = attachments_bucket(to_agency)
        chunks = f"$O.{bucket}.C.{nuid}"
        count = 0
        for start in range(0, len(sealed), CHUNK_BYTES):
            await self.js.publish(chunks, sealed[start : start + CHUNK_BYTES])
            count += 1
        info = {
            "name": name,
            "bucket": bucket,
            "nuid": nuid,
            "size": len(sealed),
            "chunks": count,
            "mtime": datetime.now(UTC).isoformat(),
            "digest": "SHA-256=" + _b64url(hashlib.sha256(sealed).digest()),
            "options": {"max_chunk_size": CHUNK_BYTES},
        }
        meta = f"$O.{bucket}.M.{_b64url(name.encode())}"
        await self.js.publish(meta, json.dumps(info).encode(), headers={Header.ROLLUP: "sub"})
        return Shipped(object=name, key=base64.b64encode(key).decode())

    async def fetch(self, object_name: str, key: str) -> bytes:
        store = await self._store()
        try:
            found = await store.get(object_name)
        except ObjectNotFoundError:
            raise AttachmentError("the object is not in the bucket") from None
        except (DigestMismatchError, BadObjectMetaError):
            raise AttachmentError("the object's chunks are not those its meta describes") from None
        try:
            return SecretBox(base64.b64decode(key)).decrypt(found.data or b"")
        except (CryptoError, ValueError):
            raise AttachmentError("the object does not open with its key") from None

    async def discard(self, object_names: Sequence[str]) -> None:
        store = await self._store()
        for name in object_names:
            try:
                await store.delete(name)
            except Exception as exc:  # it expires with the bucket's max age anyway
                log.warning("attachment object not deleted: %s", type(exc).__name__)
