"""Audit log integrity (AU-2..AU-6): append-only, hash chain verification, retention purge,
fail-closed writes, no secrets, log-injection safety."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from core import audit, identity
from core.audit import (
    AuditRetentionError,
    audit_purge,
    audit_record,
    audit_triggers_lifted,
    audit_verify,
)
from core.models import AuditCheckpoint, AuditEvent, User
from core.models.audit import AuditImmutableError
from core.tests.identity_helpers import GOOD_PASSWORD, make_user, totp_device, totp_token

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)
TABLE = AuditEvent._meta.db_table


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def chain(n, start=NOW, step=timedelta(days=1)):
    return [audit_record(event_type=f"test.{i}", object_id=i, now=start + i * step) for i in range(n)]


# --- append-only -----------------------------------------------------------------------------


def test_the_orm_refuses_to_update_or_delete_audit_rows():
    event = audit_record(event_type="test.one")
    event.event_type = "forged"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(event_type="forged")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_update_and_delete():
    event = audit_record(event_type="test.one")
    with pytest.raises(DatabaseError), transaction.atomic():
        raw(f"UPDATE {TABLE} SET event_type = 'forged' WHERE seq = %s", [event.seq])  # noqa: S608
    with pytest.raises(DatabaseError), transaction.atomic():
        raw(f"DELETE FROM {TABLE} WHERE seq = %s", [event.seq])  # noqa: S608
    assert AuditEvent.objects.get(seq=event.seq).event_type == "test.one"


@pytest.mark.postgres_only
def test_postgres_refuses_truncate():
    audit_record(event_type="test.one")
    with pytest.raises(DatabaseError), transaction.atomic():
        raw(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.count() == 1


def test_the_triggers_come_back_after_being_lifted():
    event = audit_record(event_type="test.one")
    with transaction.atomic(), audit_triggers_lifted():
        pass
    with pytest.raises(DatabaseError), transaction.atomic():
        raw(f"DELETE FROM {TABLE} WHERE seq = %s", [event.seq])  # noqa: S608


# --- verification ----------------------------------------------------------------------------


def test_an_intact_chain_verifies():
    chain(5)
    result = audit_verify()
    assert result.ok and result.checked == 5 and result.start_seq == 1


def test_the_verifier_finds_an_edited_row():
    rows = chain(5)
    with transaction.atomic(), audit_triggers_lifted():  # simulate tampering by a DB superuser
        raw(f"UPDATE {TABLE} SET actor_login = 'someone-else' WHERE seq = %s", [rows[2].seq])  # noqa: S608
    result = audit_verify()
    assert not result.ok
    assert result.first_bad_seq == rows[2].seq
    assert "hash" in result.reason
    with pytest.raises(CommandError, match=f"第 {rows[2].seq} 条"):
        call_command("audit_verify")


def test_the_verifier_finds_a_deleted_row():
    rows = chain(5)
    with transaction.atomic(), audit_triggers_lifted():
        raw(f"DELETE FROM {TABLE} WHERE seq = %s", [rows[1].seq])  # noqa: S608
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == rows[1].seq


def test_the_verifier_finds_a_cut_tail():
    rows = chain(5)
    with transaction.atomic(), audit_triggers_lifted():
        raw(f"DELETE FROM {TABLE} WHERE seq = %s", [rows[4].seq])  # noqa: S608
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == rows[4].seq


def test_the_verify_command_reports_success(capsys):
    chain(3)
    call_command("audit_verify")
    assert "审计日志完整" in capsys.readouterr().out


# --- retention -------------------------------------------------------------------------------


def test_purge_refuses_anything_younger_than_180_days():
    chain(3)
    with pytest.raises(AuditRetentionError):
        audit_purge(now=NOW + timedelta(days=400), older_than_days=179)
    assert AuditEvent.objects.count() == 3


def test_purge_deletes_the_old_prefix_and_leaves_a_checkpoint_the_verifier_starts_from():
    rows = chain(10, step=timedelta(days=30))  # day 0, 30, ..., 270
    now = NOW + timedelta(days=300)
    result = audit_purge(now=now, older_than_days=180)  # cutoff: day 120; rows of days 0..90 go
    kept_from = next(r for r in rows if r.occurred_at >= now - timedelta(days=180))
    assert result.purged == kept_from.seq - 1
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.upto_seq == kept_from.seq - 1
    assert checkpoint.upto_hash == rows[kept_from.seq - 2].hash
    assert not AuditEvent.objects.filter(seq__lt=kept_from.seq).exists()
    assert AuditEvent.objects.latest("seq").event_type == "audit.purge"
    verified = audit_verify()
    assert verified.ok and verified.start_seq == kept_from.seq
    # the triggers are back after the purge
    with pytest.raises(DatabaseError), transaction.atomic():
        raw(f"DELETE FROM {TABLE} WHERE seq = %s", [kept_from.seq])  # noqa: S608


def test_purge_defaults_to_the_configured_retention(settings):
    settings.AUDIT_RETENTION_DAYS = 365
    chain(3)
    assert audit_purge(now=NOW + timedelta(days=300)).purged == 0
    assert audit_purge(now=NOW + timedelta(days=367)).purged == 2


def test_purge_stops_at_the_first_young_row_even_if_older_rows_follow():
    audit_record(event_type="old", now=NOW)
    audit_record(event_type="young", now=NOW + timedelta(days=300))
    audit_record(event_type="old-again", now=NOW)  # out of order clock
    assert audit_purge(now=NOW + timedelta(days=400), older_than_days=200).purged == 1
    assert audit_verify().ok


def test_the_purge_command_refuses_a_short_retention():
    with pytest.raises(CommandError):
        call_command("audit_purge", older_than_days=30)


# --- fail closed (AU-5) -------------------------------------------------------------------------


def test_a_failing_audit_write_rolls_the_disable_back(monkeypatch):
    sysadmin = make_user("sysadmin", admin_role="system", is_staff=True)
    alice = make_user("alice")

    def broken(**kwargs):
        raise RuntimeError("audit sink down")

    monkeypatch.setattr("core.identity.audit_record", broken)
    with pytest.raises(RuntimeError):
        identity.user_disable(actor=sysadmin, user=alice, now=NOW)
    alice.refresh_from_db()
    assert alice.is_active and alice.disabled_at is None and alice.session_epoch == 0


def test_a_failing_audit_write_rolls_a_password_change_back(monkeypatch):
    alice = make_user("alice")
    monkeypatch.setattr(
        "core.identity.audit_record", lambda **kw: (_ for _ in ()).throw(RuntimeError("down"))
    )
    with pytest.raises(RuntimeError):
        identity.password_change(
            actor=alice, user=alice, old_password=GOOD_PASSWORD, new_password="Nn7#newSecret!", now=NOW
        )
    alice.refresh_from_db()
    assert alice.check_password(GOOD_PASSWORD)


# --- no secrets (AU-2) ---------------------------------------------------------------------------


def test_no_password_or_token_ever_reaches_an_audit_row():
    secrets_seen = []
    with time_machine.travel(NOW, tick=False):
        client = Client()
        alice = make_user("alice")
        device = totp_device(alice)
        secrets_seen += [GOOD_PASSWORD, "Wrong-Secret-77!", device.key]
        client.post("/login/", {"username": "alice", "password": "Wrong-Secret-77!"})
        client.post("/login/", {"username": "alice", "password": GOOD_PASSWORD})
        token = totp_token(device)
        client.post("/login/mfa/", {"token": token})
        new = "Zz8$brandNewPass"
        secrets_seen.append(new)
        client.post(
            "/password/change/", {"old_password": GOOD_PASSWORD, "new_password1": new, "new_password2": new}
        )
        _tok, raw_key = identity.api_token_create(actor=alice, user=alice, name="n", now=NOW)
        secrets_seen.append(raw_key)
        sysadmin = make_user("sysadmin", admin_role="system", is_staff=True)
        _user, temporary = identity.password_reset(actor=sysadmin, user=alice, now=NOW)
        secrets_seen.append(temporary)
        alice.refresh_from_db()
        secrets_seen.append(alice.password)  # the hash neither
    dump = json.dumps(
        [
            {f.name: str(getattr(e, f.attname)) for f in AuditEvent._meta.fields}
            for e in AuditEvent.objects.order_by("seq")
        ],
        ensure_ascii=False,
    )
    assert AuditEvent.objects.count() >= 6
    for secret in secrets_seen:
        assert secret not in dump, secret


# --- log injection (AU-6) ------------------------------------------------------------------------


@given(st.text(max_size=80))
def test_text_fields_never_carry_control_characters(value):
    with transaction.atomic():
        event = audit_record(event_type=value, actor_login=value, object_type=value, object_id=value)
        for field in ("event_type", "actor_login", "object_type", "object_id"):
            stored = getattr(event, field)
            assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in stored), (field, stored)
        transaction.set_rollback(True)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_clean_leaves_printable_text_alone_and_never_lets_a_newline_through(value):
    cleaned = audit._clean(value, 1000)
    if not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        assert cleaned == value
    assert "\n" not in cleaned and "\r" not in cleaned


def test_an_unknown_user_login_attempt_is_recorded_with_its_typed_name_encoded():
    Client().post("/login/", {"username": "eve\r\nauth.login success", "password": "x"})
    row = AuditEvent.objects.get(event_type="auth.login_failed")
    assert row.actor_login == "eve\\x0d\\x0aauth.login success"
    assert not User.objects.filter(username__startswith="eve").exists()
