"""The textbook's network.py, transcribed independently in numpy, for seed sweeps of the nielsen
preset's final test accuracy (BENCHMARKS.md, "The nielsen preset across seeds").

Same math as `gpu-mlp train --preset nielsen`: 784-30-10, sigmoid layers, quadratic cost
C = ½‖y − a‖², δᴸ = (a − y) ⊙ σ'(zᴸ), δˡ = (Wˡ⁺¹)ᵀδˡ⁺¹ ⊙ σ'(zˡ), W ← W − (η/m) Σ δ aᵀ with
η = 3.0 and m = 10, 30 epochs over the first 50,000 training images shuffled each epoch, pixels
divided by 255, weights and biases N(0, 1). It shares no code with gpu-mlp, and runs in f64
like the textbook's numpy code (or f32 with --dtype f32).

    python3 benches/python/nielsen_textbook.py --seeds 1-24
    python3 benches/python/nielsen_textbook.py --seeds 1-8 --init torch   # PyTorch's nn.Linear init

Needs numpy. Each seed takes about 15 s on one core.
"""
import argparse
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "python"))
import mnist_idx  # noqa: E402


def seed_list(text):
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def sigmoid(z):
    # σ(z) = 1/(1 + e^(−z)), written through tanh so that large |z| does not overflow e^(−z).
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def train(seed, args, data):
    dtype = np.float64 if args.dtype == "f64" else np.float32
    x_train, y_train, x_test, y_test = (
        data[0].astype(dtype) / dtype(args.scale),
        data[1],
        data[2].astype(dtype) / dtype(args.scale),
        data[3],
    )
    rng = np.random.default_rng(seed)
    sizes = [784, 30, 10]
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if args.init == "normal":
            weights.append(rng.standard_normal((n_out, n_in)).astype(dtype))
            biases.append(rng.standard_normal(n_out).astype(dtype))
        else:  # PyTorch's nn.Linear default: U(−1/√n_in, 1/√n_in) for weights and biases
            bound = 1.0 / np.sqrt(n_in)
            weights.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype))
            biases.append(rng.uniform(-bound, bound, n_out).astype(dtype))
    one_hot = np.eye(10, dtype=dtype)
    eta, m, n = dtype(args.eta), args.batch_size, len(x_train)
    for _ in range(args.epochs):
        order = rng.permutation(n)
        for k in range(0, n, m):
            batch = order[k:k + m]
            a0, y = x_train[batch], one_hot[y_train[batch]]
            a1 = sigmoid(a0 @ weights[0].T + biases[0])
            a2 = sigmoid(a1 @ weights[1].T + biases[1])
            d2 = (a2 - y) * a2 * (1 - a2)  # BP1
            d1 = (d2 @ weights[1]) * a1 * (1 - a1)  # BP2
            weights[1] -= eta / len(batch) * (d2.T @ a1)  # BP4, summed over the batch
            biases[1] -= eta / len(batch) * d2.sum(0)  # BP3
            weights[0] -= eta / len(batch) * (d1.T @ a0)
            biases[0] -= eta / len(batch) * d1.sum(0)
    out = sigmoid(sigmoid(x_test @ weights[0].T + biases[0]) @ weights[1].T + biases[1])
    return float((out.argmax(1) == y_test).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=seed_list, default=seed_list("1-24"))
    p.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    p.add_argument("--scale", type=float, default=255.0, help="pixel divisor")
    p.add_argument("--init", choices=["normal", "torch"], default="normal")
    p.add_argument("--train-size", type=int, default=50_000)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--eta", type=float, default=3.0)
    p.add_argument("--batch-size", type=int, default=10)
    here = os.path.dirname(__file__)
    p.add_argument("--data-dir", default=os.path.join(here, "..", "..", "data", "mnist"))
    args = p.parse_args()
    d = args.data_dir
    data = (
        mnist_idx.images(os.path.join(d, "train-images-idx3-ubyte.gz"))[:args.train_size],
        mnist_idx.labels(os.path.join(d, "train-labels-idx1-ubyte.gz"))[:args.train_size],
        mnist_idx.images(os.path.join(d, "t10k-images-idx3-ubyte.gz")),
        mnist_idx.labels(os.path.join(d, "t10k-labels-idx1-ubyte.gz")),
    )
    finals = []
    for seed in args.seeds:
        acc = train(seed, args, data)
        finals.append(acc)
        print(f"seed {seed}: final test accuracy {100 * acc:.2f}%", flush=True)
    if len(finals) > 1:
        print(
            f"{len(finals)} seeds: mean {100 * statistics.mean(finals):.2f}%, "
            f"median {100 * statistics.median(finals):.2f}%, "
            f"sd {100 * statistics.stdev(finals):.2f} points, "
            f"{sum(a >= 0.95 for a in finals)} of {len(finals)} at 95.0% or more"
        )


if __name__ == "__main__":
    main()
