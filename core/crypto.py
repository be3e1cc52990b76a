"""Encryption of personal data at rest and keyed hashes for exact search (SECURITY.md PI-3).

Keys live outside the database, in ``settings.FIELD_ENCRYPTION_KEY`` (from the environment):
a base64-encoded 32-byte key, or several separated by commas for rotation — the first encrypts,
all of them decrypt. ``python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"``
makes one. Without it, a development key is derived from ``SECRET_KEY`` only when ``DEBUG``,
``DEMO`` or ``MINHU_ALLOW_DEV_KEY=1`` (tests) is set; otherwise every call refuses.

Schemes, chosen by ``settings.FIELD_CRYPTO_SCHEME`` for new values (default ``"aes"``):

- ``"aes"``: AES-256-GCM, subkeys by HKDF-SHA256, search hash HMAC-SHA256;
- ``"sm"``: SM4-GCM (GB/T 32907), subkeys by HKDF-SM3, search hash HMAC-SM3 (GB/T 32905), for
  deployments assessed under 密评 (GB/T 39786); needs an OpenSSL with SM4 and SM3
  (``sm_supported()``).

Ciphertext text: ``<scheme tag>$<key id>$<base64url(nonce ‖ ciphertext ‖ GCM tag)>``, e.g.
``a1$3f2c9d0e$…``. The scheme tag and key id are authenticated (GCM associated data, with an
optional caller context such as the column name), so a value cannot be moved to another key,
scheme or context without failing. Decryption follows the stored tag and key id, not the current
setting, so old values stay readable while a rotation or scheme change re-encrypts them.

The master key is never used directly: encryption and search-hash keys are separate HKDF
subkeys. The search hash is keyed by the *current* (first) key: rotating it means recomputing
stored hashes (re-encryption does both).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac as std_hmac
import os
import unicodedata
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.masking import normalize_id_number, normalize_phone

Scheme = Literal["aes", "sm"]
HashKind = Literal["text", "phone", "id_number"]

SCHEME_TAGS: dict[str, Scheme] = {"a1": "aes", "s1": "sm"}
TAG_FOR_SCHEME: dict[Scheme, str] = {"aes": "a1", "sm": "s1"}
NONCE_BYTES = 12
GCM_TAG_BYTES = 16
MASTER_KEY_BYTES = 32
SEPARATOR = "$"


class DecryptionError(ValueError):
    """The value is not ours, was tampered with, or its key is no longer configured."""


def sm_supported() -> bool:
    """Whether this machine's ``cryptography``/OpenSSL can do SM4-GCM and HMAC-SM3."""
    try:
        key = bytes(16)
        encryptor = Cipher(algorithms.SM4(key), modes.GCM(bytes(NONCE_BYTES))).encryptor()
        encryptor.update(b"x")
        encryptor.finalize()
        mac = crypto_hmac.HMAC(bytes(32), hashes.SM3())
        mac.update(b"x")
        mac.finalize()
    except (UnsupportedAlgorithm, AttributeError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class FieldKey:
    """One master key and the subkeys derived from it."""

    kid: str
    master: bytes

    def _derive(self, scheme: Scheme, purpose: str, length: int) -> bytes:
        algorithm: hashes.HashAlgorithm = hashes.SM3() if scheme == "sm" else hashes.SHA256()
        info = f"minhu/{scheme}/{purpose}".encode()
        return HKDF(algorithm=algorithm, length=length, salt=None, info=info).derive(self.master)

    @functools.cached_property
    def aes_key(self) -> bytes:
        return self._derive("aes", "field-encryption", 32)

    @functools.cached_property
    def sm4_key(self) -> bytes:
        return self._derive("sm", "field-encryption", 16)

    @functools.cached_property
    def aes_hash_key(self) -> bytes:
        return self._derive("aes", "search-hash", 32)

    @functools.cached_property
    def sm3_hash_key(self) -> bytes:
        return self._derive("sm", "search-hash", 32)


def _kid(master: bytes) -> str:
    return hashlib.sha256(b"minhu-field-key-id" + master).hexdigest()[:8]


def _decode_key(text: str) -> bytes:
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not valid base64") from exc
    if len(raw) != MASTER_KEY_BYTES:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY must decode to {MASTER_KEY_BYTES} bytes")
    return raw


def dev_key_allowed() -> bool:
    return bool(
        getattr(settings, "DEBUG", False)
        or getattr(settings, "DEMO", False)
        or os.environ.get("MINHU_ALLOW_DEV_KEY") == "1"
    )


@functools.lru_cache(maxsize=8)
def _keyring_for(configured: str, secret_key: str, allow_dev: bool) -> tuple[FieldKey, ...]:
    if configured.strip():
        masters = [_decode_key(part) for part in configured.split(",") if part.strip()]
    elif allow_dev:
        masters = [hashlib.sha256(b"minhu-dev-field-key:" + secret_key.encode()).digest()]
    else:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set (base64 of 32 random bytes); "
            "a development key is derived from SECRET_KEY only with DEBUG, DEMO or tests"
        )
    keys = tuple(FieldKey(kid=_kid(m), master=m) for m in masters)
    if len({k.kid for k in keys}) != len(keys):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY lists the same key twice")
    return keys


