"""Run in a subprocess with CASEWORK_ENV=prod: migrate a scratch database, sign in over
HTTPS with the test client, and print the headers and cookies as JSON.

The production settings are module-level, so they can only be observed faithfully in a
fresh interpreter, not by overriding settings inside the test process.
"""

from __future__ import annotations

import base64
import json
import os
import sys

import django
import pyotp


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.settings")
    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from casework.accounts.models import Organisation, TOTPDevice, User

    setup_test_environment()
    call_command("init_keys", verbosity=0)
    call_command("audit_checkpoint", "--init-key", verbosity=0)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    org = Organisation.objects.create(name="Probe")
    user = User.objects.create_user("probe", organisation=org, password=sys.argv[1])
    user.groups.add(Group.objects.get(name="caseworker"))
    key = os.urandom(20)
    TOTPDevice(user=user, organisation=org, name="probe", confirmed=True, key=key.hex()).save()

    host = os.environ["ALLOWED_HOSTS"].split(",")[0]
    client = Client(HTTP_HOST=host)
    login_page = client.get("/login/", secure=True)
    login = client.post("/login/", {"username": "probe", "password": sys.argv[1]}, secure=True)
    code = pyotp.TOTP(base64.b32encode(key).decode()).now()
    verify = client.post("/login/verify/", {"code": code}, secure=True)
    home = client.get("/", secure=True)
    plain_http = Client(HTTP_HOST=host).get("/login/")
    health_http = Client(HTTP_HOST=host).get("/healthz")
    cookies = {
        name: {key: str(value) for key, value in morsel.items() if value}
        for name, morsel in {**login_page.cookies, **login.cookies, **verify.cookies}.items()
    }
    print(
        json.dumps(
            {
                "login_page_headers": dict(login_page.headers),
                "home_status": home.status_code,
                "home_headers": dict(home.headers),
                "login_status": login.status_code,
                "verify_status": verify.status_code,
                "cookies": cookies,
                "plain_http_status": plain_http.status_code,
                "plain_http_location": plain_http.headers.get("Location", ""),
                "health_http_status": health_http.status_code,
            }
        )
    )


if __name__ == "__main__":
    main()
