"""A real OpenID provider for tests: panva's ``oidc-provider`` (tests/kit/oidc/), run with
the machine's Node.js on a free loopback port, its packages installed with ``npm ci`` the
first time they are missing.

Without Node.js the tests that need it are skipped, unless ``REQUIRE_OIDC=1`` (which CI
sets), ``REQUIRE_BROWSER=1`` or ``CI=true``: then they fail.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.kit.nats import free_port

KIT = Path(__file__).parent / "oidc"
RESOURCE = "urn:crocevia:api"  # the audience of the provider's access tokens: the Crocevia API
CLIENT_ID = "crocevia-pages"
CLIENT_SECRET = "pages-secret-for-tests-only-0123456789"
# Accounts and their claims: a Keycloak-like groups claim, an Entra ID-like roles claim with
# the agency in an extension attribute, Crocevia's own names, and people the pages refuse.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "ada": {"name": "Ada", "agency": "cpia2", "groups": ["/crocevia/operators", "/staff/canteen"]},
    "bea": {"name": "Bea", "extn.agency": "pioltello-casa", "roles": ["Crocevia.Supervisor", "Directory.Reader"]},
    "eve": {"name": "Eve", "agency": "cpia2", "roles": ["operator"]},
    "nia": {"name": "Nia", "groups": ["/crocevia/operators"], "roles": ["operator"]},  # no agency
    "ugo": {"name": "Ugo", "agency": "cpia2", "groups": ["/staff/canteen"], "roles": ["janitor"]},  # no role
}
CLAIMS = ["agency", "extn.agency", "groups", "roles"]
# Where the service under test answers (in this process), and its single sign-on callback.
APP = "http://testserver"
CALLBACK_PATH = "/signin/callback"


def oidc_required() -> bool:
    return "1" in (os.environ.get("REQUIRE_OIDC"), os.environ.get("REQUIRE_BROWSER")) or os.environ.get("CI") == "true"


def installed_kit() -> Path:
    """The provider's folder with its packages: ``npm ci`` when they are missing. Skips the
    test without Node.js and npm (fails it when they are required)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "Node.js and npm are needed for the OpenID provider tests (`make oidc-provider`)"
        if oidc_required():
            pytest.fail(f"required here (REQUIRE_OIDC, REQUIRE_BROWSER or CI) but {reason}")
        pytest.skip(reason)
    lock = Path(tempfile.gettempdir()) / "crocevia-oidc-kit.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # parallel test workers install once
        installed = KIT / "node_modules" / ".package-lock.json"  # npm ci's record of what it installed
        if not installed.exists() or installed.stat().st_mtime < (KIT / "package-lock.json").stat().st_mtime:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=KIT,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                pytest.fail(f"npm ci in {KIT} failed: {done.stderr[-2000:]}")
    return KIT


@dataclass
class IdentityProvider:
    """A running provider: its issuer, the key it signs with (so a test can forge a token
    the way a thief of that key could), its clients' redirect addresses."""

    issuer: str
    signing_key: RSAKey
    process: subprocess.Popen[bytes]
    log: Path
    redirect_uris: list[str] = field(default_factory=list)

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def client(redirect_uris: list[str], logout_uris: list[str]) -> dict[str, Any]:
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": logout_uris,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }


def start_provider(workdir: Path, redirect_uris: list[str], logout_uris: list[str]) -> IdentityProvider:
    """Start the provider with a fresh RS256 key and the test accounts; wait until its
    discovery document answers."""
    kit = installed_kit()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256", "use": "sig"}, private=True)
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "issuer": issuer,
        "port": port,
        "jwks": {"keys": [key.as_dict(private=True)]},
        "cookieKey": os.urandom(16).hex(),
        "clients": [client(redirect_uris, logout_uris)],
        "accounts": ACCOUNTS,
        "claims": CLAIMS,
        "resource": RESOURCE,
        "idTokenTtl": 3600,
        "accessTokenTtl": 3600,
    }
    config_file = workdir / "provider.json"
    config_file.write_text(json.dumps(config))
    log = workdir / "provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["node", str(kit / "provider.mjs"), str(config_file)], cwd=kit, stdout=out, stderr=subprocess.STDOUT
        )
    provider = IdentityProvider(issuer, key, process, log, redirect_uris)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the OpenID provider exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2, trust_env=False).is_success:
                return provider
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    provider.stop()
    raise RuntimeError(f"the OpenID provider did not answer: {log.read_text()[-2000:]}")


