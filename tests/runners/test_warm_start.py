"""The task launcher: commands forked from one warm helper behave like fresh processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tfxd.runners.warm_start import WarmStarter

TASK = """\
import os, sys
print("argv", sys.argv[1:], "env", os.environ.get("TASK_VALUE"), "helper", os.getppid())
print("to stderr", file=sys.stderr)
mode = sys.argv[1]
if mode == "crash":
    raise ValueError("boom")
if mode == "message":
    sys.exit("stopped: bad input")
if mode == "kill":
    os.kill(os.getpid(), 9)
if mode == "orphan":
    os.kill(os.getppid(), 9)
    import time; time.sleep(2)
    open(sys.argv[2], "w").write("outlived its helper")
if mode == "killhelper":
    os.kill(os.getppid(), 9)
    import time; time.sleep(1)
sys.exit(int(mode))
"""


@pytest.fixture
def image(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "image"
    folder.mkdir()
    (folder / "fake_task.py").write_text(TASK)
    return {**os.environ, "PYTHONPATH": str(folder)}


def run(launcher: WarmStarter, env: dict[str, str], log: Path, *args: str) -> tuple[int, str]:
    code = launcher.run([sys.executable, "-m", "fake_task", *args], env, log)
    return code, log.read_text()


def test_forked_commands_get_their_argv_env_log_and_exit_status(tmp_path: Path, image):
    log = tmp_path / "log"
    with WarmStarter(image, warm_modules=("fake_",), imports=("json",)) as launcher:
        code, out = run(launcher, {**image, "TASK_VALUE": "one"}, log, "0")
        assert code == 0
        assert "argv ['0'] env one" in out and "to stderr" in out
        helper = out.split("helper ")[1].split()[0]
        code, out = run(launcher, {**image, "TASK_VALUE": "two"}, log, "3")
        assert code == 3 and "argv ['3'] env two" in out
        # Both came from the same helper (their parent), which is not this process.
        assert out.count(f"helper {helper}") == 2 and helper != str(os.getpid())
        code, out = run(launcher, image, log, "crash")
        assert code == 1 and "ValueError: boom" in out
        code, out = run(launcher, image, log, "message")
        assert code == 1 and "stopped: bad input" in out
        code, _ = run(launcher, image, log, "kill")
        assert code == -9


def test_cold_and_other_modules_start_a_fresh_interpreter(tmp_path: Path, image):
    log = tmp_path / "log"
    with WarmStarter(image, cold=True, warm_modules=("fake_",), imports=("json",)) as launcher:
        code, out = run(launcher, image, log, "2")
        assert code == 2 and f"helper {os.getpid()}" in out
    with WarmStarter(image, imports=("json",)) as launcher:  # fake_task is not TFX's or tfxd's
        code, out = run(launcher, image, log, "0")
        assert code == 0 and out.count(f"helper {os.getpid()}") == 2
        assert launcher._helper is None


def test_a_dead_helper_is_replaced_and_the_command_still_runs(tmp_path: Path, image):
    log = tmp_path / "log"
    with WarmStarter(image, warm_modules=("fake_",), imports=("json",)) as launcher:
        assert run(launcher, image, log, "0")[0] == 0
        assert launcher._helper is not None
        launcher._helper.kill()
        launcher._helper.wait()
        code, out = run(launcher, image, log, "4")
        assert code == 4 and out.count("argv") == 2


def test_a_helper_that_cannot_import_leaves_every_command_cold(tmp_path: Path, image):
    log = tmp_path / "log"
    with WarmStarter(image, warm_modules=("fake_",), imports=("no_such_module_here",)) as launcher:
        code, out = run(launcher, image, log, "5")
        assert code == 5 and f"helper {os.getpid()}" in out and launcher.cold


def test_a_helper_killed_during_a_command_fails_it_without_running_it_again(tmp_path, image):
    log = tmp_path / "log"
    with WarmStarter(image, warm_modules=("fake_",), imports=("json",)) as launcher:
        code, out = run(launcher, image, log, "killhelper")
        assert code == 1 and out.count("argv") == 1
        assert "helper process died while this command ran" in out
        # A command whose helper dies is killed with it instead of running on as an orphan.
        marker = tmp_path / "orphan"
        code, out = run(launcher, image, log, "orphan", str(marker))
        assert code == 1
        import time

        time.sleep(3)
        assert not marker.exists()
