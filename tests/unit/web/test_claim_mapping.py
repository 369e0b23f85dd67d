"""Where a provider's tokens carry the agency and the roles: the claim names and the role map
of the settings, the same for the pages' ID tokens and the API's access tokens."""

from __future__ import annotations

import pytest

from crocevia_common.auth import ClaimMapping, Role, UnusableClaims
from crocevia_common.settings import ServiceSettings

KEYCLOAK = ClaimMapping("agency", "groups", {"/crocevia/operators": Role.OPERATOR})


def test_without_a_role_map_only_crocevias_own_role_names_count():
    claims = {"sub": "ada", "agency": "cpia2", "roles": ["operator", "janitor", 7]}
    assert ClaimMapping().principal(claims).roles == {Role.OPERATOR}


def test_with_a_role_map_only_the_names_it_lists_count_even_crocevias_own():
    claims = {"sub": "ada", "agency": "cpia2", "groups": ["/crocevia/operators", "admin", "/staff/canteen"]}
    assert KEYCLOAK.principal(claims).roles == {Role.OPERATOR}


def test_a_dotted_name_reads_nested_claims_unless_a_claim_has_that_very_name():
    nested = ClaimMapping("agency", "realm_access.roles")
    assert nested.principal({"sub": "a", "agency": "cpia2", "realm_access": {"roles": ["supervisor"]}}).roles == {
        Role.SUPERVISOR
    }
    entra = ClaimMapping("extn.agency", "roles")
    person = entra.principal({"sub": "a", "extn.agency": "pioltello-casa", "roles": "operator"})
    assert (person.agency, person.roles) == ("pioltello-casa", {Role.OPERATOR})


def test_an_agency_attribute_with_a_single_value_in_a_list_is_that_agency():
    assert ClaimMapping().principal({"sub": "a", "agency": ["cpia2"], "roles": []}).agency == "cpia2"


@pytest.mark.parametrize("agency", [None, "", ["cpia2", "csl-lavoro"], "CPIA 2", "x" * 65, 42, {"id": "cpia2"}])
def test_claims_without_a_usable_agency_make_no_principal(agency):
    with pytest.raises(UnusableClaims) as refused:
        ClaimMapping().principal({"sub": "ada", "agency": agency, "roles": ["operator"]})
    assert refused.value.claim == "agency"


def test_a_role_map_naming_a_role_crocevia_does_not_have_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match=r"CROCEVIA_OIDC_ROLE_MAP.*chief"):
        ClaimMapping.of(ServiceSettings(oidc_role_map={"/crocevia/chiefs": "chief"}))
