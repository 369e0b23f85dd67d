"""The pages' tests start the services as their own integration tests do."""

from tests.integration.audit.conftest import audit_factory, audit_settings  # noqa: F401
from tests.integration.notifications.conftest import (  # noqa: F401
    agencies_dir,
    events,
    fast,
    js,
    notifications_factory,
    staff_dir,
)
