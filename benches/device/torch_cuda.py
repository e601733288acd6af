"""PyTorch training the bench configurations on a GPU, as people train them instead of gpu-mlp:
eagerly, with CUDA graphs, and as a `torch.func.vmap` ensemble of many seeds.

What it trains is `gpu-mlp bench`'s work (src/cli/train.rs, BenchConfig): one epoch of
mini-batch SGD over the first 50,000 MNIST training images in a shuffled order, each batch's
images gathered from the whole set on the device, with gpu-mlp's math in f32:

    z = a·Wᵀ + b;  a = σ(z);  δᴸ = (a − y) ⊙ a(1 − a) (quadratic)  or  a − y (cross-entropy)
    δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ aˡ(1 − aˡ);  ∂W = δᵀ·a_prev,  ∂b = Σ_rows δ
    W ← W − η(∂W/m + (λ/n)W),  b ← b − η ∂b/m

The modes:

- eager:          that backprop by hand, one network, one kernel launch per operation;
- eager-autograd: `loss.backward()` and `torch.optim.SGD`, one network (what most people write);
- graphs:         the by-hand step captured as a CUDA graph of GRAPH_STEPS steps, replayed;
- vmap:           `torch.func.vmap` of the by-hand step over N members (seeds 1..N), each with
                  its own sample order, eagerly;
- vmap-graphs:    the same vmap step captured as a CUDA graph of GRAPH_STEPS steps.

An epoch is timed from its first step's launch to the device's finishing its last (a
synchronize); the shuffle and the evaluation are outside it, as in `bench`. The graph modes
capture their graph before the first epoch; the first epoch of each mode is a warm-up
(allocator, cuBLAS handles, the first replays) and is not counted; the median of the rest is
reported, with the test accuracy after them as a check that it trained.
Initial weights come from torch's generator (N(0,1) for nielsen, N(0, 1/fan-in) for network2),
not from gpu-mlp's: accuracy here says the run trained, not that it matches gpu-mlp's bits.

    python3 benches/device/torch_cuda.py --json torch.json        # on a machine with CUDA
    python3 benches/device/torch_cuda.py --device cpu --train-size 2000 --epochs 2   # a smoke test

benches/device/run.sh runs it beside `gpu-mlp bench --backend vulkan`; see BENCHMARKS.md.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

sys.path.insert(0, os.path.join(ROOT, "benches", "peers"))

from peers import CONFIGS as BENCH_CONFIGS, load_data  # noqa: E402  (the bench configurations)

# The configurations with a sigmoid output, which the by-hand step below computes.
CONFIGS = {k: v for k, v in BENCH_CONFIGS.items() if v["output"] == "sigmoid"}
MODES = ["eager", "eager-autograd", "graphs", "vmap", "vmap-graphs"]
# Steps per captured graph: 500 steps of nielsen are about 7,500 kernels; an epoch of 5,000
# steps is then 10 replays, each after one copy of the next 500 batches' indices.
GRAPH_STEPS = 500


def load(data_dir, train_size, device):
    """peers.py's data (pixel/255 in f32, as gpu-mlp's gather), on `device`."""
    import torch

    return tuple(torch.from_numpy(a).to(device) for a in load_data(data_dir, train_size))


def init(cfg, seed, device):
    import torch

    g = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(cfg["layers"], cfg["layers"][1:]):
        sd = 1.0 if cfg["init"] == "normal" else fan_in ** -0.5
        params.append(torch.randn(fan_out, fan_in, generator=g).mul_(sd).to(device))
        params.append(torch.randn(fan_out, generator=g).to(device))
    return params


def step_fn(cfg, n):
    """One mini-batch step by hand on one network: (params, x [m, in], one-hot y [m, classes])
    -> new params. Written without in-place updates of its inputs, so that vmap can batch it."""
    import torch

    eta, decay = cfg["eta"], cfg["lam"] / n
    quadratic = cfg["cost"] == "quadratic"
    layers = len(cfg["layers"]) - 1

    def step(params, xb, yb):
        m = xb.shape[0]
        acts = [xb]
        a = xb
        for l in range(layers):
            a = torch.sigmoid(a @ params[2 * l].t() + params[2 * l + 1])
            acts.append(a)
        delta = a - yb
        if quadratic:
            delta = delta * (a * (1.0 - a))
        new = list(params)
        for l in range(layers - 1, -1, -1):
            w, b = params[2 * l], params[2 * l + 1]
            gw = delta.t() @ acts[l]
            gb = delta.sum(dim=0)
            if l > 0:
                a_l = acts[l]
                delta = (delta @ w) * (a_l * (1.0 - a_l))
            new[2 * l] = w - eta * (gw / m + decay * w) if decay else w - (eta / m) * gw
            new[2 * l + 1] = b - (eta / m) * gb
        return new

    return step


def accuracy(cfg, params, xt, yt):
    import torch

    with torch.no_grad():
        a = xt
        for l in range(len(cfg["layers"]) - 1):
            a = torch.sigmoid(a @ params[2 * l].t() + params[2 * l + 1])
        return float((a.argmax(dim=1) == yt).float().mean())


def sync(device):
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_mode(mode, cfg, data, members, epochs, device, budget):
    """Seconds per epoch of each epoch after the warm-up, and the test accuracy (the median
    over members for an ensemble) after the last."""
    import torch

    x, labels, xt, yt = data
    n, m = len(x), cfg["batch"]
    y = torch.eye(cfg["layers"][-1], device=device)[labels]  # one-hot targets
    if n % m:
        raise RuntimeError(f"{n} images do not split into batches of {m}")
    steps = n // m  # 50,000 / 10: every batch full
    step = step_fn(cfg, n)
    gen = torch.Generator(device=device).manual_seed(1)
    ensemble = mode.startswith("vmap")
    count = members if ensemble else 1
    starts = [init(cfg, seed, device) for seed in range(1, count + 1)]
    times = []

    if mode == "eager-autograd":
        params = [p.clone().requires_grad_(True) for p in starts[0]]
        weights, biases = params[0::2], params[1::2]
        opt = torch.optim.SGD([{"params": weights, "weight_decay": cfg["lam"] / n},
                               {"params": biases, "weight_decay": 0.0}], lr=cfg["eta"])
        for e in range(epochs):
            order = torch.randperm(n, generator=gen, device=device)
            sync(device)
            t = time.perf_counter()
            for s in range(steps):
                idx = order[s * m:(s + 1) * m]
                a = x[idx]
                for l in range(len(weights)):
                    z = a @ weights[l].t() + biases[l]
                    a = torch.sigmoid(z)
                if cfg["cost"] == "quadratic":
                    loss = 0.5 * (a - y[idx]).pow(2).sum() / m
                else:
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(
                        z, y[idx], reduction="sum") / m
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            sync(device)
            times.append(time.perf_counter() - t)
            if e >= 1 and sum(times) >= budget:
                break
        return times[1:], accuracy(cfg, [p.detach() for p in params], xt, yt)

    if ensemble:
        from torch.func import vmap

        params = [torch.stack([s[i] for s in starts]) for i in range(len(starts[0]))]
        batched = vmap(step)

        def one(ps, idx):  # idx [members, m]
            return batched(ps, x[idx], y[idx])
    else:
        params = [p.clone() for p in starts[0]]

        def one(ps, idx):  # idx [m]
            return step(ps, x[idx], y[idx])

    def orders():
        if ensemble:
            return torch.stack([torch.randperm(n, generator=gen, device=device)
                                for _ in range(count)])
        return torch.randperm(n, generator=gen, device=device)

    def batch(order, s):
        return order[..., s * m:(s + 1) * m]

    with torch.no_grad():
        if mode in ("eager", "vmap"):
            for e in range(epochs):
                order = orders()
                sync(device)
                t = time.perf_counter()
                for s in range(steps):
                    params = one(params, batch(order, s))
                sync(device)
                times.append(time.perf_counter() - t)
                if e >= 1 and sum(times) >= budget:
                    break
        else:
            if not device.startswith("cuda"):
                raise RuntimeError(f"--mode {mode} needs a CUDA device")
            chunk = min(GRAPH_STEPS, steps)
            if steps % chunk:
                raise RuntimeError(f"{steps} steps do not split into graphs of {chunk}")
            # Static buffers the graph reads and writes: the parameters, and the indices of
            # the next `chunk` batches (copied in before each replay).
            static = [p.clone() for p in params]
            order = orders()
            static_order = order[..., :chunk * m].clone()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-ups before capture, as CUDA graphs ask
                for _ in range(3):
                    one(static, batch(static_order, 0))
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=side):
                ps = static
                for s in range(chunk):
                    ps = one(ps, batch(static_order, s))
                for dst, src in zip(static, ps):
                    dst.copy_(src)
            for e in range(epochs):
                order = orders()
                sync(device)
                t = time.perf_counter()
                for c in range(steps // chunk):
                    static_order.copy_(order[..., c * chunk * m:(c + 1) * chunk * m])
                    graph.replay()
                sync(device)
                times.append(time.perf_counter() - t)
                if e >= 1 and sum(times) >= budget:
                    break
            params = static
    if ensemble:
        accs = [accuracy(cfg, [p[i] for p in params], xt, yt) for i in range(count)]
        return times[1:], statistics.median(accs)
    return times[1:], accuracy(cfg, params, xt, yt)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    p.add_argument("--device", default="cuda")
    p.add_argument("--configs", default="nielsen,network2")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--members", default="8,24",
                   help="ensemble sizes for the vmap modes, comma-separated")
    p.add_argument("--epochs", type=int, default=3, help="epochs per mode, the first a warm-up")
    p.add_argument("--train-size", type=int, default=50000)
    p.add_argument("--budget", type=float, default=20.0,
                   help="seconds per mode after which no further epoch starts")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()

    import torch

    if args.epochs < 2:
        raise SystemExit("--epochs must be at least 2: the first is a warm-up")
    data = load(args.data, args.train_size, args.device)
    name = (torch.cuda.get_device_name() if args.device.startswith("cuda")
            else f"cpu ({torch.get_num_threads()} threads)")
    rows = []
    for config in args.configs.split(","):
        cfg = CONFIGS[config]
        for mode in args.modes.split(","):
            sizes = [int(s) for s in args.members.split(",")] if mode.startswith("vmap") else [1]
            for members in sizes:
                try:
                    times, acc = run_mode(mode, cfg, data, members, args.epochs, args.device,
                                          args.budget)
                except Exception as e:  # one mode's failure leaves the others their turn
                    print(f"{config:9} {mode:15} {members:3} members  failed: {e!r}",
                          flush=True)
                    rows.append(dict(config=config, mode=mode, members=members,
                                     error=repr(e), device=name))
                    if args.json:
                        with open(args.json, "w") as f:
                            json.dump(rows, f, indent=1)
                    continue
                med = statistics.median(times)
                row = dict(config=config, mode=mode, members=members,
                           seconds_per_epoch=med, seconds_per_member_epoch=med / members,
                           epochs=times, test_accuracy=acc, device=name,
                           torch=torch.__version__, train_size=len(data[0]))
                rows.append(row)
                if args.json:  # after every mode: a run cut short keeps what it measured
                    with open(args.json, "w") as f:
                        json.dump(rows, f, indent=1)
                print(f"{config:9} {mode:15} {members:3} members  {med:8.3f} s/epoch  "
                      f"{med / members:8.4f} s per member-epoch  test {100 * acc:.2f}%",
                      flush=True)


if __name__ == "__main__":
    main()
