#!/usr/bin/env python3
"""Writes small valid inputs as the starting corpus of each fuzz target (fuzz/corpus/TARGET/),
so that the fuzzer starts from files the readers accept and mutates them.

    python3 fuzz/make_seeds.py
"""
import gzip, json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx_images(count, rows, cols):
    return struct.pack(">IIII", 0x803, count, rows, cols) + bytes(
        (i * 37) % 256 for i in range(count * rows * cols)
    )


def idx_labels(count):
    return struct.pack(">II", 0x801, count) + bytes(i % 10 for i in range(count))


def idx_seeds():
    im, lb = idx_images(5, 3, 2), idx_labels(5)
    put("idx", "images", b"\x00" + im)
    put("idx", "images.gz", b"\x00" + gzip.compress(im))
    put("idx", "labels", b"\x01" + lb)
    put("idx", "labels.gz", b"\x01" + gzip.compress(lb))
    for name, (a, b) in {"pair": (im, lb), "pair.gz": (gzip.compress(im), gzip.compress(lb))}.items():
        head = struct.pack(">HQQQ", len(a), 3, 2, 4)
        put("idx", name, b"\x02" + head + a + b)


def safetensors(tensors, meta):
    header, blobs, off = {}, b"", 0
    for name, shape, values in tensors:
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs += data
        off += len(data)
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blobs


def checkpoint(layers, optimizer=None, slots=(), train=False):
    tensors = []
    prefixes = [""] + ["optimizer.%s." % s for s in slots]
    for p in prefixes:
        for n, (i, o) in enumerate(zip(layers, layers[1:])):
            tensors.append((p + "layers.%d.weight" % n, [o, i], [0.25 * (k - 1) for k in range(i * o)]))
            tensors.append((p + "layers.%d.bias" % n, [o], [0.5] * o))
    meta = {"format": "gpu-mlp/1", "layers": ",".join(map(str, layers)),
            "output": "sigmoid", "cost": "quadratic", "init": "normal"}
    if optimizer:
        meta["optimizer"] = optimizer
        meta["optimizer_step"] = "7"
    if train:
        cfg = {
            "network": {"layers": layers, "output": "sigmoid", "cost": "quadratic", "init": "normal"},
            "eta": 3.0, "lambda": 0.0, "batch_size": 10, "epochs": 30,
            "optimizer": {"kind": optimizer, "momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
            "schedule": {"kind": "step", "every": 10, "factor": 0.5},
            "early_stop": None, "seed": 1,
            "monitor": {"train_cost": True, "train_accuracy": False, "validation_cost": False,
                        "validation_accuracy": True, "test_cost": False, "test_accuracy": True},
        }
        progress = {"epoch": 2, "eta": 3.0, "best_validation_accuracy": 0.5, "best_epoch": 2,
                    "epochs_without_improvement": 0, "eta_divisions": 0}
        meta["train_config"] = json.dumps(cfg)
        meta["progress"] = json.dumps(progress)
    return safetensors(tensors, meta)


def checkpoint_seeds():
    put("checkpoint", "model", checkpoint([3, 2]))
    put("checkpoint", "sgd", checkpoint([2, 3, 2], "sgd", (), True))
    put("checkpoint", "momentum", checkpoint([2, 2], "momentum", ("velocity",), True))
    put("checkpoint", "adam", checkpoint([2, 1, 2], "adam", ("m", "v"), True))


def image_seeds():
    """Small PNGs and JPEGs (grey, RGBA, 16-bit, colour) kept with the regression inputs."""
    kept = os.path.join(HERE, "..", "tests", "fuzz_regressions", "image")
    for name in sorted(os.listdir(kept)):
        if name.startswith("seed-"):
            with open(os.path.join(kept, name), "rb") as f:
                put("image", name[len("seed-"):], f.read())


if __name__ == "__main__":
    idx_seeds()
    checkpoint_seeds()
    image_seeds()
