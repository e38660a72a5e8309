"""Encrypted model fields: values are encrypted under the data subject's DEK before they
reach the database, and decrypted lazily on attribute access.

Token: crypto.aead v1 (see SECURITY.md). AAD: ``app.model.field:<record uuid>:org:<uuid>``,
so a ciphertext copied to another row, another column or another organisation fails to
decrypt instead of showing the other value.

Guard rails (SECURITY-REQUIREMENTS R38):
- ``QuerySet.update()`` / ``bulk_update()`` with a plaintext value raise ``FieldError``:
  they bypass ``pre_save``, so they would otherwise write plaintext.
- Lookups other than ``isnull`` raise ``FieldError`` (search goes through blind indexes).
- ``values()``, ``dumpdata`` and serializers see only ciphertext (``Ciphertext`` bytes).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from casework.lib import datakeys
from casework.lib.keys import keyring
from crypto import (
    DecryptionError,
    blind_index,
    index_bits_for_rows,
    normalise_email,
    normalise_name,
    normalise_passport,
    normalise_phone,
    normalise_text,
)

logger = logging.getLogger(__name__)

NORMALISERS: dict[str, Callable[[str], str]] = {
    "name": normalise_name,
    "passport": normalise_passport,
    "email": normalise_email,
    "phone": normalise_phone,
    "text": normalise_text,
}


class Ciphertext(bytes):
    """An encrypted token as stored: what the database, ``values()`` and dumps see."""

    def __repr__(self) -> str:
        return f"<Ciphertext {len(self)} bytes>"


@dataclass(frozen=True)
class _Plain:
    """A decrypted (or newly assigned) value; ``token`` is None until it is encrypted."""

    value: Any
    token: Ciphertext | None


class EncryptedModel(models.Model):
    """Base for models with encrypted fields: UUID primary key, owner and organisation.

    Subclasses name the attribute holding the data subject's id (the owner of the DEK)
    and the subject type; the organisation is bound into every AAD.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    DATA_SUBJECT_ATTR: ClassVar[str] = "id"
    DATA_SUBJECT_TYPE: ClassVar[str] = "applicant"
    ORGANISATION_ATTR: ClassVar[str] = "organisation_id"

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = _with_companions(type(self), update_fields)
        pending = sum(1 for f in encrypted_fields(type(self)) if f.is_dirty(self))
        if pending:
            datakeys.check_encryption_budget(self.data_subject_id(), pending)
        super().save(*args, **kwargs)
        datakeys.count_encryptions(self.data_subject_id(), pending)

    def data_subject_id(self) -> uuid.UUID:
        return getattr(self, self.DATA_SUBJECT_ATTR)  # type: ignore[no-any-return]

    def data_organisation_id(self) -> uuid.UUID:
        return getattr(self, self.ORGANISATION_ATTR)  # type: ignore[no-any-return]

    def encryption_record_id(self) -> Any:
        """The record identity bound into every AAD: known before the row is inserted."""
        return self.pk


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]


def _with_companions(model: type[models.Model], update_fields: Any) -> list[str]:
    names: list[str] = list(update_fields)
    for field in encrypted_fields(model):
        if field.name in names and field.blind_index:
            names.append(field.index_field_name)
    return names


class EncryptedAttribute(DeferredAttribute):
    """Decrypts on first read, caches the plaintext on the instance, never in the class."""

    field: EncryptedField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        state = super().__get__(instance, cls)
        if state is None:
            return None
        if isinstance(state, _Plain):
            return state.value
        value = self.field.decrypt(instance, state)
        instance.__dict__[self.field.attname] = _Plain(value, state)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        if value is None or isinstance(value, Ciphertext | _Plain):
            instance.__dict__[self.field.attname] = value
        elif isinstance(value, bytes | bytearray | memoryview):
            # The database hands over Ciphertext (from_db_value); raw bytes here would be
            # ambiguous between plaintext and token, so they are refused.
            raise TypeError(f"{self.field.name} takes a Python value, not bytes")
        else:
            instance.__dict__[self.field.attname] = _Plain(self.field.clean_plain(value), None)


