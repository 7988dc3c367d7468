"""Write docs/testing.md's timing block from the suite's own timing output.

Every pytest session writes .test-durations.json (tests/conftest.py). After a whole-suite run
(`bash scripts/test.sh`, or `.ci/run` on a clean clone) this rewrites the block between the
markers in docs/testing.md: when, on how many cores, how many tests, the wall time, and the
longest tests. Usage: .venv/bin/python scripts/test-durations.py [.test-durations.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing.md"
START = "<!-- durations: written by scripts/test-durations.py from .test-durations.json -->"
END = "<!-- /durations -->"
LONGEST = 12


def block(report: dict) -> str:
    tests = report["tests"]
    failed = sum(t["outcome"] == "failed" for t in tests.values())
    seconds = sum(t["seconds"] for t in tests.values())
    lines = [
        START,
        f"On {report['finished'][:10]} ({report['cores']} cores, {report.get('workers', 1)} "
        f"pytest worker(s)) the suite ran {len(tests)} tests "
        f"in {report['wall_seconds'] / 60:.1f} minutes of pytest wall time ({seconds / 60:.1f} "
        f"summed over tests; {failed} failed). The longest:",
        "",
        "| test | seconds |",
        "|---|---:|",
    ]
    ranked = sorted(tests.items(), key=lambda item: -item[1]["seconds"])[:LONGEST]
    lines += [f"| `{nodeid}` | {t['seconds']:.0f} |" for nodeid, t in ranked]
    return "\n".join([*lines, END])


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".test-durations.json"
    report = json.loads(source.read_text(encoding="utf-8"))
    text = DOC.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{DOC}: no timing block ({START} … {END}) to rewrite")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + block(report) + tail, encoding="utf-8")
    print(f"wrote the timing block of {DOC} from {source} ({len(report['tests'])} tests)")


if __name__ == "__main__":
    main()
