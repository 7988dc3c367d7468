"""The suite's own rules: a test whose server or tool is missing skips only through
``tests.servers.process.missing`` (a printed reason locally, a failure under CI=true)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent
SKIPS = re.compile(r"pytest\.(skip\b|mark\.skip|importorskip)|@skip|unittest\.skip")


def test_no_test_skips_but_through_missing():
    found = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name not in ("process.py", Path(__file__).name)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SKIPS.search(line)
    ]
    assert not found, "skip through tests.servers.process.missing:\n" + "\n".join(found)


def test_missing_fails_under_ci(monkeypatch):
    import pytest

    from tests.servers.process import missing

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must have it: the thing"):
        missing("the thing", "install it")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="the thing is not installed"):
        missing("the thing", "install it")


def test_the_timing_block_names_tests_that_exist():
    """docs/testing.md's timing block is written from a suite run: each test it names exists."""
    text = (TESTS.parent / "docs" / "testing.md").read_text(encoding="utf-8")
    start = "<!-- durations: written by scripts/test-durations.py from .test-durations.json -->"
    assert start in text and "<!-- /durations -->" in text
    block = text.split(start, 1)[1].split("<!-- /durations -->", 1)[0]
    for nodeid in re.findall(r"`(tests/[^`]+)`", block):
        path, _, name = nodeid.partition("::")
        function = name.split("[")[0]
        assert (TESTS.parent / path).is_file(), nodeid
        assert f"def {function}(" in (TESTS.parent / path).read_text(encoding="utf-8"), nodeid
