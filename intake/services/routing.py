"""Routing: category + ward decide the agency; agents can re-route."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Agency, Category, RoutingRule, Ward


def agency_for(session: Session, category: Category | None, ward: Ward | None) -> Agency | None:
    """The agency a case goes to.

    An explicit rule for (category, ward) wins; then a category handled by ward People's
    Committees goes to the case's ward; then the category's default agency.
    """
    if category is not None and ward is not None:
        rule = session.scalar(
            select(RoutingRule).where(
                RoutingRule.category_id == category.id, RoutingRule.ward_id == ward.id
            )
        )
        if rule is not None:
            return session.get(Agency, rule.agency_id)
    if category is not None and category.routes_to_ward and ward is not None and ward.agency:
        return ward.agency
    if category is not None and category.default_agency is not None:
        return category.default_agency
    if ward is not None:
        return ward.agency
    return None
