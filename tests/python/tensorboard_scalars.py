"""Reads gpu-mlp's TensorBoard event files back with TensorBoard's own reader
(EventAccumulator, from the `tensorboard` package on PyPI) and checks every scalar against the
run's --metrics JSON Lines file: each tag holds one value per epoch, at step = epoch, equal to
the metrics line's number rounded to float32 (what an event's simple_value holds).

usage: tensorboard_scalars.py RUN_DIR METRICS.jsonl [RUN_DIR METRICS.jsonl ...]
Prints one line per run and exits 1 on the first disagreement.
"""
import json
import sys

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

# tag -> key of the --metrics line (src/tensorboard/mod.rs's TAGS).
TAGS = {
    "cost/train": "train_cost",
    "accuracy/train": "train_accuracy",
    "cost/validation": "validation_cost",
    "accuracy/validation": "validation_accuracy",
    "cost/test": "test_cost",
    "accuracy/test": "test_accuracy",
    "eta": "eta",
    "seconds/train": "seconds",
    "seconds/evaluation": "eval_seconds",
}


def check(run_dir, metrics_path):
    lines = [json.loads(l) for l in open(metrics_path) if l.strip()]
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    expected = {t for t, k in TAGS.items() if any(l.get(k) is not None for l in lines)}
    if tags != expected:
        sys.exit(f"{run_dir}: tags {sorted(tags)}, expected {sorted(expected)}")
    count = 0
    for tag in sorted(tags):
        key = TAGS[tag]
        events = acc.Scalars(tag)
        want = [(l["epoch"], l[key]) for l in lines if l.get(key) is not None]
        got = [(e.step, e.value) for e in events]
        if [s for s, _ in got] != [s for s, _ in want]:
            sys.exit(f"{run_dir} {tag}: steps {[s for s, _ in got]}, expected {[s for s, _ in want]}")
        for (step, value), (_, number) in zip(got, want):
            if np.float32(value) != np.float32(number):
                sys.exit(f"{run_dir} {tag} step {step}: {value!r}, metrics say {number!r}")
            count += 1
    print(f"{run_dir}: {count} scalars in {len(tags)} tags agree with {metrics_path}")


def main():
    args = sys.argv[1:]
    for run_dir, metrics in zip(args[::2], args[1::2]):
        check(run_dir, metrics)


if __name__ == "__main__":
    main()
