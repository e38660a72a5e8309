"""The rendering worker's late assets and work done meanwhile (issue 15: issuing overlaps
the QR code and the pre-issue check with the render): whatever happens on either side, the
next letter renders, and a render is never used after the work beside it failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casework.letters.rendering import RenderFailed, renderer

SQUARE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10"/></svg>'
)
WITH_IMAGE = '<html><body><p>Letter</p><img src="app:late.svg" alt=""></body></html>'
PLAIN = "<html><body><p>Letter</p></body></html>"
NEXT = "<html><body><p>Next one</p></body></html>"  # told apart from a stale response


def text_of(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def worker_pid() -> int:
    process = renderer()._process
    assert process is not None
    return process.pid


def test_a_late_asset_reaches_the_render_that_asks_for_it():
    made = []

    def make() -> str:
        made.append(True)
        return SQUARE

    pdf = renderer().render(WITH_IMAGE, late={"late.svg": make}).pdf
    assert made and "Letter" in text_of(pdf)
    # Without it the same page is refused: the asset above was the one delivered late.
    with pytest.raises(RenderFailed):
        renderer().render(WITH_IMAGE)


def test_a_late_asset_the_page_never_asks_for_is_still_read():
    renderer().render(PLAIN)
    pid = worker_pid()
    renderer().render(PLAIN, late={"late.svg": lambda: SQUARE})
    second = renderer().render(NEXT).pdf  # in step: the asset was not taken for a job
    assert "Next one" in text_of(second) and worker_pid() == pid


def test_work_that_fails_meanwhile_drops_the_render_and_keeps_the_worker():
    renderer().render(PLAIN)
    pid = worker_pid()
    ran = []

    def blocked() -> None:
        ran.append(True)
        raise ValueError("the pre-issue check found a blocker")

    with pytest.raises(ValueError, match="blocker"):
        renderer().render(WITH_IMAGE, late={"late.svg": lambda: SQUARE}, meanwhile=blocked)
    assert ran == [True]
    assert "Next one" in text_of(renderer().render(NEXT).pdf) and worker_pid() == pid


def test_a_late_asset_that_cannot_be_made_ends_the_worker_and_the_next_letter_renders():
    renderer().render(PLAIN)
    pid = worker_pid()

    def broken() -> str:
        raise RuntimeError("the QR code could not be made")

    with pytest.raises(RuntimeError):
        renderer().render(WITH_IMAGE, late={"late.svg": broken})
    assert "Next one" in text_of(renderer().render(NEXT).pdf)
    assert worker_pid() != pid  # the old one waited for an asset that was never coming


def test_meanwhile_runs_once_while_the_worker_renders():
    order = []

    def beside() -> None:
        order.append("meanwhile")

    pdf = renderer().render(PLAIN, meanwhile=beside).pdf
    order.append("rendered")
    assert order == ["meanwhile", "rendered"] and "Letter" in text_of(pdf)


def test_a_worker_that_dies_while_a_late_asset_is_sent_is_replaced():
    """Killed (out of memory, kill -9) between the job and its late asset: the write fails,
    the worker is stopped without tripping over what the write left buffered, and a warm
    worker's letter is rendered by a fresh one (tests/ops/test_faults.py kills a fresh one)."""
    import os
    import signal

    renderer().render(PLAIN)
    pid = worker_pid()
    killed: list[int] = []

    def kill_then_make() -> str:
        if not killed:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            killed.append(pid)
        return SQUARE  # small: it stays in the pipe's buffer when the flush fails

    pdf = renderer().render(WITH_IMAGE, late={"late.svg": kill_then_make}).pdf
    assert killed == [pid] and worker_pid() != pid and "Letter" in text_of(pdf)


EXITING = """
import django
django.setup()
from casework.letters.rendering import renderer
print(renderer()._start().pid, flush=True)
"""


def test_the_warm_worker_is_stopped_when_its_process_exits(tmp_path):
    """Not left to notice the end of its input on its own: a web process that exits stops
    its worker, and Python reports no subprocess still running."""
    env = {
        **os.environ,
        "CASEWORK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "casework.settings",
        "PYTHONWARNINGS": "always::ResourceWarning",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", EXITING],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "still running" not in done.stderr
    pid = int(done.stdout.split()[0])
    assert not Path(f"/proc/{pid}").exists()  # stopped and waited for, not left behind
