"""Benchmark issuing a letter against WeasyPrint's bare render of the same HTML, in one run.

    python bench/bench_letters.py [--letters 60] [--json PATH]

Issuing is everything letter_issue() does: the guards, a reference number, the HTML from the
template, the render in the warm worker process (PDF/A, neutral metadata), the PAdES seal,
encryption under the applicant's key, storage and the audit entry. The draft it issues is
made before the clock starts (letter_request() is a caseworker's request of its own). The
bare render is WeasyPrint in this process on the same HTML with the same asset fetcher,
nothing else. The two alternate (which goes first alternates too), so that a busy machine
slows both alike. Target (issue 7): issuing p50 <= 1.3 x the bare render p50. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from figures import add_json_argument, figure, write_json
from scratch import scratch_data_dir, scratch_django


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=60)
    add_json_argument(parser)
    args = parser.parse_args()
    with scratch_data_dir() as data_dir:
        vendor = scratch_django(data_dir, "letters")
        from django.conf import settings

        settings.CASEWORK_SEAL_DIR = Path(data_dir) / "seals"
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(Path(data_dir) / "files")},
            },
        }
        from casework.core.demo import (
            credentials_path,
            demo_keys,
            load_passwords,
            seed_accounts,
            seed_cases,
        )
        from casework.letters.models import Letter
        from casework.letters.services import letter_html, letter_issue, letter_request
        from casework.lib.datakeys import dek_cache

        seed_accounts(Path(data_dir))
        seed_cases()  # issues the demo's letters: the worker is warm from here on
        # The coordinator's organisation key, held from here on as their sign-in holds it
        # for each request (issue 16).
        held = contextlib.ExitStack()
        held.enter_context(demo_keys(load_passwords(credentials_path(Path(data_dir)))))
        # The demo issues several letters; the French one (2 pages) is the model here.
        template = Letter.objects.get(status="issued", language="fr")
        coordinator = template.issued_by
        values = {
            name: getattr(template, name)
            for name in ("kind", "language", "mission", "delivery", "include_sogi")
        }
        values |= {name: getattr(template, name) for name in ("facts", "why_route", "urgency")}
        annexes = list(template.annexes.all())  # the letter cites them: the check wants them

        def draft() -> Any:
            # A caseworker's request, in a request of its own: not part of issuing.
            return letter_request(
                actor=coordinator,
                case=template.case,
                attempt=template.attempt,
                values=values,
                annexes=annexes,
            )

        def issue(letter: Any) -> Any:
            # As the demo does: a complete letter, warnings (none expected) accepted.
            return letter_issue(actor=coordinator, letter=letter, accept_warnings=True)

        issuing: list[float] = []
        bare: list[float] = []
        with dek_cache():
            # The HTML of a letter issued like the measured ones, for the bare render.
            html = letter_html(issue(draft()), code="-".join(["academic"] * 13))
            render, pages = bare_render(html)
            for number in range(args.letters):
                for bare_first in (True, False) if number % 2 else (False, True):
                    if bare_first:
                        bare.append(render())
                    else:
                        letter = draft()
                        started = time.perf_counter()
                        issue(letter)
                        issuing.append((time.perf_counter() - started) * 1000)
        what = f"{template.kind}, {template.get_language_display()}, {pages} pages"
        ratio = report(vendor, issuing, bare, what)
        write_json(
            args.json,
            {
                "letter_issue_vs_bare_render_ratio": figure(
                    "letter_issue_vs_bare_render_ratio", ratio
                )
            },
        )


def bare_render(html: str) -> tuple[Callable[[], float], int]:
    """A function that renders ``html`` with WeasyPrint in this process, as the worker
    does, and returns the milliseconds it took (warmed up once here); and the page count."""
    import logging

    from weasyprint import HTML

    # As in the worker, which prints no log lines: no per-glyph or per-step INFO lines, and
    # no warning about the stylesheet's unsupported unicode-bidi at every render.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    from casework.letters.rendering import ASSETS_DIR
    from casework.letters.worker import make_fetcher

    fetcher = make_fetcher(ASSETS_DIR)
    fetcher.job_assets = {"qr.svg": _qr()}
    warm = HTML(string=html, url_fetcher=fetcher, base_url="app:").render()  # as the worker
    warm.write_pdf()

    def render() -> float:
        started = time.perf_counter()
        HTML(string=html, url_fetcher=fetcher, base_url="app:").write_pdf(pdf_variant="pdf/a-3b")
        return (time.perf_counter() - started) * 1000

    return render, len(warm.pages)


def _qr() -> str:
    from casework.letters.services import qr_svg

    return qr_svg("http://localhost:8000/verify/" + "-".join(["academic"] * 13) + "/")


def report(vendor: str, issuing: list[float], bare: list[float], what: str) -> float:
    """Print the figures; return issuing / bare render at p50."""
    issue50, issue95 = percentiles(issuing)
    bare50, bare95 = percentiles(bare)
    ratio: Any = issue50 / bare50
    print(f"database: {vendor}; {len(issuing)} letters ({what})")
    print(
        f"  issue one letter (render + seal + encrypt + store): p50 {issue50:.0f} ms, "
        f"p95 {issue95:.0f} ms"
    )
    print(
        f"  bare WeasyPrint render of the same HTML:             p50 {bare50:.0f} ms, "
        f"p95 {bare95:.0f} ms"
    )
    print(f"  issuing / bare render at p50: {ratio:.2f}x (target <= 1.3x)")
    return float(ratio)


if __name__ == "__main__":
    main()
