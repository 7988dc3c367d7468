"""AutoGraph leaves tf_keras's code unconverted in any process that imports tfxd, whichever of
tfxd and TensorFlow comes first, and only then (the control: TensorFlow alone converts it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
def skipped():
    import tf_keras
    from tensorflow.python.autograph.impl import conversion
    return conversion.is_allowlisted(tf_keras.layers.Dense.call)
{body}
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("import tensorflow\nprint(skipped())", "False"),
        ("import tfxd, tensorflow\nprint(skipped())", "True"),
        ("import tensorflow\nprint(skipped())\nimport tfxd\nprint(skipped())", "False\nTrue"),
    ],
    ids=["tensorflow-alone", "tfxd-first", "tensorflow-first"],
)
def test_tf_keras_is_left_unconverted_once_tfxd_is_imported(body: str, expected: str):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected, done.stdout + done.stderr
