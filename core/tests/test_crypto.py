"""Encryption at rest and keyed search hashes (SECURITY.md PI-3), AES and SM schemes."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection, models
from django.test import override_settings
from django.test.utils import isolate_apps

from core import crypto
from core.crypto import DecryptionError, decrypt, encrypt, search_hash, sm_supported
from core.fields import EncryptedTextField

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(100, 132))).decode()
PHONE = "13812345678"
SCHEMES = ["aes", pytest.param("sm", marks=pytest.mark.skipif(not sm_supported(), reason="no SM4/SM3"))]


@pytest.fixture(params=SCHEMES)
def scheme(request, settings):
    settings.FIELD_CRYPTO_SCHEME = request.param
    settings.FIELD_ENCRYPTION_KEY = KEY_A
    return request.param


def test_this_machine_supports_the_sm_scheme():
    # The deployment platform (Debian 12's OpenSSL 3 via cryptography wheels) has SM4 and SM3.
    assert sm_supported()


def test_round_trip_and_no_plaintext_in_the_ciphertext(scheme):
    for text in [PHONE, "张三", "北京市东城区多福巷社区银闸胡同12号", "a" * 1000]:
        sealed = encrypt(text)
        assert text not in sealed
        assert decrypt(sealed) == text
    for short in ["x", ""]:
        assert decrypt(encrypt(short)) == short
    assert encrypt(PHONE).startswith({"aes": "a1$", "sm": "s1$"}[scheme])


def test_encrypting_twice_gives_different_ciphertexts(scheme):
    assert encrypt(PHONE) != encrypt(PHONE)


def test_tampered_ciphertext_fails(scheme):
    sealed = encrypt(PHONE)
    tag, kid, body = sealed.split("$")
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    with pytest.raises(DecryptionError):
        decrypt(f"{tag}${kid}${flipped}")
    with pytest.raises(DecryptionError):
        decrypt(f"{tag}${kid}${body[:-4]}")  # truncated tag
    other = "s1" if tag == "a1" else "a1"
    with pytest.raises(DecryptionError):
        decrypt(f"{other}${kid}${body}")  # the scheme tag is authenticated
    with pytest.raises(DecryptionError):
        decrypt("13812345678")


def test_the_context_is_authenticated(scheme):
    sealed = encrypt(PHONE, context="orders.Order.phone")
    assert decrypt(sealed, context="orders.Order.phone") == PHONE
    with pytest.raises(DecryptionError):
        decrypt(sealed, context="grid.Resident.phone")


def test_old_keys_still_decrypt_after_rotation(settings):
    settings.FIELD_ENCRYPTION_KEY = KEY_A
    old = encrypt(PHONE)
    settings.FIELD_ENCRYPTION_KEY = f"{KEY_B},{KEY_A}"
    new = encrypt(PHONE)
    assert old.split("$")[1] != new.split("$")[1]  # key id prefix differs
    assert decrypt(old) == decrypt(new) == PHONE
    settings.FIELD_ENCRYPTION_KEY = KEY_B
    with pytest.raises(DecryptionError, match="not configured"):
        decrypt(old)


def test_values_of_one_scheme_stay_readable_under_the_other(settings):
    if not sm_supported():
        pytest.skip("no SM4/SM3")
    settings.FIELD_ENCRYPTION_KEY = KEY_A
    settings.FIELD_CRYPTO_SCHEME = "aes"
    aes = encrypt(PHONE)
    settings.FIELD_CRYPTO_SCHEME = "sm"
    assert decrypt(aes) == PHONE
    assert decrypt(encrypt(PHONE)) == PHONE


def test_search_hash_is_stable_normalised_and_keyed(scheme, settings):
    first = search_hash("+86 138-1234-5678", kind="phone")
    assert first == search_hash(PHONE, kind="phone") == search_hash(PHONE, kind="phone")
    assert len(first) == 64 and PHONE not in first
    assert search_hash("13812345679", kind="phone") != first
    assert search_hash(PHONE, kind="text") != first  # kinds are separated
    assert search_hash("11010519491231002x", kind="id_number") == search_hash(
        "11010519491231002X", kind="id_number"
    )
    assert search_hash("", kind="phone") == ""
    settings.FIELD_ENCRYPTION_KEY = KEY_B
    assert search_hash(PHONE, kind="phone") != first


def test_the_two_schemes_hash_differently(settings):
    if not sm_supported():
        pytest.skip("no SM4/SM3")
    settings.FIELD_ENCRYPTION_KEY = KEY_A
    settings.FIELD_CRYPTO_SCHEME = "aes"
    aes = search_hash(PHONE, kind="phone")
    settings.FIELD_CRYPTO_SCHEME = "sm"
    assert search_hash(PHONE, kind="phone") != aes


def test_a_missing_key_is_refused_outside_development(settings, monkeypatch):
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.DEBUG = False
    settings.DEMO = False
    monkeypatch.delenv("MINHU_ALLOW_DEV_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        encrypt(PHONE)
    monkeypatch.setenv("MINHU_ALLOW_DEV_KEY", "1")
    assert decrypt(encrypt(PHONE)) == PHONE  # tests get a key derived from SECRET_KEY


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode(), f"{KEY_A},{KEY_A}"])
def test_a_malformed_key_is_refused(settings, bad):
    settings.FIELD_ENCRYPTION_KEY = bad
    with pytest.raises(ImproperlyConfigured):
        encrypt(PHONE)


def test_an_unknown_scheme_is_refused(settings):
    settings.FIELD_CRYPTO_SCHEME = "des"
    with pytest.raises(ImproperlyConfigured):
        encrypt(PHONE)


def test_sm_scheme_is_refused_where_openssl_lacks_it(settings, monkeypatch):
    monkeypatch.setattr(crypto, "sm_supported", lambda: False)
    settings.FIELD_CRYPTO_SCHEME = "sm"
    with pytest.raises(ImproperlyConfigured, match="SM4"):
        encrypt(PHONE)


# --- the model field ------------------------------------------------------------------------------


@pytest.fixture
def secret_note_model():
    """A throwaway model on a table made in the test transaction (no migration involved)."""
    with isolate_apps("core"):

        class SecretNote(models.Model):
            id = models.CharField(primary_key=True, max_length=8)
            phone = EncryptedTextField(null=True, blank=True, context="test.phone")

            class Meta:
                app_label = "core"
                db_table = "test_core_secret_note"

            def __str__(self) -> str:
                return self.id

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE test_core_secret_note (id varchar(8) PRIMARY KEY, phone text NULL)")
        yield SecretNote


@pytest.mark.django_db
@pytest.mark.usefixtures("scheme")
def test_the_field_stores_ciphertext_and_returns_plaintext(secret_note_model):
    secret_note_model.objects.create(id="n1", phone=PHONE)
    secret_note_model.objects.create(id="n2", phone=None)
    secret_note_model.objects.create(id="n3", phone="")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, phone FROM test_core_secret_note ORDER BY id")
        raw = dict(cursor.fetchall())
    assert PHONE not in raw["n1"] and "5678" not in raw["n1"]
    assert raw["n2"] is None and raw["n3"] == ""
    assert secret_note_model.objects.get(id="n1").phone == PHONE
    assert secret_note_model.objects.get(id="n2").phone is None
    assert secret_note_model.objects.filter(phone__isnull=True).count() == 1


@pytest.mark.django_db
def test_the_field_refuses_lookups_on_ciphertext(secret_note_model):
    with pytest.raises(FieldError):
        list(secret_note_model.objects.filter(phone=PHONE))
    with pytest.raises(FieldError):
        list(secret_note_model.objects.filter(phone__contains="5678"))


def test_the_field_deconstructs_with_its_context():
    _name, path, _args, kwargs = EncryptedTextField(context="x.y").deconstruct()
    assert path == "core.fields.EncryptedTextField"
    assert kwargs["context"] == "x.y"


@override_settings(FIELD_ENCRYPTION_KEY=KEY_A)
def test_a_value_under_another_context_does_not_decrypt_in_the_field():
    field = EncryptedTextField(context="a")
    stored = field.get_prep_value(PHONE)
    assert field.from_db_value(stored, None, connection) == PHONE  # type: ignore[arg-type]
    with pytest.raises(DecryptionError):
        EncryptedTextField(context="b").from_db_value(stored, None, connection)  # type: ignore[arg-type]
