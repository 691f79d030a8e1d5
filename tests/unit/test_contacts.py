from __future__ import annotations

from intake.models import Channel
from intake.services.contacts import contact_for_identity, reply_address


def test_caller_id_and_sms_number_are_one_citizen(session, now):
    caller = contact_for_identity(session, Channel.VOICE, "+84905123456", now)
    texter = contact_for_identity(session, Channel.SMS, "+84905123456", now)
    assert caller.id == texter.id
    assert {i.channel for i in caller.identities} == {Channel.VOICE, Channel.SMS}
    # A call is answered by SMS.
    assert reply_address(caller, Channel.VOICE) == (Channel.SMS, "+84905123456")


def test_zalo_user_joins_by_phone_and_gets_zalo_replies(session, now):
    big_id = "8123456789012345678901"  # bigger than 64 bits: kept as a string
    sms = contact_for_identity(session, Channel.SMS, "+84905123456", now)
    zalo = contact_for_identity(session, Channel.ZALO, big_id, now, phone_e164="+84905123456")
    assert zalo.id == sms.id
    assert reply_address(zalo, Channel.ZALO) == (Channel.ZALO, big_id)


def test_same_identity_twice_is_found_not_duplicated(session, now):
    first = contact_for_identity(session, Channel.MESSENGER, "psid-1", now, display_name="Lan")
    again = contact_for_identity(session, Channel.MESSENGER, "psid-1", now)
    assert first.id == again.id and len(again.identities) == 1
    # No phone known and no identity on the asked channel: no way to reach them by SMS.
    assert reply_address(first, Channel.TELEGRAM) is None
