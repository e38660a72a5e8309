"""WSGI entry point (gunicorn casework.wsgi)."""

from __future__ import annotations

import os
import sys

import django
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")

try:
    django.setup(set_prefix=False)
    from casework.audit.signing import check_web_process
    from casework.lib.keys import keyring
    from crypto import KeyStoreError

    try:
        keyring()  # refuse to serve without keys, rather than fail on the first case page
        check_web_process()  # verifies checkpoints; never reads the signing key
    except KeyStoreError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # One readable line naming the variable; never start with an insecure default.
    sys.exit(f"Configuration error: {exc}")
