"""Template filters that turn stored codes into words (casework.cases.labels)."""

from __future__ import annotations

from django import template

from casework.cases import labels

register = template.Library()

register.filter("status_label", labels.status_label)
register.filter("language_name", labels.language_name)
register.filter("language_names", labels.language_names)
register.filter("country_name", labels.country_name)
register.filter("attempt_label", labels.attempt_label)
