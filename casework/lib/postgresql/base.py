"""Django's PostgreSQL backend, for values bound on the server (settings, DATABASES).

With server-side binding a statement carries its values apart from its text, at most
65,535 of them (the protocol's limit); client-side binding, Django's default, wrote them
into the text, where there is no such limit, so Django's PostgreSQL backend never splits a
``bulk_create``, a ``bulk_update`` or a cascade's deletions. This backend splits them as
Django splits them for SQLite and Oracle: by how many values a row takes. Nothing else
differs (``connection.vendor`` is still ``postgresql``)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.postgresql import base, features, operations

MAX_VALUES = 65_535  # values a statement may carry: a 16-bit count in the protocol


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = MAX_VALUES


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields: Any, objs: Any) -> int:
        """How many rows one statement of ``fields`` takes: a value per field and row (a
        composite primary key's per column), as Django counts for SQLite and Oracle."""
        values = sum(
            len(field.fields) if isinstance(field, models.CompositePrimaryKey) else 1
            for field in fields
        )
        return MAX_VALUES // values if values else len(objs)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
