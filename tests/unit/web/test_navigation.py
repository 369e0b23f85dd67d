"""The navigation every page shows leads each person to their notifications' settings, from
a node's pages as from the notifications' own."""

from __future__ import annotations

from crocevia_common.auth import Principal, Role
from crocevia_common.web.links import NetworkLinks
from crocevia_common.web.pages import navigation

LINKS = NetworkLinks(nodes={"cpia2": "http://cpia2.test"}, notifications="http://notifications.test")


def urls(*roles: Role, links: NetworkLinks = LINKS) -> list[str]:
    return [link.url for link in navigation(Principal("someone", "cpia2", frozenset(roles)), links)]


def test_staff_find_the_notification_settings_beside_the_inbox() -> None:
    for role in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        found = urls(role)
        inbox = found.index("http://notifications.test/ui/inbox")
        assert found[inbox + 1] == "http://notifications.test/ui/settings"


def test_no_settings_link_without_notifications_or_for_auditors() -> None:
    assert "http://notifications.test/ui/settings" not in urls(Role.AUDITOR, Role.DPO)
    assert not any(u.endswith("/ui/settings") for u in urls(Role.OPERATOR, links=NetworkLinks(nodes=LINKS.nodes)))
