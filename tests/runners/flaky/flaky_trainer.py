"""A Trainer module whose first attempt fails (to exercise retries), then writes a stub model."""

import os


def run_fn(fn_args):
    marker = fn_args.custom_config["marker"]
    if not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write("failed once\n")
        raise RuntimeError("first attempt fails on purpose")
    os.makedirs(fn_args.serving_model_dir, exist_ok=True)
    with open(os.path.join(fn_args.serving_model_dir, "model.txt"), "w") as handle:
        handle.write("second attempt\n")