class Browser:
    """A browser over HTTP: the service under test in this process (``http://testserver``)
    and the provider on its port, one cookie jar each; redirects followed across both."""

    def __init__(self, app: httpx.AsyncClient, provider: IdentityProvider) -> None:
        self.app = app
        self.idp = httpx.AsyncClient(timeout=10, trust_env=False)
        self.provider = provider

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.idp.aclose()

    def _client(self, url: str) -> httpx.AsyncClient:
        return self.idp if url.startswith(self.provider.issuer) else self.app

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._client(url).get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._client(url).post(url, **kwargs)

    async def follow(self, answer: httpx.Response, *, stop_at: str | None = None) -> httpx.Response:
        """Follow ``answer``'s redirects; stop before asking for a URL whose path is
        ``stop_at`` and return the redirect that leads there."""
        for _ in range(10):
            if answer.status_code not in (301, 302, 303, 307, 308):
                return answer
            url = answer.url.join(answer.headers["location"])
            if stop_at is not None and url.path == stop_at:
                return answer
            answer = await self.get(str(url))
        raise AssertionError("too many redirects")

    async def to_provider(self, next_page: str = "/ui") -> httpx.Response:
        """Start signing in at the service; the provider's answer (its sign-in form, or a
        redirect back when the provider still knows the browser)."""
        start = await self.get(f"{APP}/signin/oidc", params={"next": next_page})
        assert start.status_code == 303, start.text
        assert start.headers["location"].startswith(f"{self.provider.issuer}/auth?")
        return await self.follow(start, stop_at=CALLBACK_PATH)

    async def log_in(self, account: str, next_page: str = "/ui") -> str:
        """Sign in as ``account`` at the provider; the callback URL it sends the browser to
        (not asked for yet)."""
        page = await self.to_provider(next_page)
        if page.status_code == 200:  # the provider's sign-in form
            action = re.search(r'<form method="post" action="([^"]+)"', page.text)
            assert action, page.text
            sent = await self.post(str(page.url.join(action.group(1))), data={"login": account})
            assert sent.status_code == 303, sent.text
            page = await self.follow(sent, stop_at=CALLBACK_PATH)
        assert page.status_code in (302, 303), page.text
        callback = str(page.url.join(page.headers["location"]))
        assert callback.startswith(f"{APP}{CALLBACK_PATH}?"), callback
        return callback

    async def sign_in(self, account: str, next_page: str = "/ui") -> httpx.Response:
        """The whole flow: the callback's answer (a redirect to ``next_page`` when it worked)."""
        return await self.get(await self.log_in(account, next_page))


def id_token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the test's own reading)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def forged(token: str, key: RSAKey | None, **changes: Any) -> str:
    """``token`` with ``changes`` to its claims (None: left out), signed RS256 with ``key``
    (kid kept); with no key, unsigned (``alg: none``)."""
    claims = {k: v for k, v in {**id_token_claims(token), **changes}.items() if v is not None}
    if key is None:
        header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{body}."
    return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)


class TokenAnswerRewriter(httpx.AsyncBaseTransport):
    """The service's way to the provider, through which a test changes the token
    endpoint's next answer, as a man in the middle or a mixed-up provider would."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self.inner.handle_async_request(request)
        if self.rewrite is None or request.method != "POST" or not request.url.path.endswith("/token"):
            return answer
        await answer.aread()
        body = self.rewrite(json.loads(answer.content))
        self.rewrite = None
        return httpx.Response(answer.status_code, json=body)

    async def aclose(self) -> None:
        await self.inner.aclose()
