"""A node's failure in one line, and whether a retry can help, from the errors executors raise."""

from __future__ import annotations

import traceback

from tfxd.runners.failure import explain


def raised(fn) -> str:
    try:
        fn()
    except Exception as err:  # what the runners receive from a node
        return "".join(traceback.format_exception_only(type(err), err))
    raise AssertionError("no error")


def test_a_graph_error_on_a_missing_feature_names_it_and_the_fix_and_is_not_retried():
    import tensorflow as tf

    spec = {"fare": tf.io.FixedLenFeature([1], tf.float32)}
    serving = tf.function(lambda batch: tf.io.parse_example(batch, spec))
    other = tf.train.Example()
    other.features.feature["fare_xf"].float_list.value.append(1.0)
    text = raised(lambda: serving(tf.constant([other.SerializeToString()])))
    assert "Graph execution error" in text or "could not be found" in text  # TF's own text
    failure = explain(text, "push")
    assert not failure.retry and "\n" not in failure.line()
    assert failure.line().startswith(
        "the examples given to 'push' have no value of feature 'fare' (float), which the "
        "model's parsing requires. Fix: give 'push' the examples its signature reads"
    )


def test_a_graph_error_keeps_its_useful_line_not_the_frames():
    import tensorflow as tf

    @tf.function
    def fn(x):
        tf.debugging.assert_positive(x, message="fares must be > 0")
        return x

    failure = explain(raised(lambda: fn(tf.constant([-1.0]))), "train")
    assert failure.kind == "InvalidArgumentError" and not failure.retry
    assert "fares must be > 0" in failure.line() and "File " not in failure.line()
    assert "\n" not in failure.line()


def test_no_message_is_never_an_empty_line():
    failure = explain(raised(lambda: (_ for _ in ()).throw(ValueError())), "push", "logs/push.log")
    assert failure.line() == "ValueError raised with no message (the traceback: logs/push.log)"
    assert not failure.retry


def test_transient_and_configuration_errors():
    def refused():
        raise ConnectionRefusedError(111, "Connection refused")

    assert explain(raised(refused), "examples").retry
    assert not explain(raised(lambda: {}["label"]), "train").retry  # KeyError: a wrong name
    locked = explain("sqlite3.OperationalError: database is locked", "stats")
    assert locked.retry
    unknown = explain("RuntimeError: first attempt fails on purpose", "train")
    assert unknown.retry and unknown.line().startswith("RuntimeError: first attempt fails")
    # tfxd's own diagnoses end with their fix and are not retried.
    ours = explain(
        "tfxd.components.pusher.executor.PushError: 'push': folder x is not writable. "
        "Fix: make it writable",
        "push",
    )
    assert (
        not ours.retry and ours.line() == "'push': folder x is not writable. Fix: make it writable"
    )


def test_tfxd_diagnoses_are_kept_whole():
    text = (
        "tfxd.errors.TfxdError: 2 JSON line(s) cannot be read, skip_bad_rows allows 1:\n"
        "  s3://b/x.jsonl:3: not a JSON object\n  s3://b/x.jsonl:5: got list\n"
        "fix the files, or raise skip_bad_rows"
    )
    line = explain(text, "jsonl").line()
    assert "x.jsonl:3: not a JSON object" in line and "x.jsonl:5: got list" in line
    assert line.endswith("raise skip_bad_rows") and "Fix: it fails the same way" not in line
