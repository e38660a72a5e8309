"""WSGI entry point (gunicorn casework.wsgi)."""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")

try:
    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # One readable line naming the variable; never start with an insecure default.
    sys.exit(f"Configuration error: {exc}")