def keyring() -> tuple[FieldKey, ...]:
    """The configured keys, current first."""
    return _keyring_for(
        str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or ""), str(settings.SECRET_KEY), dev_key_allowed()
    )


def current_scheme() -> Scheme:
    scheme = str(getattr(settings, "FIELD_CRYPTO_SCHEME", "aes") or "aes").lower()
    if scheme not in TAG_FOR_SCHEME:
        raise ImproperlyConfigured('FIELD_CRYPTO_SCHEME must be "aes" or "sm"')
    if scheme == "sm" and not sm_supported():
        raise ImproperlyConfigured('FIELD_CRYPTO_SCHEME="sm" but this OpenSSL lacks SM4-GCM or SM3')
    return "sm" if scheme == "sm" else "aes"


def _aad(tag: str, kid: str, context: str) -> bytes:
    return SEPARATOR.join((tag, kid, context)).encode()


def _seal(scheme: Scheme, key: FieldKey, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    if scheme == "aes":
        return AESGCM(key.aes_key).encrypt(nonce, plaintext, aad)
    encryptor = Cipher(algorithms.SM4(key.sm4_key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return body + encryptor.tag


def _open(scheme: Scheme, key: FieldKey, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if scheme == "aes":
        return AESGCM(key.aes_key).decrypt(nonce, sealed, aad)
    body, tag = sealed[:-GCM_TAG_BYTES], sealed[-GCM_TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key.sm4_key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


def encrypt(plaintext: str, *, context: str = "", scheme: Scheme | None = None) -> str:
    """Encrypt text with the current key; ``context`` (e.g. "orders.Order.phone") is authenticated."""
    scheme = scheme or current_scheme()
    key = keyring()[0]
    tag = TAG_FOR_SCHEME[scheme]
    nonce = os.urandom(NONCE_BYTES)
    sealed = _seal(scheme, key, nonce, plaintext.encode("utf-8"), _aad(tag, key.kid, context))
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
    return SEPARATOR.join((tag, key.kid, body))


def is_ciphertext(value: str) -> bool:
    parts = value.split(SEPARATOR)
    return len(parts) == 3 and parts[0] in SCHEME_TAGS and len(parts[1]) == 8


def decrypt(ciphertext: str, *, context: str = "") -> str:
    """Decrypt what ``encrypt`` made (with any configured key); raises ``DecryptionError``."""
    parts = ciphertext.split(SEPARATOR)
    if len(parts) != 3 or parts[0] not in SCHEME_TAGS:
        raise DecryptionError("not an encrypted value")
    tag, kid, body = parts
    scheme = SCHEME_TAGS[tag]
    key = next((k for k in keyring() if k.kid == kid), None)
    if key is None:
        raise DecryptionError(f"key {kid} is not configured")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("damaged value") from exc
    if len(raw) < NONCE_BYTES + GCM_TAG_BYTES:
        raise DecryptionError("damaged value")
    try:
        plain = _open(scheme, key, raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(tag, kid, context))
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("value was altered or belongs to another context") from exc
    return plain.decode("utf-8")


def normalize_for_hash(value: str, kind: HashKind) -> str:
    if kind == "phone":
        return normalize_phone(value)
    if kind == "id_number":
        return normalize_id_number(value)
    return " ".join(unicodedata.normalize("NFKC", value).split())


def search_hash(value: str | None, *, kind: HashKind = "text", scheme: Scheme | None = None) -> str:
    """Keyed hash (HMAC-SHA256, or HMAC-SM3) of the normalised value, hex; "" for empty input.

    Store it beside the encrypted column and look rows up by it: "+86 138-0013-8000" and
    "13800138000" hash alike with ``kind="phone"``. Without the key the hash reveals nothing
    (a plain hash of an 11-digit phone number is reversed by brute force in seconds).
    """
    normalized = normalize_for_hash(value or "", kind)
    if not normalized:
        return ""
    scheme = scheme or current_scheme()
    message = f"{kind}\x00{normalized}".encode()
    key = keyring()[0]
    if scheme == "aes":
        return std_hmac.new(key.aes_hash_key, message, hashlib.sha256).hexdigest()
    mac = crypto_hmac.HMAC(key.sm3_hash_key, hashes.SM3())
    mac.update(message)
    return mac.finalize().hex()
