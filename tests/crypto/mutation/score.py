"""Print the mutation score of each area `make mutation` ran, as the README's table.

Reads `mutmut results --all true` in var/mutation/<area>/. A mutant counts as killed when a
test failed (killed) or hung (timeout: the mutant made the code loop or block); mutants
mutmut did not run (outside the area's functions) are not counted. Exit status 1 when an
area is under 90 % (R65).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DETECTED = {"killed", "timeout"}
NOT_RUN = {"not checked", "skipped"}
THRESHOLD = 90.0


def statuses(area: str) -> dict[str, str]:
    output = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mutmut"), "results", "--all", "true"],
        cwd=ROOT / "var" / "mutation" / area,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pairs = (line.strip().rsplit(": ", 1) for line in output.splitlines() if ": " in line)
    return {name: status for name, status in pairs if status not in NOT_RUN}


def main(areas: list[str]) -> int:
    print("| area | mutants | killed | timed out | survived | score |")
    print("|---|---|---|---|---|---|")
    below = False
    survivors = []
    for area in areas:
        found = statuses(area)
        counts = Counter(found.values())
        detected = sum(counts[s] for s in DETECTED)
        score = 100.0 * detected / len(found) if found else 0.0
        below |= score < THRESHOLD
        undetected = len(found) - detected
        print(
            f"| {area} | {len(found)} | {counts['killed']} | {counts['timeout']} | "
            f"{undetected} | {score:.1f} % |"
        )
        survivors += [name for name, status in found.items() if status not in DETECTED]
    if survivors:
        print("\nNot killed (inspect with `mutmut show NAME` in var/mutation/<area>/):")
        print("\n".join(f"  {name}" for name in sorted(survivors)))
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
