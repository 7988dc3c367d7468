"""One Horovod rank: ``python -m tfxd.components.horovod_trainer.worker JOB.json``.

Started by HorovodTrainer's executor through Horovod's launcher. Rebuilds TFX's ``FnArgs`` from
the job, gives this rank its own shard of every dataset, sends the models of ranks other than 0 to
a scratch folder, and calls the module file's ``run_fn``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tfxd.components.horovod_trainer.context import ENV, HorovodContext
from tfxd.components.standard.input_profile import watching


def shard_accessor(accessor: Any, rank: int, size: int) -> Any:
    """A DataAccessor whose datasets hold only this rank's part of the data.

    With at least ``size`` files, rank r reads files r, r+size, …. Otherwise every rank reads the
    files in order, keeps records r, r+size, … and then shuffles, repeats and batches as the
    options ask; either way the ranks' examples are disjoint.
    """
    if size == 1:
        return accessor
    import tensorflow as tf

    make = accessor.tf_dataset_factory

    def factory(file_pattern: Any, options: Any, schema: Any) -> Any:
        patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
        files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
        if len(files) >= size:
            return make(files[rank::size], options, schema)
        one_pass = options._replace(shuffle=False, num_epochs=1)
        data = make(file_pattern, one_pass, schema).unbatch().shard(size, rank)
        if options.shuffle:
            data = data.shuffle(options.shuffle_buffer_size, seed=options.shuffle_seed)
        data = data.repeat(options.num_epochs)
        data = data.batch(options.batch_size, drop_remainder=options.drop_final_batch)
        return data.prefetch(tf.data.AUTOTUNE)

    return accessor._replace(tf_dataset_factory=factory)


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    import horovod.tensorflow as hvd
    from tfx.components.util import udf_utils
    from tfx.types import artifact_utils

    from tfxd.components.horovod_trainer.executor import Executor

    hvd.init()
    rank, size = hvd.rank(), hvd.size()
    import tensorflow as tf

    # ranks share the machine's cores: without this each one sizes its pools to all of them
    local = max(1, len(os.sched_getaffinity(0)) // hvd.local_size())
    tf.config.threading.set_intra_op_parallelism_threads(local)
    tf.config.threading.set_inter_op_parallelism_threads(local)
    checkpoint = os.path.join(job["checkpoint_dir"], f"rank-{rank}")
    context = HorovodContext(rank, size, hvd.local_rank(), checkpoint, job["checkpoint_every"])
    os.environ[ENV] = json.dumps(asdict(context))

    inputs = artifact_utils.parse_artifact_dict(job["inputs"])
    outputs = artifact_utils.parse_artifact_dict(job["outputs"])
    properties = job["exec_properties"]
    fn_args = Executor()._GetFnArgs(inputs, outputs, properties)
    fn_args.data_accessor = shard_accessor(fn_args.data_accessor, rank, size)
    if rank != 0:  # only rank 0's model is the component's output
        scratch = os.path.join(job["scratch_dir"], f"rank-{rank}")
        fn_args.serving_model_dir = os.path.join(scratch, "Format-Serving")
        fn_args.eval_model_dir = os.path.join(scratch, "Format-TFMA")
        fn_args.model_run_dir = os.path.join(scratch, "model_run")
    run_fn = udf_utils.get_fn(properties, "run_fn")

    started = time.perf_counter()
    with watching(fn_args) as watch:  # after sharding: this rank's own input
        run_fn(fn_args)
        seconds = time.perf_counter() - started
        profile = watch.profile()
    hvd.join()  # every rank has finished training before any reports success
    report = {"rank": rank, "size": size, "seconds": seconds}
    if profile is not None:
        report["input"] = profile.as_dict()
    Path(job["scratch_dir"], f"rank-{rank}.json").write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
