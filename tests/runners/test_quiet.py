"""Without -v no library warning reaches the terminal; a node's log keeps them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging, os, sys, warnings
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    logging.basicConfig(level=logging.WARNING)
    from tfxd.processes import quiet_libraries
    if sys.argv[1] == "quiet":
        quiet_libraries()
    import tensorflow as tf
    from pathlib import Path
    from tfxd.runners.progress import captured_output

    folder = Path(sys.argv[2])
    records = str(folder / "r.tfrecord")
    with tf.io.TFRecordWriter(records) as out:
        out.write(b"x")

    def noisy(tag):
        warnings.warn(f"a library's own warning {tag}", UserWarning)
        logging.getLogger("tensorflow").warning("TensorFlow logs %s", tag)

    # TensorFlow's deprecation warning (it warns once per process)
    list(tf.compat.v1.io.tf_record_iterator(records))
    noisy("terminal")
    with captured_output(folder / "node.log"):
        noisy("node")
    noisy("after")
    """
)


def run(mode: str, tmp_path) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stderr, (tmp_path / "node.log").read_text()


def test_quiet_terminal_keeps_the_warnings_in_the_node_log(tmp_path):
    terminal, log = run("quiet", tmp_path)
    assert "deprecated" not in terminal and "own warning" not in terminal, terminal
    assert "own warning node" in log and "TensorFlow logs node" in log, log
    assert "after" not in terminal  # quiet again once the node ended


def test_with_verbose_the_terminal_shows_them(tmp_path):
    terminal, _ = run("verbose", tmp_path)
    assert "deprecated" in terminal and "own warning terminal" in terminal
    assert "TensorFlow logs terminal" in terminal


def test_the_terminal_console_of_a_run_closes_its_stream_and_warns_nothing():
    """A run's console writes to a copy of stdout; the copy closes with the console (one per
    run: ``tfxd dev`` and ``watch`` would leak a descriptor each), and nothing is left for
    Python's ``ResourceWarning: unclosed file`` at exit."""
    code = textwrap.dedent(
        """
        import gc, os, warnings
        warnings.simplefilter("always", ResourceWarning)
        from rich.console import Console
        from tfxd.runners.progress import terminal_console
        terminal = terminal_console(Console())
        fd = terminal.file.fileno()
        terminal.print("shown")
        del terminal
        gc.collect()
        try:
            os.fstat(fd)
            print("still open")
        except OSError:
            print("closed")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["shown", "closed"], done.stdout
    assert "ResourceWarning" not in done.stderr, done.stderr
