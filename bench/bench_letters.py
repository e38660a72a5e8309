"""Benchmark issuing a letter against WeasyPrint's bare render of the same HTML, in one run.

    python bench/bench_letters.py [--letters 30]

Issuing is everything letter_issue() does: the guards, a reference number, the HTML from the
template, the render in the warm worker process (PDF/A, neutral metadata), the PAdES seal,
encryption under the applicant's key, storage and the audit entry. The bare render is
WeasyPrint in this process on the same HTML with the same asset fetcher, nothing else.
Target (issue 7): issuing p50 <= 1.3 x the bare render p50. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from scratch import scratch_django


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as data_dir:
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
        from casework.core.demo import seed_accounts, seed_cases
        from casework.letters.models import Letter
        from casework.letters.services import letter_html, letter_issue, letter_request
        from casework.lib.datakeys import dek_cache

        seed_accounts(Path(data_dir))
        seed_cases()  # issues the demo's first letter: the worker is warm from here on
        template = Letter.objects.get(status="issued")
        coordinator = template.issued_by
        values = {
            name: getattr(template, name)
            for name in ("kind", "language", "mission", "delivery", "include_sogi")
        }
        values |= {name: getattr(template, name) for name in ("facts", "why_route", "urgency")}

        issuing: list[float] = []
        html = ""
        with dek_cache():
            for _ in range(args.letters):
                draft = letter_request(
                    actor=coordinator,
                    case=template.case,
                    attempt=template.attempt,
                    values=values,
                    annexes=[],
                )
                started = time.perf_counter()
                issued = letter_issue(actor=coordinator, letter=draft)
                issuing.append((time.perf_counter() - started) * 1000)
                html = letter_html(issued, code="-".join(["academic"] * 13))
        bare = bare_renders(html, args.letters)
        report(vendor, issuing, bare)


def bare_renders(html: str, count: int) -> list[float]:
    import logging

    from weasyprint import HTML

    # As in the worker, where logging is not configured: no per-glyph INFO lines.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    from casework.letters.rendering import ASSETS_DIR
    from casework.letters.worker import make_fetcher

    fetcher = make_fetcher(ASSETS_DIR)
    fetcher.job_assets = {"qr.svg": _qr()}
    HTML(string=html, url_fetcher=fetcher, base_url="app:").write_pdf()  # warm, like the worker
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        HTML(string=html, url_fetcher=fetcher, base_url="app:").write_pdf(pdf_variant="pdf/a-3b")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _qr() -> str:
    from casework.letters.services import qr_svg

    return qr_svg("http://localhost:8000/verify/" + "-".join(["academic"] * 13) + "/")


def report(vendor: str, issuing: list[float], bare: list[float]) -> None:
    issue50, issue95 = percentiles(issuing)
    bare50, bare95 = percentiles(bare)
    ratio: Any = issue50 / bare50
    print(f"database: {vendor}; {len(issuing)} letters (support, French, 2 pages)")
    print(
        f"  issue one letter (render + seal + encrypt + store): p50 {issue50:.0f} ms, "
        f"p95 {issue95:.0f} ms"
    )
    print(
        f"  bare WeasyPrint render of the same HTML:             p50 {bare50:.0f} ms, "
        f"p95 {bare95:.0f} ms"
    )
    print(f"  issuing / bare render at p50: {ratio:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
