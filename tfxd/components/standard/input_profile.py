"""Whether a training run waited on its input or on its steps, from the module's own datasets.

Around a ``run_fn`` (TFX's or a Horovod rank's): the datasets the module asks the data accessor
for are remembered, and every Keras ``fit`` gets one more callback that times its training
batches. A Keras step fetches its batch inside the step (the input pipeline prefetches beside
it), so a step lasts about max(input, compute). Afterwards the first training dataset is read
alone for as many batches (at most ``PROBE_BATCHES`` or ``PROBE_SECONDS``): where reading a
batch alone takes most of a step (``INPUT_BOUND`` of it), the run was input bound (faster
steps would have waited on the data); otherwise compute bound. The median is taken both ways,
the first batches (tracing, buffers filling) left out.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

INPUT_PROFILE = "tfxd_input_profile"  # model_run artifact / execution custom property (JSON)
INPUT_BOUND = 0.8  # input alone takes this share of a step or more: input bound
PROBE_BATCHES = 50
PROBE_SECONDS = 10.0
WARM_UP = 2  # batches left out of both medians


@dataclass
class Profile:
    steps: int  # training batches timed
    step_ms: float  # median training step
    input_ms: float  # median batch of the training dataset read alone
    bound: str  # input | compute

    @property
    def share(self) -> float:
        return self.input_ms / self.step_ms if self.step_ms else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": round(self.share, 3)}


class _Watch:
    """The datasets a run asked for and the durations of its training batches."""

    def __init__(self) -> None:
        self.datasets: list[tuple[Any, tuple]] = []  # (factory, its arguments)
        self.batches: list[float] = []

    def accessor(self, accessor: Any, train_files: Any) -> Any:
        """``accessor`` with a factory that remembers what it made for ``train_files``."""
        make = accessor.tf_dataset_factory

        def factory(file_pattern: Any, *args: Any, **kwargs: Any) -> Any:
            if file_pattern == train_files or file_pattern == [train_files]:
                self.datasets.append((make, (file_pattern, *args), kwargs))
            return make(file_pattern, *args, **kwargs)

        return accessor._replace(tf_dataset_factory=factory)

    def callback(self) -> Any:
        import tensorflow as tf

        batches = self.batches

        class Timer(tf.keras.callbacks.Callback):
            def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
                self.started = time.perf_counter()

            def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
                batches.append(time.perf_counter() - self.started)

        return Timer()

    def probe(self) -> list[float]:
        """Seconds per batch of the first training dataset, read alone."""
        if not self.datasets:
            return []
        make, args, kwargs = self.datasets[0]
        out: list[float] = []
        deadline = time.perf_counter() + PROBE_SECONDS
        iterator = iter(make(*args, **kwargs))
        for _ in range(min(PROBE_BATCHES, len(self.batches)) + WARM_UP):
            started = time.perf_counter()
            try:
                next(iterator)
            except StopIteration:
                break
            out.append(time.perf_counter() - started)
            if started > deadline:
                break
        return out

    def profile(self) -> Profile | None:
        steps, reads = self.batches[WARM_UP:], self.probe()[WARM_UP:]
        if not steps or not reads:
            return None
        step, read = statistics.median(steps), statistics.median(reads)
        bound = "input" if read >= INPUT_BOUND * step else "compute"
        return Profile(len(self.batches), round(step * 1000, 3), round(read * 1000, 3), bound)


@contextlib.contextmanager
def watching(fn_args: Any) -> Iterator[_Watch]:
    """While the block runs ``run_fn(fn_args)``: ``fn_args``' datasets remembered and every
    Keras ``fit`` timed; ``watch.profile()`` afterwards."""
    import tensorflow as tf

    watch = _Watch()
    fn_args.data_accessor = watch.accessor(fn_args.data_accessor, fn_args.train_files)
    model = tf.keras.Model
    fit = model.fit

    def timed_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), watch.callback()]
        return fit(self, *args, **kwargs)

    model.fit = timed_fit
    try:
        yield watch
    finally:
        model.fit = fit
