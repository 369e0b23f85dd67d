from tests.integration.conftest import referral_body

__all__ = ["referral_body"]
