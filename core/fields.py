"""Model fields for personal data at rest (SECURITY.md PI-3)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from core.crypto import decrypt, encrypt


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored encrypted (``core.crypto``), read back as plaintext.

    The column holds ``a1$<key id>$…`` (or ``s1$…`` with the SM scheme): a raw SELECT or a
    database dump shows no personal data. Empty strings and NULL are stored as they are.
    The value cannot be searched or ordered in SQL: only ``isnull`` is allowed as a lookup.
    For exact search keep a ``core.crypto.search_hash`` of the value in a separate indexed column.
    ``context`` (optional) is authenticated with each value, so a ciphertext copied into another
    column with a different context fails to decrypt. Note that ``dumpdata`` writes plaintext.
    """

    description = "Text encrypted at rest"

    def __init__(self, *args: Any, context: str = "", **kwargs: Any) -> None:
        self.context = context
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.context:
            kwargs["context"] = self.context
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value), context=self.context)

    def from_db_value(self, value: Any, expression: Expression, connection: BaseDatabaseWrapper) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value, context=self.context)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None  # the ORM then raises FieldError("Unsupported lookup …")
        return super().get_lookup(lookup_name)
