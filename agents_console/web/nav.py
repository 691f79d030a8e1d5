"""The console's navigation: which pages each role sees.

A feature adds its page with `add_nav_item(NavItem("/console/…", lazy_gettext("…"), roles))`
(or by editing `NAV_ITEMS` below); the layout shows the items the user's role may open, in
order. The page itself must still check the role with `require_role`: the menu only hides."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request
from flask_babel import lazy_gettext

from intake.models import Role, User

ALL_ROLES = frozenset(Role)
DESK = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
SUPERVISION = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class NavItem:
    path: str
    label: object  # a lazy_gettext string: translated when shown
    roles: frozenset[Role]

    def visible_to(self, user: User) -> bool:
        return user.role in self.roles

    @property
    def active(self) -> bool:
        return request.path == self.path or request.path.startswith(self.path + "/")


NAV_ITEMS: list[NavItem] = [
    NavItem("/console/queue", lazy_gettext("Hàng đợi"), DESK | {Role.AGENCY_OFFICER}),
    NavItem("/console/conversations", lazy_gettext("Hội thoại"), DESK),
    NavItem("/console/registrations", lazy_gettext("Đăng ký"), ALL_ROLES),
    NavItem("/console/admin", lazy_gettext("Quản trị"), frozenset({Role.ADMIN})),
    NavItem(
        "/console/dashboards", lazy_gettext("Thống kê"), frozenset({Role.SUPERVISOR, Role.ADMIN})
    ),
]

ROLE_LABELS: dict[Role, object] = {
    Role.AGENT: lazy_gettext("Tổng đài viên"),
    Role.SUPERVISOR: lazy_gettext("Giám sát viên"),
    Role.ADMIN: lazy_gettext("Quản trị viên"),
    Role.AGENCY_OFFICER: lazy_gettext("Cán bộ đơn vị"),
}


def add_nav_item(item: NavItem) -> None:
    """Add (or replace, by path) a page in the navigation."""
    for index, existing in enumerate(NAV_ITEMS):
        if existing.path == item.path:
            NAV_ITEMS[index] = item
            return
    NAV_ITEMS.append(item)


def nav_for(user: User | None) -> list[NavItem]:
    if user is None:
        return []
    return [item for item in NAV_ITEMS if item.visible_to(user)]


def init_nav(app: Flask) -> None:
    app.jinja_env.globals["role_label"] = lambda role: ROLE_LABELS.get(role, role)
