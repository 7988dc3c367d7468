"""A Trainer module that says it started, then waits for a gate file; fails while a fail file
exists. Two of them in parallel branches hold two nodes running at once, as long as a test needs."""

import os
import time


def run_fn(fn_args):
    config = fn_args.custom_config
    folder = config["folder"]
    with open(os.path.join(folder, f"started-{config['name']}"), "a") as handle:
        handle.write(f"{os.getpid()}\n")
    while not os.path.exists(os.path.join(folder, "gate")):
        time.sleep(0.05)
    if os.path.exists(os.path.join(folder, f"fail-{config['name']}")):
        raise RuntimeError(f"{config['name']} fails on purpose")
    os.makedirs(fn_args.serving_model_dir, exist_ok=True)
    with open(os.path.join(fn_args.serving_model_dir, "model.txt"), "w") as handle:
        handle.write(config["name"] + "\n")
