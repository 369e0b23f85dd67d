# The audit, where a node's access log is anchored.
from tests.integration.audit.conftest import audit_factory, audit_settings  # noqa: F401
from tests.integration.conftest import referral_body

__all__ = ["referral_body"]
