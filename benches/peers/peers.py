"""gpu-mlp's CPU path measured side by side with PyTorch and numpy, on the machine it runs on.

Trains the three `gpu-mlp bench` configurations with

- gpu-mlp:          `gpu-mlp bench --backend cpu --configs X --runs R --json`
- torch (manual):   PyTorch, the same hand-written backprop as gpu-mlp, under `torch.no_grad()`
- torch (autograd): PyTorch, `loss.backward()` and `torch.optim.SGD`
- numpy:            the same hand-written backprop in numpy (its BLAS: OpenBLAS from PyPI)

all with gpu-mlp's math, in f32, from one start: every peer reads its initial weights from the
checkpoint `gpu-mlp train ... --epochs 0 --save` writes for the configuration's seed, which are
the weights `bench` starts from.

    batch-major, m samples per mini-batch, n = 50,000 training images:
    z = a·Wᵀ + b;  a = σ(z) in hidden layers; the output is σ (nielsen, network2) or softmax (wide)
    δᴸ = (a − y) ⊙ a(1 − a) (quadratic, nielsen)  or  a − y (cross-entropy, network2 and wide)
    δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ aˡ(1 − aˡ);  ∂W = δᵀ·a_prev,  ∂b = Σ_rows δ
    W ← W − η(∂W/m + (λ/n)W),  b ← b − η ∂b/m   (λ = 5 for network2, else 0)

An epoch is timed as `bench` times it: the mini-batch updates over one shuffled order, the
gather of each batch's images included, the shuffle and the evaluation not. Every timed run is
a separate process (gpu-mlp's, and one per peer), and the runs alternate, A B C D then D C B A,
round after round, so that a machine whose load changes treats all of them alike; each cell is
the median over all the epochs of all rounds, and each ratio is formed from cells of this one
run of the script. gpu-mlp runs with its default, one thread per core; each peer runs with
every thread count of --peer-threads (default: 1 and the core count), and the best peer is the
fastest of them all: on a shared 2-core machine, OpenMP's and OpenBLAS's spinning workers can
lose several-fold to a second process, and one thread is then their better setting.

    python3 -m venv /work/venv-peers
    /work/venv-peers/bin/pip install numpy torch
    cargo build --release
    /work/venv-peers/bin/python benches/peers/peers.py --rounds 2 --runs 3

Not run by CI (PyTorch from PyPI is several GB). Needs numpy; torch for the torch columns
(without it they are left out). See BENCHMARKS.md.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))

# The bench configurations (src/cli.rs, BenchConfig), as `train` flags that give the same start.
CONFIGS = {
    "nielsen": dict(layers=[784, 30, 10], output="sigmoid", cost="quadratic", init="normal",
                    eta=3.0, lam=0.0, batch=10),
    "network2": dict(layers=[784, 100, 10], output="sigmoid", cost="cross-entropy",
                     init="scaled", eta=0.5, lam=5.0, batch=10),
    "wide": dict(layers=[784, 1024, 1024, 10], output="softmax", cost="cross-entropy",
                 init="scaled", eta=0.1, lam=0.0, batch=256),
}
SEED = 1  # the presets' seed, which `bench` starts from
PEERS = ["torch-manual", "torch-autograd", "numpy"]
LABELS = {
    "gpu-mlp": "gpu-mlp `--backend cpu`",
    "torch-manual": "PyTorch by hand",
    "torch-autograd": "PyTorch autograd+optim",
    "numpy": "numpy",
}


def label(contender):
    """'numpy/2' → 'numpy, 2 threads'."""
    name, _, threads = contender.partition("/")
    if not threads:
        return LABELS[name]
    return f"{LABELS[name]}, {threads} thread{'s' if threads != '1' else ''}"


def read_safetensors(path):
    """The f32 tensors of a safetensors file, as numpy arrays (the format: an 8-byte
    little-endian header length, a JSON header of dtype/shape/offsets, then the raw data)."""
    import numpy as np

    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {t['dtype']}, expected F32")
        lo, hi = t["data_offsets"]
        out[name] = np.frombuffer(raw[base + lo:base + hi], dtype="<f4").reshape(t["shape"]).copy()
    return out


def load_data(data_dir, train_size):
    import mnist_idx
    import numpy as np

    x = mnist_idx.images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))[:train_size]
    y = mnist_idx.labels(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))[:train_size]
    xt = mnist_idx.images(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
    yt = mnist_idx.labels(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"))
    # pixel/255 in f32, as gpu-mlp's gather computes it
    scale = np.float32(1.0) / np.float32(255.0)
    return (x.astype(np.float32) * scale, y.astype(np.int64),
            xt.astype(np.float32) * scale, yt.astype(np.int64))


# ---------------------------------------------------------------------------------------------
# The workers: one process per timed run.

def worker_numpy(cfg, weights, data, runs, seed, budget):
    import numpy as np

    x, y, xt, yt = data
    W = [w for w, _ in weights]
    B = [b for _, b in weights]
    n = len(x)
    eta, decay, m_full = np.float32(cfg["eta"]), np.float32(cfg["lam"] / n), cfg["batch"]
    eye = np.eye(cfg["layers"][-1], dtype=np.float32)
    one = np.float32(1.0)

    def sigmoid(z):
        with np.errstate(over="ignore"):
            return one / (one + np.exp(-z))

    def forward(a):
        acts = [a]
        for l, (w, b) in enumerate(zip(W, B)):
            z = a @ w.T
            z += b
            if l < len(W) - 1 or cfg["output"] == "sigmoid":
                a = sigmoid(z)
            else:
                z -= z.max(axis=1, keepdims=True)
                np.exp(z, out=z)
                z /= z.sum(axis=1, keepdims=True)
                a = z
            acts.append(a)
        return acts

    rng = np.random.default_rng(seed)
    times = []
    for _ in range(runs):
        order = rng.permutation(n)
        t = time.perf_counter()
        for s in range(0, n, m_full):
            idx = order[s:s + m_full]
            m = len(idx)
            acts = forward(x[idx])
            a = acts[-1]
            delta = a - eye[y[idx]]
            if cfg["cost"] == "quadratic":
                delta *= a * (one - a)
            for l in range(len(W) - 1, -1, -1):
                gw = delta.T @ acts[l]
                gb = delta.sum(axis=0)
                if l > 0:
                    a_l = acts[l]
                    delta = (delta @ W[l]) * (a_l * (one - a_l))
                inv_m = np.float32(1.0 / m)
                if decay != 0:
                    gw *= inv_m
                    gw += decay * W[l]
                    W[l] -= eta * gw
                else:
                    W[l] -= (eta * inv_m) * gw
                B[l] -= (eta * inv_m) * gb
        times.append(time.perf_counter() - t)
        if sum(times) >= budget:
            break
    acc = float((forward(xt)[-1].argmax(axis=1) == yt).mean())
    return times, acc


def worker_torch(cfg, weights, data, runs, seed, threads, autograd, budget):
    import torch

    torch.set_num_threads(threads)
    x, y, xt, yt = (torch.from_numpy(a) for a in data)
    n = len(x)
    eta, decay, m_full = cfg["eta"], cfg["lam"] / n, cfg["batch"]
    classes = cfg["layers"][-1]
    W = [torch.from_numpy(w).clone() for w, _ in weights]
    B = [torch.from_numpy(b).clone() for _, b in weights]
    eye = torch.eye(classes, dtype=torch.float32)
    last = len(W) - 1

    def forward(a):
        acts = [a]
        for l in range(len(W)):
            z = torch.addmm(B[l], a, W[l].t())
            if l < last or cfg["output"] == "sigmoid":
                a = torch.sigmoid(z)
            else:
                a = torch.softmax(z, dim=1)
            acts.append(a)
        return acts

    gen = torch.Generator().manual_seed(seed)
    times = []
    if autograd:
        for t_ in W + B:
            t_.requires_grad_(True)
        # weight decay λ/n on the weights only: g = ∂C/∂w + (λ/n)w, w ← w − ηg, as gpu-mlp
        opt = torch.optim.SGD([{"params": W, "weight_decay": decay},
                               {"params": B, "weight_decay": 0.0}], lr=eta)
        for _ in range(runs):
            order = torch.randperm(n, generator=gen)
            t = time.perf_counter()
            for s in range(0, n, m_full):
                idx = order[s:s + m_full]
                m = len(idx)
                a = x[idx]
                for l in range(last):
                    a = torch.sigmoid(torch.addmm(B[l], a, W[l].t()))
                z = torch.addmm(B[last], a, W[last].t())
                # the mean over the batch of C: ½‖a − y‖², or cross-entropy on σ or softmax
                if cfg["cost"] == "quadratic":
                    loss = 0.5 * (torch.sigmoid(z) - eye[y[idx]]).pow(2).sum() / m
                elif cfg["output"] == "sigmoid":
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(
                        z, eye[y[idx]], reduction="sum") / m
                else:
                    loss = torch.nn.functional.cross_entropy(z, y[idx], reduction="sum") / m
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            times.append(time.perf_counter() - t)
            if sum(times) >= budget:
                break
        with torch.no_grad():
            acc = float((forward(xt)[-1].argmax(dim=1) == yt).float().mean())
        return times, acc

    with torch.no_grad():
        for _ in range(runs):
            order = torch.randperm(n, generator=gen)
            t = time.perf_counter()
            for s in range(0, n, m_full):
                idx = order[s:s + m_full]
                m = len(idx)
                acts = forward(x[idx])
                a = acts[-1]
                delta = a - eye[y[idx]]
                if cfg["cost"] == "quadratic":
                    delta.mul_(a * (1.0 - a))
                for l in range(last, -1, -1):
                    gw = delta.t() @ acts[l]
                    gb = delta.sum(dim=0)
                    if l > 0:
                        a_l = acts[l]
                        delta = (delta @ W[l]).mul_(a_l * (1.0 - a_l))
                    if decay != 0:
                        gw.mul_(1.0 / m).add_(W[l], alpha=decay)
                        W[l].sub_(gw, alpha=eta)
                    else:
                        W[l].sub_(gw, alpha=eta / m)
                    B[l].sub_(gb, alpha=eta / m)
            times.append(time.perf_counter() - t)
            if sum(times) >= budget:
                break
        acc = float((forward(xt)[-1].argmax(dim=1) == yt).float().mean())
    return times, acc


def run_worker(args):
    import numpy as np

    cfg = CONFIGS[args.config]
    tensors = read_safetensors(args.init)
    weights = [(tensors[f"layers.{l}.weight"], tensors[f"layers.{l}.bias"])
               for l in range(len(cfg["layers"]) - 1)]
    for l, (w, b) in enumerate(weights):
        want = (cfg["layers"][l + 1], cfg["layers"][l])
        if w.shape != want or b.shape != (want[0],):
            raise SystemExit(f"{args.init}: layer {l} is {w.shape}, expected {want}")
    data = load_data(args.data_dir, args.train_size)
    if args.worker == "numpy":
        times, acc = worker_numpy(cfg, weights, data, args.runs, SEED, args.budget)
    else:
        times, acc = worker_torch(cfg, weights, data, args.runs, SEED, args.threads,
                                  autograd=args.worker == "torch-autograd",
                                  budget=args.budget)
    versions = {"numpy": np.__version__}
    if args.worker.startswith("torch"):
        import torch
        versions["torch"] = torch.__version__
    print(json.dumps({"times": times, "test_accuracy": acc, "versions": versions}))


# ---------------------------------------------------------------------------------------------
# The driver.

def processor():
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    if "avx512f" in flags:
        isa = "AVX-512F"
    elif "avx2" in flags and "fma" in flags:
        isa = "AVX2+FMA"
    else:
        isa = "no AVX2"
    return model, isa


def load_average():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def make_start(binary, name, path, data_args):
    c = CONFIGS[name]
    cmd = [binary, "train", "--backend", "cpu", "--quiet", "--preset", "nielsen",
           "--layers", ",".join(map(str, c["layers"])), "--output", c["output"],
           "--cost", c["cost"], "--init", c["init"], "--eta", str(c["eta"]),
           "--lambda", str(c["lam"]), "--batch-size", str(c["batch"]), "--seed", str(SEED),
           "--epochs", "0", "--save", path] + data_args
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def run_gpu_mlp(binary, name, runs, threads, data_args):
    out = subprocess.run([binary, "bench", "--backend", "cpu", "--configs", name, "--runs",
                          str(runs), "--threads", str(threads), "--json", "--quiet"] + data_args,
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)[0]
    return result["runs"], result.get("cpu_kernels", "?")


def run_peer(contender, name, start, args):
    peer, _, threads = contender.partition("/")
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
               MKL_NUM_THREADS=threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", peer, "--config", name,
           "--init", start, "--runs", str(args.runs), "--threads", threads,
           "--data-dir", args.data_dir, "--train-size", str(args.train_size),
           "--budget", str(args.budget)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def fmt_cell(times):
    med = statistics.median(times)
    return f"{med:.3f} ({min(times):.2f}–{max(times):.2f}, {len(times)})"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gpu-mlp", default=os.path.join(ROOT, "target", "release", "gpu-mlp"),
                   help="the gpu-mlp binary (default: target/release/gpu-mlp)")
    p.add_argument("--configs", default="nielsen,network2,wide")
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    p.add_argument("--runs", type=int, default=3, help="timed epochs per run (default 3)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="gpu-mlp's threads (default: one per logical CPU)")
    p.add_argument("--peer-threads", default=None,
                   help="thread counts to run each peer with, comma-separated "
                        "(default: 1 and --threads)")
    p.add_argument("--data-dir", default=os.path.join(ROOT, "data", "mnist"))
    p.add_argument("--train-size", type=int, default=50_000)
    p.add_argument("--budget", type=float, default=60.0,
                   help="a peer's run stops after the epoch that takes its timed total past "
                        "this many seconds (default 60; at least one epoch is timed)")
    p.add_argument("--json", metavar="PATH", help="also write every timing to PATH")
    # internal: one timed run of one peer
    p.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--init", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return run_worker(args)

    configs = [c for c in args.configs.split(",") if c]
    peers = [q for q in args.peers.split(",") if q]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown config {c!r}; choose from {', '.join(CONFIGS)}")
    for q in peers:
        if q not in PEERS:
            raise SystemExit(f"unknown peer {q!r}; choose from {', '.join(PEERS)}")
    if any(q.startswith("torch") for q in peers):
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch is not installed: its columns are left out", file=sys.stderr)
            peers = [q for q in peers if not q.startswith("torch")]
    if not os.access(args.gpu_mlp, os.X_OK):
        raise SystemExit(f"{args.gpu_mlp} is not an executable; run `cargo build --release` "
                         "or pass --gpu-mlp")
    data_args = ["--data-dir", args.data_dir, "--train-size", str(args.train_size)]
    model, isa = processor()
    load_before = load_average()
    peer_threads = sorted({int(t) for t in (args.peer_threads or f"1,{args.threads}").split(",")})
    peers = [f"{q}/{t}" for q in peers for t in peer_threads]
    contenders = ["gpu-mlp"] + peers
    times = {c: {k: [] for k in contenders} for c in configs}
    accuracy = {c: {} for c in configs}
    versions, kernels = {}, "?"
    with tempfile.TemporaryDirectory() as tmp:
        starts = {}
        for c in configs:
            starts[c] = os.path.join(tmp, f"{c}-epoch0.safetensors")
            make_start(args.gpu_mlp, c, starts[c], data_args)
        for r in range(args.rounds):
            for c in configs:
                order = contenders if r % 2 == 0 else contenders[::-1]
                for k in order:
                    if k == "gpu-mlp":
                        t, kernels = run_gpu_mlp(args.gpu_mlp, c, args.runs, args.threads,
                                                 data_args)
                    else:
                        res = run_peer(k, c, starts[c], args)
                        t = res["times"]
                        accuracy[c][k] = res["test_accuracy"]
                        versions.update(res["versions"])
                    times[c][k].extend(t)
                    print(f"round {r + 1} {c:<8} {k:<15} " + " ".join(f"{v:.3f}" for v in t),
                          file=sys.stderr, flush=True)
    load_after = load_average()

    print(f"processor: {model} ({isa}; gpu-mlp's kernels: {kernels}), "
          f"{os.cpu_count()} logical CPUs; gpu-mlp {args.threads} threads, peers "
          + " and ".join(map(str, peer_threads)))
    print(f"versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    print(f"load average before: {load_before}; after: {load_after}")
    print(f"seconds per {args.train_size}-image epoch, median (range, epochs timed) over "
          f"{args.rounds} alternating rounds of {args.runs} epochs (a peer's run stops early "
          f"past {args.budget:g} s)")
    print()
    head = ["config"] + [label(k) for k in contenders] + ["gpu-mlp / best peer"]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    for c in configs:
        meds = {k: statistics.median(v) for k, v in times[c].items()}
        best = min((meds[k], k) for k in peers) if peers else None
        cells = [fmt_cell(times[c][k]) for k in contenders]
        ratio = f"**{meds['gpu-mlp'] / best[0]:.2f}** (vs {label(best[1])})" if best else "—"
        L = CONFIGS[c]["layers"]
        print(f"| {c} {'-'.join(map(str, L))}, batch {CONFIGS[c]['batch']} | "
              + " | ".join(cells) + f" | {ratio} |")
    if any(accuracy[c] for c in configs):
        print()
        print(f"peers' test accuracy after their last run of {args.runs} epochs (a check that "
              "they train): " + "; ".join(
                  f"{c} " + ", ".join(f"{label(k)} {100 * a:.2f}%" for k, a in accuracy[c].items())
                  for c in configs))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"processor": model, "isa": isa, "kernels": kernels,
                       "versions": versions, "load_before": load_before,
                       "load_after": load_after, "times": times, "accuracy": accuracy}, f,
                      indent=1)


if __name__ == "__main__":
    main()