class EncryptedField(models.BinaryField):  # type: ignore[type-arg]
    """Base class: a binary column holding a token; subclasses convert the Python value."""

    descriptor_class = EncryptedAttribute

    def __init__(self, *args: Any, blind_index: str | None = None, **kwargs: Any) -> None:
        if blind_index is not None and blind_index not in NORMALISERS:
            raise ValueError(f"unknown blind index kind {blind_index!r}")
        self.blind_index = blind_index
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.blind_index:
            kwargs["blind_index"] = self.blind_index
        return name, path, args, kwargs

    # -- companion blind-index column -------------------------------------------------------

    @property
    def index_field_name(self) -> str:
        return f"{self.name}_bidx"

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        # Migration state models ("__fake__") list the companion column explicitly.
        if self.blind_index and not cls._meta.abstract and cls.__module__ != "__fake__":
            companion = models.BigIntegerField(null=True, editable=False)
            cls.add_to_class(self.index_field_name, companion)

    # -- conversion -------------------------------------------------------------------------

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError  # pragma: no cover

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError  # pragma: no cover

    def clean_plain(self, value: Any) -> Any:
        return value

    def index_text(self, value: Any) -> str:
        return str(value)

    # -- encryption -------------------------------------------------------------------------

    def aad(self, instance: EncryptedModel) -> bytes:
        label = f"{self.model._meta.label_lower}.{self.name}"
        record = instance.encryption_record_id()
        return f"{label}:{record}:org:{instance.data_organisation_id()}".encode()

    def decrypt(self, instance: EncryptedModel, token: Ciphertext) -> Any:
        try:
            cipher = datakeys.cipher_for(instance.data_subject_id())
            return self.decode(cipher.decrypt(bytes(token), self.aad(instance)))
        except datakeys.OrganisationKeyMissing:
            raise  # not a failure of the record: the waiting page, no alert (lib.middleware)
        except DecryptionError as failure:
            # Never the value, never the token: which field of which record, nothing more.
            logger.error(
                "decryption failed: %s.%s of record %s",
                self.model._meta.label_lower,
                self.name,
                instance.pk,
            )
            # For the alert the middleware writes once the request's transaction is over.
            failure.add_note(f"{self.model._meta.label_lower}.{self.name}")
            failure.organisation_id = instance.data_organisation_id()  # type: ignore[attr-defined]
            failure.record_id = str(instance.pk)  # type: ignore[attr-defined]
            raise

    def is_dirty(self, instance: models.Model) -> bool:
        state = instance.__dict__.get(self.attname)
        return isinstance(state, _Plain) and state.token is None and state.value is not None

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        instance: EncryptedModel = model_instance  # type: ignore[assignment]
        state = instance.__dict__.get(self.attname)
        if isinstance(state, _Plain):
            if state.value is None:
                state = None
            elif state.token is None:
                token = Ciphertext(self._encrypt(instance, state.value))
                instance.__dict__[self.attname] = _Plain(state.value, token)
                self._set_index(instance, state.value)
                return token
            else:
                return state.token
        if state is None and self.blind_index:
            setattr(instance, self.index_field_name, None)
        return state

    def _encrypt(self, instance: EncryptedModel, value: Any) -> bytes:
        cipher = datakeys.cipher_for_encryption(
            subject_type=instance.DATA_SUBJECT_TYPE,
            subject_id=instance.data_subject_id(),
            organisation_id=instance.data_organisation_id(),
        )
        return cipher.encrypt(self.encode(value), self.aad(instance))

    def _set_index(self, instance: EncryptedModel, value: Any) -> None:
        if self.blind_index:
            index = index_value(self, instance.data_organisation_id(), value)
            setattr(instance, self.index_field_name, index)

    # -- refusing the paths that bypass encryption ------------------------------------------

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Ciphertext):
            raise FieldError(
                f"{self.model._meta.label}.{self.name} is encrypted: assign it on an instance "
                "and call save(); QuerySet.update() and bulk_update() would store plaintext."
            )
        return super().get_db_prep_save(bytes(value), connection)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Ciphertext | None:
        return None if value is None else Ciphertext(bytes(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None  # Django then raises FieldError("Unsupported lookup ...")
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def value_from_object(self, obj: models.Model) -> Any:
        """What serializers and ``dumpdata`` see: the stored token, never plaintext."""
        state = obj.__dict__.get(self.attname)
        if isinstance(state, _Plain):
            return state.token
        return state


class EncryptedTextField(EncryptedField):
    def encode(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8")

    def clean_plain(self, value: Any) -> str:
        return str(value)


class EncryptedDateField(EncryptedField):
    def encode(self, value: Any) -> bytes:
        return value.isoformat().encode("ascii")  # type: ignore[no-any-return]

    def decode(self, data: bytes) -> datetime.date:
        return datetime.date.fromisoformat(data.decode("ascii"))

    def clean_plain(self, value: Any) -> datetime.date:
        if isinstance(value, datetime.datetime):
            raise TypeError(f"{self.name} takes a date, not a datetime")
        if isinstance(value, datetime.date):
            return value
        return datetime.date.fromisoformat(str(value))


class EncryptedJSONField(EncryptedField):
    def encode(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return json.loads(data.decode("utf-8"))

    def clean_plain(self, value: Any) -> Any:
        self.encode(value)  # refuse what JSON cannot hold now, not at save time
        return value


# -- blind-index search -----------------------------------------------------------------------


def blind_index_indexes(
    model_name: str, *field_names: str, organisation: str = "organisation"
) -> list[models.Index]:
    """Database indexes for blind-index columns, for a model's ``Meta.indexes``.

    Searches are always scoped to one organisation, so each index covers both columns;
    without it the database walks the organisation's whole table (measured in bench/).
    """
    indexes = []
    for name in field_names:
        digest = hashlib.sha256(f"{model_name}.{name}".encode()).hexdigest()[:8]
        indexes.append(models.Index(fields=[organisation, f"{name}_bidx"], name=f"bidx_{digest}"))
    return indexes


def index_bits() -> int:
    return index_bits_for_rows(settings.CASEWORK_BLIND_INDEX_ROWS)


def index_value(field: EncryptedField, organisation_id: uuid.UUID, value: Any) -> int | None:
    """The blind index of ``value`` for ``field`` in one organisation (per-org subkey)."""
    assert field.blind_index is not None
    normalised = NORMALISERS[field.blind_index](field.index_text(value))
    if not normalised:
        return None
    label = f"{organisation_id}/{field.model._meta.label_lower}.{field.name}"
    return blind_index(keyring().index_key, label, normalised, bits=index_bits())


def search(
    queryset: models.QuerySet[Any],
    field_names: list[str],
    organisation_id: uuid.UUID,
    query: str,
) -> list[Any]:
    """Exact-match search through blind indexes, candidates confirmed by decryption.

    A truncated index matches a few other rows on purpose (so the index alone does not
    single out a person); decrypting the candidates removes them.
    """
    model = queryset.model
    fields = [model._meta.get_field(name) for name in field_names]
    wanted: dict[str, str] = {}
    parts = []
    for field in fields:
        assert isinstance(field, EncryptedField) and field.blind_index
        index = index_value(field, organisation_id, query)
        if index is None:
            continue
        wanted[field.name] = NORMALISERS[field.blind_index](query)
        # A UNION of one part per column, not an OR: each part uses its (organisation,
        # index) index; SQLite plans an OR across them as a walk of the whole organisation.
        parts.append(queryset.filter(**{field.index_field_name: index}).order_by())
    if not parts:
        return []
    found = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    candidates = {obj.pk: obj for obj in found}
    datakeys.preload(obj.data_subject_id() for obj in candidates.values())
    return [obj for obj in candidates.values() if _matches(obj, fields, wanted)]


def _matches(obj: Any, fields: list[Any], wanted: dict[str, str]) -> bool:
    for field in fields:
        if field.name not in wanted:
            continue
        value = getattr(obj, field.name)
        if value is not None and NORMALISERS[field.blind_index](str(value)) == wanted[field.name]:
            return True
    return False
