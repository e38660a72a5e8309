"""`make run` and `make test` on a fresh machine: as root they install the Debian packages
they need; otherwise they print the one `sudo apt-get install …` line and stop.

scripts/check-system-packages runs here with stand-ins for the system's commands on PATH,
so the test sees exactly what it would run or print (it never installs anything)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check-system-packages"
PRESENT = "libpango-1.0.so libpangoft2-1.0.so"


def stand_ins(folder: Path, *, uid: int, have: set[str]) -> dict[str, str]:
    """A PATH of fake commands: those in ``have`` exist, apt-get records its calls."""
    folder.mkdir()

    def command(name: str, body: str) -> None:
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    for name in have:
        command(name, "exit 0")
    (folder / "grep").symlink_to(shutil.which("grep"))
    command("id", f"echo {uid}")
    command("ldconfig", f"echo '{PRESENT}'")
    command("fc-list", "echo 'DejaVuSans.ttf: DejaVu Sans'")
    command("apt-get", f'echo "$@" >> "{folder}/apt-get.log"')
    chromium = folder / "chromium"
    if "chromium" in have:
        chromium.write_text("")
        chromium.chmod(0o755)
    return {"PATH": str(folder), "CASEWORK_E2E_CHROMIUM": str(chromium)}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(SCRIPT), *args],
        env={**env, "HOME": os.environ.get("HOME", "/")},
        capture_output=True,
        text=True,
        check=False,
    )


EVERYTHING = {"msgfmt", "pdftotext", "qpdf", "7z", "chromium"}


def test_nothing_missing_means_nothing_said_and_nothing_installed(tmp_path):
    env = stand_ins(tmp_path / "bin", uid=1000, have=EVERYTHING)
    done = run(env, "test")
    assert done.returncode == 0 and done.stdout == ""
    assert not (tmp_path / "bin" / "apt-get.log").exists()


def test_without_root_it_prints_the_one_install_line_and_stops(tmp_path):
    env = stand_ins(tmp_path / "bin", uid=1000, have={"msgfmt", "qpdf"})
    done = run(env, "test")
    assert done.returncode == 1
    assert "  sudo apt-get install poppler-utils p7zip-full chromium" in done.stdout.splitlines()
    assert not (tmp_path / "bin" / "apt-get.log").exists()


def test_as_root_it_installs_what_is_missing(tmp_path):
    env = stand_ins(tmp_path / "bin", uid=0, have={"msgfmt", "pdftotext", "qpdf", "7z"})
    done = run(env, "test")
    assert done.returncode == 0, done.stdout
    calls = (tmp_path / "bin" / "apt-get.log").read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].split()[-1] == "chromium"
    assert "install" in calls[1].split()


@pytest.mark.parametrize("missing", ["pdftotext", "7z", "chromium"])
def test_make_run_does_not_ask_for_what_only_the_tests_need(tmp_path, missing):
    env = stand_ins(tmp_path / "bin", uid=1000, have=EVERYTHING - {missing})
    assert run(env).returncode == 0
