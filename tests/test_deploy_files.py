"""The operator's guide (docs/operations.md) and the files it installs from deploy/.

The systemd units pass `systemd-analyze verify`, and a unit broken on purpose fails it. The
nginx site passes `nginx -t`, and then runs for real (on Unix sockets, in front of a stand-in
for gunicorn that records what reaches it): it overwrites X-Forwarded-Proto, lets through an
upload of CASEWORK_UPLOAD_MAX_BYTES and refuses a bigger one, never spools a body or a
response to a temporary file, and keeps invitation tokens and verification codes out of its
access log. The guide's settings block is run as written and its files pass Django's
deploy checks; every `manage.py` command and `make` target it names exists.

Needs `systemd-analyze` and `nginx` (Debian: systemd, nginx-light; `make test` installs
them as root). Without them these tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "operations.md"
SITE = DEPLOY / "nginx-casework.conf"
UNITS = sorted(p for p in DEPLOY.iterdir() if p.suffix in {".service", ".timer", ".socket"})
SERVER_NAME = "casework.example.org"
VENV_BIN = "/srv/casework/.venv/bin/"
LIVE_CERTS = f"/etc/letsencrypt/live/{SERVER_NAME}/"
NGINX_LOGS = "/var/log/nginx/"
MIB = 1024 * 1024


def tool(name: str, package: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if found:
        return found
    message = f"{name} is not installed (Debian package {package}); make test installs it as root."
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message + " Skipped because CI is not set.")


def replace_once(text: str, old: str, new: str) -> str:
    """Every substitution a test makes must find its target: a file that changes shape must
    fail the test, not let it check less."""
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


# --- systemd ---------------------------------------------------------------------------------


def systemd_problems(units: dict[str, str], folder: Path) -> list[str]:
    """Everything `systemd-analyze verify` says about these units (name → text): a unit it
    accepts without a word gives []. Unknown keys and bad values are only warnings to it,
    so any output at all counts. The venv's executables stand in for /srv/casework/.venv."""
    analyze = tool("systemd-analyze", "systemd")
    folder.mkdir()
    venv_bin = str(Path(sys.executable).parent) + "/"
    for name, text in units.items():
        (folder / name).write_text(text.replace(VENV_BIN, venv_bin))
    done = subprocess.run(
        [analyze, "verify", "--man=no", "--generators=no", *sorted(map(str, folder.iterdir()))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = (done.stdout + done.stderr).splitlines()
    return lines if lines or done.returncode == 0 else [f"exit status {done.returncode}"]


def deployed_units() -> dict[str, str]:
    return {path.name: path.read_text() for path in UNITS}


def unit_settings(text: str) -> dict[str, list[str]]:
    """Key → every value it is given (systemd allows a key more than once), continuations
    joined."""
    found: dict[str, list[str]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_every_unit_file_passes_systemd_analyze_verify(tmp_path):
    assert [p.name for p in UNITS if p.suffix == ".service"], "no unit files found"
    assert systemd_problems(deployed_units(), tmp_path / "units") == []


@pytest.mark.parametrize(
    ("unit", "old", "new"),
    [
        ("casework.service", "ProtectSystem=strict", "ProtectSytem=strict"),
        ("casework.service", "NoNewPrivileges=yes", "NoNewPrivileges=perhaps"),
        ("casework.service", "/.venv/bin/gunicorn ", "/.venv/bin/gunicorn-missing "),
        ("casework-backup.service", "[Service]", "[Servce]"),
        ("casework-audit-checkpoint.timer", "OnCalendar=*:0/15", "OnCalendar=every quarter"),
    ],
)
def test_the_systemd_check_fails_on_a_unit_broken_on_purpose(tmp_path, unit, old, new):
    units = deployed_units()
    units[unit] = replace_once(units[unit], old, new)
    assert systemd_problems(units, tmp_path / "units") != []


def test_every_timer_starts_the_service_of_its_name_and_every_job_has_a_timer():
    names = {path.name for path in UNITS}
    timers = {name.removesuffix(".timer") for name in names if name.endswith(".timer")}
    jobs = {name.removesuffix(".service") for name in names if name.endswith(".service")}
    assert timers == jobs - {"casework"}
    for path in UNITS:
        assert "Unit" not in unit_settings(path.read_text()), path.name


def test_the_web_service_is_confined_and_listens_on_loopback_only():
    web = unit_settings((DEPLOY / "casework.service").read_text())
    assert web["User"] == ["casework"]
    assert web["EnvironmentFile"] == ["/etc/casework/env"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        # The data directory, and the erasure journal off the host (optional: "-").
        "ReadWritePaths": "/var/lib/casework -/mnt/offhost/casework-erasures",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    }.items():
        assert web[key] == [value], key
    command = web["ExecStart"][0].split()
    assert command[command.index("--bind") + 1] == "127.0.0.1:8000"
    assert not any(word.startswith("--access-log") for word in command)


def test_only_the_signer_can_reach_the_signers_folder():
    for path in DEPLOY.glob("*.service"):
        unit = unit_settings(path.read_text())
        if unit.get("User") == ["casework-audit"]:
            assert unit["EnvironmentFile"] == ["/etc/casework-audit/env"]
        elif unit.get("User") == ["casework"]:
            hidden = [p.removeprefix("-") for p in " ".join(unit["InaccessiblePaths"]).split()]
            assert "/etc/casework-audit" in hidden, path.name


def test_every_service_is_hardened_and_reads_its_settings_file():
    for path in DEPLOY.glob("*.service"):
        unit = unit_settings(path.read_text())
        assert unit["NoNewPrivileges"] == ["yes"], path.name
        assert unit["ProtectSystem"] == ["strict"], path.name
        assert unit["PrivateTmp"] == ["yes"], path.name
        assert unit["EnvironmentFile"][0].startswith("/etc/casework"), path.name


# --- nginx -----------------------------------------------------------------------------------


def self_signed_certificate(folder: Path) -> None:
    """The certificate and key certbot will put in /etc/letsencrypt/live/<name>/."""
    folder.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / "privkey.pem").write_bytes(private)
    (folder / "privkey.pem").chmod(0o600)


def nginx_prefix(tmp_path: Path, site: str) -> Path:
    """A prefix directory holding a minimal nginx.conf that includes ``site`` as Debian's
    does (inside http {}), with the certificate and log paths moved into it."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir()
    self_signed_certificate(prefix / "tls")
    site = site.replace(LIVE_CERTS, f"{prefix}/tls/").replace(NGINX_LOGS, f"{prefix}/logs/")
    (prefix / "site.conf").write_text(site)
    temp_paths = "".join(
        f"    {kind}_temp_path tmp/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"events {{}}\nhttp {{\n{temp_paths}    include site.conf;\n}}\n"
    )
    return prefix


def nginx_command(prefix: Path, *extra: str) -> list[str]:
    directives = f"error_log stderr; pid tmp/nginx.pid; {' '.join(extra)}"
    nginx = tool("nginx", "nginx-light")
    return [nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-g", directives]


def nginx_test(tmp_path: Path, site: str) -> subprocess.CompletedProcess[str]:
    command = [*nginx_command(nginx_prefix(tmp_path, site)), "-t"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_nginx_accepts_the_site_with_a_certificate_in_place(tmp_path):
    done = nginx_test(tmp_path, SITE.read_text())
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert not re.search(r"\[(warn|error|crit|alert|emerg)\]", done.stderr), done.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("client_max_body_size 26m;", "client_max_body_size 26m"),
        ("proxy_request_buffering off;", "proxy_request_buffering of;"),
        ("ssl_session_tickets off;", "ssl_session_ticket off;"),
    ],
)
def test_the_nginx_check_fails_on_a_site_broken_on_purpose(tmp_path, old, new):
    done = nginx_test(tmp_path, replace_once(SITE.read_text(), old, new))
    assert done.returncode != 0


def site_directives() -> list[str]:
    """The site's directives, one a string, comments dropped."""
    text = "\n".join(line.split("#", 1)[0] for line in SITE.read_text().splitlines())
    return [" ".join(part.split()) for part in re.split(r"[;{}]", text) if part.strip()]


def test_the_site_overwrites_x_forwarded_proto_and_appends_x_forwarded_for():
    directives = site_directives()
    assert "proxy_set_header X-Forwarded-Proto https" in directives
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in directives
    assert "proxy_pass http://127.0.0.1:8000" in directives
    assert not [d for d in directives if "$http_x_forwarded" in d]


def nginx_size(value: str) -> int:
    units = {"k": 1024, "m": MIB, "g": 1024 * MIB}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def test_the_site_takes_the_largest_upload_plus_room_and_never_buffers_it():
    directives = site_directives()
    sizes = [d.split()[1] for d in directives if d.startswith("client_max_body_size ")]
    assert len(sizes) == 1
    assert nginx_size(sizes[0]) > settings.CASEWORK_UPLOAD_MAX_BYTES >= 25 * MIB
    assert "proxy_request_buffering off" in directives
    assert "proxy_http_version 1.1" in directives
    assert "proxy_max_temp_file_size 0" in directives


def test_the_site_adds_no_security_header_of_its_own():
    assert not [d for d in site_directives() if d.startswith("add_header")]


# nginx for real: the site as deployed, but listening on Unix sockets in tmp_path (no fixed
# port) and proxying to a stand-in for gunicorn that records every request it receives.


class Recorder(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str) -> None:
        self.requests: list[dict[str, object]] = []
        super().__init__(path, Upstream)


class Upstream(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        size = 8 * MIB if self.path == "/big" else 2
        self.reply(b"x" * size)

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding") == "chunked":
            received = sum(map(self.discard, iter(self.chunk_size, 0)))
            self.rfile.readline()  # the empty line after the last chunk
        else:
            received = self.discard(int(self.headers.get("Content-Length", "0")))
        self.reply(str(received).encode())

    def chunk_size(self) -> int:
        return int(self.rfile.readline().split(b";")[0], 16)

    def discard(self, size: int) -> int:
        remaining = size
        while remaining:
            remaining -= len(self.rfile.read(min(remaining, MIB)))
        if self.headers.get("Transfer-Encoding") == "chunked":
            self.rfile.readline()  # the line end after each chunk
        return size

    def reply(self, body: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append({"path": self.path, "headers": headers})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


class Proxy:
    def __init__(self, prefix: Path, recorder: Recorder) -> None:
        self.prefix = prefix
        self.recorder = recorder
        self.context = ssl.create_default_context(cafile=prefix / "tls" / "fullchain.pem")

    def connect(self, scheme: str) -> http.client.HTTPConnection:
        path = str(self.prefix / f"{scheme}.sock")
        if scheme == "https":
            return UnixHTTPSConnection(path, self.context)
        return UnixHTTPConnection(path)

    def log(self, awaited: str = "") -> str:
        """The access log, once it shows ``awaited`` (or after ten seconds): nginx writes a
        request's line after the response has gone out, so on a busy machine it may lag."""
        path = self.prefix / "logs" / "casework.log"
        deadline = time.monotonic() + 10
        while awaited not in (text := path.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return text

    def errors(self) -> str:
        return (self.prefix / "logs" / "casework-error.log").read_text()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__(SERVER_NAME, timeout=30)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class UnixHTTPSConnection(UnixHTTPConnection):
    def __init__(self, path: str, context: ssl.SSLContext) -> None:
        super().__init__(path)
        self.tls = context

    def connect(self) -> None:
        super().connect()
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=SERVER_NAME)


def running_site(prefix: Path) -> str:
    site = SITE.read_text()
    site = replace_once(site, "listen 80;", f"listen unix:{prefix}/http.sock;")
    site = replace_once(site, "listen [::]:80;", "")
    site = replace_once(site, "listen 443 ssl;", f"listen unix:{prefix}/https.sock ssl;")
    site = replace_once(site, "listen [::]:443 ssl;", "")
    site = replace_once(
        site, "proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://unix:{prefix}/upstream.sock;"
    )
    # "info" rather than "crit", so that nginx says when it spools to a temporary file.
    return site.replace("casework-error.log crit;", "casework-error.log info;")


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while not path.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "nginx did not start"
        time.sleep(0.05)


@pytest.fixture
def proxy(tmp_path) -> Iterator[Proxy]:
    prefix = tmp_path / "nginx"
    if len(f"{prefix}/upstream.sock") > 100:
        pytest.skip(f"{prefix} is too long a path for a Unix socket")
    nginx_prefix(tmp_path, running_site(prefix))
    recorder = Recorder(str(prefix / "upstream.sock"))
    serving = threading.Thread(target=recorder.serve_forever, daemon=True)
    serving.start()
    command = nginx_command(prefix, "daemon off;", "master_process off;")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(prefix / "https.sock", process)
        wait_for(prefix / "http.sock", process)
        yield Proxy(prefix, recorder)
    finally:
        process.terminate()
        process.communicate(timeout=15)
        recorder.shutdown()
        recorder.server_close()
        serving.join(timeout=15)


def fetch(
    proxy: Proxy, method: str, path: str, *, scheme: str = "https", **kwargs
) -> tuple[int, dict[str, str], bytes]:
    connection = proxy.connect(scheme)
    try:
        connection.request(method, path, **kwargs)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_proxy_sets_the_scheme_itself_whatever_the_client_claims(proxy):
    forged = {
        "X-Forwarded-Proto": "http",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Ssl": "off",
        "X-Forwarded-Protocol": "http",
        "Forwarded": "proto=http;for=203.0.113.9",
        "X-Forwarded-Host": "evil.example",
    }
    status, _, _ = fetch(proxy, "GET", "/login/", headers=forged)

    assert status == 200
    seen = proxy.recorder.requests[-1]["headers"]
    assert seen["x-forwarded-proto"] == "https"
    assert seen["host"] == SERVER_NAME
    # Appended, not replaced: the application believes only the right-most entry.
    assert seen["x-forwarded-for"].startswith("203.0.113.9, ")
    for header in ("x-forwarded-ssl", "x-forwarded-protocol", "forwarded", "x-forwarded-host"):
        assert header not in seen


def test_plain_http_only_redirects_to_https(proxy):
    status, headers, _ = fetch(proxy, "GET", "/cases/", scheme="http")

    assert status == 301
    assert headers["Location"] == f"https://{SERVER_NAME}/cases/"
    assert proxy.recorder.requests == []


def test_secrets_in_paths_stay_out_of_the_access_log(proxy):
    token = "Zx9-invitation-token-" + base64.urlsafe_b64encode(os.urandom(24)).decode()
    code = "acquire-bishop-costume-dramatic-express-glimpse-involve-mama-owner-purple"
    typed = "acquire+bishop+costume+dramatic+express"
    fetch(proxy, "GET", f"/invitation/{token}/")
    fetch(proxy, "GET", f"/invitation/{token}/", scheme="http")
    fetch(proxy, "GET", f"/verify/{code}/")
    fetch(proxy, "GET", f"/verify/?code={typed}")
    fetch(proxy, "GET", "/verify/")

    log = proxy.log(awaited='"GET /verify/"')  # the last request's line
    assert token not in log and "bishop" not in log
    # nginx escapes the README's "…" in its log as \xE2\x80\xA6.
    assert log.count('"GET /invitation/\\xE2\\x80\\xA6"') == 2
    assert log.count('"GET /verify/\\xE2\\x80\\xA6"') == 2
    assert '"GET /verify/"' in log


def test_the_largest_upload_passes_straight_through_and_a_bigger_one_is_refused(proxy):
    largest = settings.CASEWORK_UPLOAD_MAX_BYTES + 64 * 1024  # the file and its form
    status, _, body = fetch(proxy, "POST", "/upload/", body=b"\0" * largest)
    assert (status, body) == (200, str(largest).encode())

    # A chunked body reaches the application still chunked: nginx did not collect it first
    # (it would for an HTTP/1.0 upstream, whatever proxy_request_buffering says).
    chunks = (b"\0" * MIB for _ in range(2))
    status, _, body = fetch(proxy, "POST", "/upload/", body=chunks, encode_chunked=True)
    assert (status, body) == (200, str(2 * MIB).encode())
    assert proxy.recorder.requests[-1]["headers"]["transfer-encoding"] == "chunked"

    too_big = proxy.connect("https")
    try:
        too_big.putrequest("POST", "/upload/")
        too_big.putheader("Content-Length", str(27 * MIB))
        too_big.endheaders()
        assert too_big.getresponse().status == 413
    finally:
        too_big.close()

    assert "temporary file" not in proxy.errors()
    assert [r["path"] for r in proxy.recorder.requests] == ["/upload/", "/upload/"]


def test_a_slow_download_is_never_spooled_to_a_temporary_file(proxy):
    connection = proxy.connect("https")
    try:
        connection.request("GET", "/big")
        time.sleep(0.5)  # nginx has the whole answer and nowhere to put it
        response = connection.getresponse()
        assert len(response.read()) == 8 * MIB
    finally:
        connection.close()
    assert "temporary file" not in proxy.errors()


# --- the guide -------------------------------------------------------------------------------


def guide() -> str:
    return GUIDE.read_text()


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def not_yet_available() -> set[str]:
    return set(re.findall(r"^- `([a-z_]+)`", section(guide(), "Not yet available"), re.M))


def test_the_commands_not_yet_built_are_listed_as_such_and_do_not_exist():
    assert not_yet_available().isdisjoint(get_commands())


def test_every_manage_py_command_in_the_guide_and_the_units_exists():
    texts = [guide(), *(path.read_text() for path in UNITS)]
    named = {name for text in texts for name in re.findall(r"manage\.py\s+([a-z][a-z0-9_]*)", text)}
    assert {"init_keys", "audit_checkpoint", "verify_audit", "backup", "restore"} <= named
    assert {"escrow_keys", "recover_keys", "rotate_keys", "letter_seal", "apply_retention"} <= named
    assert {"export_applicant"} <= named
    assert sorted(named - not_yet_available() - set(get_commands())) == []


def test_every_make_target_in_the_guide_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    named = {
        target
        for words in re.findall(r"(?:^|[`;&|]\s*)make((?: [a-z][a-z-]*)+)", guide(), re.M)
        for target in words.split()
    }
    assert "compilemessages" in named
    assert sorted(named - targets) == []


def test_the_guide_installs_every_deploy_file():
    text = guide()
    assert [p.name for p in DEPLOY.iterdir() if p.name not in text] == []


def shell_blocks() -> list[str]:
    """The guide's ```sh blocks, those inside list items dedented."""
    found = re.findall(r"^( *)```sh\n(.*?)^\1```", guide(), re.S | re.M)
    return [textwrap.dedent(block) for _, block in found]


def test_every_shell_block_of_the_guide_is_valid_bash():
    blocks = shell_blocks()
    assert len(blocks) >= 20
    for block in blocks:
        done = subprocess.run(
            ["bash", "-n"], input=block, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, f"{done.stderr}\n{block}"


def settings_block() -> str:
    return next(block for block in shell_blocks() if "cat > /etc/casework/env <<EOF" in block)


@pytest.fixture
def settings_files(tmp_path) -> dict[str, Path]:
    """Run the guide's settings block as written, with /etc, /var/lib and /root moved into
    tmp_path (step 3 made the folders)."""
    script = settings_block()
    for folder in ("/etc/", "/var/lib/", "/root/"):
        script = script.replace(folder, f"{tmp_path}{folder}")
    for folder in ("etc/casework", "etc/casework-audit", "root"):
        (tmp_path / folder).mkdir(parents=True)
    subprocess.run(["/bin/sh", "-eu", "-c", script], check=True, timeout=60)
    return {
        "web": tmp_path / "etc" / "casework" / "env",
        "signer": tmp_path / "etc" / "casework-audit" / "env",
        "owner": tmp_path / "root" / "casework-db-owner.url",
    }


def env_file(path: Path) -> dict[str, str]:
    """The file as systemd's EnvironmentFile= reads it, refusing anything that systemd and
    sh would read differently (quotes, spaces, backslashes, $)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            name, value = line.split("=", 1)
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), line
            assert not re.search(r"[\s'\"\\$`]", value), line
            values[name] = value
    return values


def sh_reads(path: Path) -> dict[str, str]:
    done = subprocess.run(
        ["/bin/sh", "-c", 'set -a && . "$1" && exec env -0', "sh", str(path)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
        text=True,
        timeout=30,
    )
    return dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)


def required_settings() -> list[set[str]]:
    """README "Configuration": the variables marked required, each row's alternatives
    together (`SECRET_KEY` or `SECRET_KEY_FILE`)."""
    rows = [
        line for line in (ROOT / "README.md").read_text().splitlines() if "**required**" in line
    ]
    assert len(rows) >= 7
    return [set(re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])) for row in rows]


def test_the_settings_files_hold_every_required_variable(settings_files):
    for which in ("web", "signer"):
        values = env_file(settings_files[which])
        assert values["CASEWORK_ENV"] == "prod"
        assert values["DATABASE_URL"].startswith("postgres://casework_app:")
        missing = [names for names in required_settings() if not names & values.keys()]
        assert missing == [], which


def test_systemd_and_sh_read_the_settings_files_alike(settings_files):
    for which in ("web", "signer"):
        values = env_file(settings_files[which])
        read = sh_reads(settings_files[which])
        assert {name: read.get(name) for name in values} == values


def test_the_signer_differs_from_the_web_only_in_its_folder_and_secret_key(settings_files):
    web, signer = env_file(settings_files["web"]), env_file(settings_files["signer"])
    different = {name for name in web.keys() | signer.keys() if web.get(name) != signer.get(name)}
    assert different == {"CASEWORK_DATA_DIR", "SECRET_KEY"}
    assert signer["CASEWORK_DATA_DIR"].endswith("/var/lib/casework-audit")
    owner = settings_files["owner"].read_text().strip()
    assert owner.startswith("postgres://casework_owner:") and owner not in web.values()


@pytest.mark.parametrize("which", ["web", "signer"])
def test_the_settings_files_pass_the_deploy_checks(settings_files, which):
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "casework.settings",
        **env_file(settings_files[which]),
        # What step 9 fills in.
        "CASEWORK_AUDIT_PUBLIC_KEY": base64.b64encode(public).decode(),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "no issues (0 silenced)" in done.stdout
