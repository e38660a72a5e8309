"""Error reports that cannot carry case data.

Django's default filter hides only settings and parameters whose *names* look secret. Our
secrets are the values of ordinary form fields (names, passport numbers) and local variables
holding decrypted data, so this filter hides every POST parameter and every frame variable.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request: HttpRequest | None) -> bool:
        return True  # also with DEBUG on

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]


# Links people follow, with a secret in their path: an invitation token, a verification code.
SECRET_PATH = re.compile(r"/(invitation|verify)/[^\s\"?#]+")


class SecretPathFilter(logging.Filter):
    """Django logs the path of every 4xx answer ("Not Found: /verify/<code>/"), the CSRF
    refusal and, under runserver, every request line: the secret part of such a path is
    replaced before any handler writes the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        record.msg = _redacted(record.msg)
        return True


def _redacted(value: Any) -> Any:
    return SECRET_PATH.sub(r"/\1/…", value) if isinstance(value, str) else value
