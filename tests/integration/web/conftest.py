"""The pages' tests start the services as their own integration tests do; the single
sign-on tests also start an OpenID provider."""

from collections.abc import Iterator

import pytest

from tests.integration.audit.conftest import audit_factory, audit_settings  # noqa: F401
from tests.integration.notifications.conftest import (  # noqa: F401
    agencies_dir,
    events,
    fast,
    js,
    notifications_factory,
    receiver,
    staff_dir,
)
from tests.kit.identity_provider import APP, CALLBACK_PATH, IdentityProvider, start_provider


@pytest.fixture(scope="module")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    """A real OpenID provider, started once per test module, for the service at
    ``http://testserver``."""
    provider = start_provider(tmp_path_factory.mktemp("oidc"), [f"{APP}{CALLBACK_PATH}"], [f"{APP}/signin"])
    try:
        yield provider
    finally:
        provider.stop()
