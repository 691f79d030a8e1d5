"""Citizens and their identities: one person may call, text and write on Zalo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Channel, Contact, ContactIdentity

# Channels whose external id is itself a phone number.
PHONE_CHANNELS = frozenset({Channel.VOICE, Channel.SMS})


def contact_for_identity(
    session: Session, channel: Channel, external_id: str, now: datetime, **options: Any
) -> Contact:
    """Find or create the contact behind a channel identity (`options`: the keywords of
    `find_or_create_contact`, such as `phone_e164` and `display_name`).

    A caller ID or SMS number is a phone number: it joins the contact that already has it, so a
    resident who called and later texts is one citizen.
    """
    return find_or_create_contact(session, channel, external_id, now, **options)[0]


def find_or_create_contact(
    session: Session,
    channel: Channel,
    external_id: str,
    now: datetime,
    *,
    phone_e164: str | None = None,
    display_name: str | None = None,
    identity_is_new: bool = False,
    flush: bool = True,
) -> tuple[Contact, bool]:
    """`contact_for_identity`, also saying whether the contact is new. `identity_is_new`: the
    caller has just looked for this identity and not found it (no query is made for it);
    `flush=False` leaves the INSERTs to the caller's next flush."""
    if not identity_is_new:
        known = session.scalar(
            select(Contact)
            .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
            .where(ContactIdentity.channel == channel, ContactIdentity.external_id == external_id)
        )
        if known is not None:
            return known, False
    if channel in PHONE_CHANNELS and phone_e164 is None:
        phone_e164 = external_id
    contact = None
    if phone_e164 is not None:
        contact = session.scalar(select(Contact).where(Contact.phone_e164 == phone_e164))
    created = contact is None
    if contact is None:
        contact = Contact(phone_e164=phone_e164, full_name=display_name, created_at=now)
        session.add(contact)
    contact.identities.append(
        ContactIdentity(
            channel=channel, external_id=external_id, display_name=display_name, created_at=now
        )
    )
    if flush:
        session.flush()
    return contact, created


def reply_address(contact: Contact, channel: Channel) -> tuple[Channel, str] | None:
    """Where to tell this citizen something about a case reported on `channel`.

    Calls get an SMS; messengers get a message on the same messenger.
    """
    if channel in PHONE_CHANNELS:
        return (Channel.SMS, contact.phone_e164) if contact.phone_e164 else None
    for identity in contact.identities:
        if identity.channel == channel:
            return channel, identity.external_id
    if contact.phone_e164:
        return Channel.SMS, contact.phone_e164
    return None
