"""Production mode fails closed and ships the hardening that `check --deploy` expects.

Each test starts a fresh interpreter with a production environment, because settings
are read once at import time.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_SECRET = secrets.token_urlsafe(64)


def prod_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "CASEWORK_DEBUG", "CASEWORK_KEYS"}
    }
    env.update(
        CASEWORK_ENV="prod",
        CASEWORK_DATA_DIR=str(tmp_path / "data"),
        SECRET_KEY=STRONG_SECRET,
        ALLOWED_HOSTS="casework.example.org",
        CASEWORK_KEYS_FILE=str(tmp_path / "keys.json"),
        CASEWORK_AUDIT_KEY_FILE=str(tmp_path / "audit-signing.key"),
        CASEWORK_SEAL_DIR=str(tmp_path / "seals"),
        CASEWORK_VERIFY_BASE_URL="https://verify.example.org",
        DJANGO_SETTINGS_MODULE="casework.settings",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CASEWORK_KEYS_FILE",
        "CASEWORK_AUDIT_KEY_FILE",
        "CASEWORK_SEAL_DIR",
        "CASEWORK_VERIFY_BASE_URL",
    ],
)
def test_prod_refuses_to_start_without_required_setting(tmp_path, missing):
    result = run(["manage.py", "check"], prod_env(tmp_path, **{missing: None}))
    assert result.returncode != 0
    assert result.stderr.startswith(f"Configuration error: {missing} must be set")
    assert result.stderr.count("\n") == 1


def test_prod_refuses_an_empty_allowed_hosts(tmp_path):
    result = run(["manage.py", "check"], prod_env(tmp_path, ALLOWED_HOSTS=" , "))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr
    assert "Traceback" not in result.stderr


def test_prod_refuses_debug(tmp_path):
    result = run(["manage.py", "check"], prod_env(tmp_path, CASEWORK_DEBUG="1"))
    assert result.returncode != 0
    assert "CASEWORK_DEBUG must not be enabled" in result.stderr


def test_a_malformed_boolean_names_the_variable(tmp_path):
    result = run(["manage.py", "check"], prod_env(tmp_path, CASEWORK_SSL_REDIRECT="maybe"))
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert "CASEWORK_SSL_REDIRECT must be a boolean" in result.stderr


def test_an_unknown_environment_is_refused(tmp_path):
    result = run(["manage.py", "check"], prod_env(tmp_path, CASEWORK_ENV="production"))
    assert result.returncode != 0
    assert "CASEWORK_ENV must be one of: dev, prod" in result.stderr


def test_a_database_url_for_another_engine_is_refused_without_echoing_it(tmp_path):
    url = "mysql://app:hunter2-secret@db.example.org/casework"
    result = run(["manage.py", "check"], prod_env(tmp_path, DATABASE_URL=url))
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres:// URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_the_wsgi_entry_point_fails_with_one_line(tmp_path):
    result = run(["-c", "import casework.wsgi"], prod_env(tmp_path, SECRET_KEY=None))
    assert result.returncode != 0
    assert result.stderr.strip() == "Configuration error: SECRET_KEY must be set."


def test_the_web_server_refuses_to_start_without_the_key_file(tmp_path):
    result = run(["-c", "import casework.wsgi"], prod_env(tmp_path))
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert "not found (CASEWORK_KEYS_FILE)" in result.stderr
    assert not (tmp_path / "keys.json").exists()  # prod never invents keys


def test_the_web_server_starts_once_init_keys_made_the_key_file(tmp_path):
    env = prod_env(tmp_path)
    created = run(["manage.py", "init_keys"], env)
    assert created.returncode == 0, created.stderr
    signing = run(["manage.py", "audit_checkpoint", "--init-key"], env)
    assert signing.returncode == 0, signing.stderr
    # The web verifies checkpoints with the public key and never reads the signing key.
    public = run(["manage.py", "audit_checkpoint", "--public-key"], env)
    env["CASEWORK_AUDIT_PUBLIC_KEY"] = public.stdout.strip()
    result = run(["-c", "import casework.wsgi"], env)
    assert result.returncode == 0, result.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(STRONG_SECRET + "\n")
    env = prod_env(tmp_path, SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file))
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_passes_in_prod_without_silenced_checks(tmp_path):
    env = prod_env(tmp_path)
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    silenced = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SILENCED_SYSTEM_CHECKS)",
        ],
        env,
    )
    assert silenced.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("prod")
    password = secrets.token_urlsafe(24)
    result = run(["-m", "tests.prod_probe", password], prod_env(tmp_path))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_prod_sends_hsts_for_a_year_with_subdomains(probe):
    hsts = probe["login_page_headers"]["Strict-Transport-Security"]
    assert "includeSubDomains" in hsts
    max_age = int(hsts.split("max-age=")[1].split(";")[0])
    assert max_age >= 31_536_000


def test_prod_redirects_plain_http_to_https(probe):
    assert probe["plain_http_status"] == 301
    assert probe["plain_http_location"].startswith("https://casework.example.org/")


def test_healthz_stays_reachable_over_plain_http_for_the_load_balancer(probe):
    assert probe["health_http_status"] == 200


def test_prod_session_cookie_is_host_prefixed_secure_httponly_strict(probe):
    assert probe["login_status"] == 302
    assert probe["verify_status"] == 302
    assert probe["home_status"] == 200
    cookie = probe["cookies"]["__Host-sessionid"]
    assert cookie["secure"] == "True"
    assert cookie["httponly"] == "True"
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert "domain" not in cookie


def test_prod_csrf_cookie_is_host_prefixed_and_secure(probe):
    cookie = probe["cookies"]["__Host-csrftoken"]
    assert cookie["secure"] == "True"
    assert cookie["samesite"] == "Strict"
    assert "domain" not in cookie


def test_prod_authenticated_pages_are_not_stored(probe):
    assert "no-store" in probe["home_headers"]["Cache-Control"]
