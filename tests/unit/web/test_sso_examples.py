"""The single sign-on examples in deploy/sso/ are settings that load, and map the claims of
tokens as Keycloak and Entra ID issue them to the person the README says."""

from __future__ import annotations

from pathlib import Path

import pytest

from crocevia_common.auth import ClaimMapping, Principal, Role
from crocevia_common.settings import ServiceSettings
from crocevia_common.web.oidc import OidcConfig

EXAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "sso"
KEYCLOAK_ID_TOKEN = {
    "iss": "https://sso.example.org/realms/agencies",
    "aud": "crocevia-pages",
    "sub": "f2a1c7e0-4b8e-4d7e-9d5c-0c1a2b3c4d5e",
    "agency": "cpia2",
    "groups": ["/crocevia/operators", "/offices/milano"],
    "realm_access": {"roles": ["offline_access", "admin"]},
}
ENTRA_ID_TOKEN = {
    "iss": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    "aud": "11111111-1111-1111-1111-111111111111",
    "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    "extn.agency": "pioltello-casa",
    "roles": ["Crocevia.Supervisor", "Directory.Reader"],
}


@pytest.mark.parametrize(
    ("example", "claims", "agency", "roles"),
    [
        ("keycloak.env", KEYCLOAK_ID_TOKEN, "cpia2", {Role.OPERATOR}),
        ("entra-id.env", ENTRA_ID_TOKEN, "pioltello-casa", {Role.SUPERVISOR}),
    ],
)
def test_an_example_maps_its_providers_claims_to_a_crocevia_person(example, claims, agency, roles):
    settings = ServiceSettings(_env_file=EXAMPLES / example)  # type: ignore[call-arg]
    person = ClaimMapping.of(settings).principal(claims)
    assert person == Principal(sub=claims["sub"], agency=agency, roles=frozenset(roles))
    assert settings.auth_issuer == claims["iss"] and settings.oidc_client_id == claims["aud"]
    assert settings.session_idle_minutes == 30


def test_an_example_is_a_complete_single_sign_on_setting_but_for_its_secret(tmp_path):
    for example in ("keycloak.env", "entra-id.env"):
        secret = tmp_path / "secret"
        secret.write_text("s3cret")
        settings = ServiceSettings(_env_file=EXAMPLES / example, oidc_client_secret_file=secret)  # type: ignore[call-arg]
        config = OidcConfig.of(settings)
        assert config is not None and config.redirect_url == "https://cpia2.crocevia.example.org/signin/callback"
