"""The table for BENCHMARKS.md from one run of benches/device/run.sh: every `gpu-mlp bench`
result (bench.jsonl) and every PyTorch mode (torch-CONFIG.json) of the same run, and issue 10's two
aims on a real GPU, each from figures of this one run:

- nielsen at >= 10x PyTorch eager's epoch for one network (gpu-mlp's faster kernels, one
  network, against eager PyTorch by hand and with autograd);
- 24 seeds in less time than PyTorch eager takes for one network.

    python3 benches/device/summary.py OUT      # OUT: the folder run.sh wrote
"""
import json
import os
import statistics
import sys


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    bench = []
    with open(os.path.join(out, "bench.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                bench.extend(json.loads(line))
    torch_rows = []
    for cfg in ("nielsen", "network2"):
        path = os.path.join(out, f"torch-{cfg}.json")
        if os.path.exists(path):
            torch_rows += json.load(open(path))
        else:
            print(f"(no {path}: PyTorch's {cfg} did not run or was cut off before its first mode)")

    # Repeated lines (the fused single network runs twice a config) keep every figure.
    ours = {}
    for r in bench:
        kernels = "fused" if "fused" in r["backend"] else "per-layer"
        key = (r["config"], kernels, r["members"])
        ours.setdefault(key, []).append(r)
    print("| config | path | members | s/epoch (runs) | s per member-epoch | dispatches/epoch |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for (config, kernels, members), rs in sorted(ours.items()):
        runs = [t for r in rs for t in r["runs"]]
        med = statistics.median(runs)
        disp = ", ".join(str(r.get("dispatches_per_epoch", "?")) for r in rs)
        print(f"| {config} | gpu-mlp {kernels} | {members} | {med:.4f} "
              f"({', '.join(f'{t:.4f}' for t in runs)}) | {med / members:.5f} | {disp} |")
    theirs = {}
    for r in torch_rows:
        if "error" in r:
            print(f"| {r['config']} | PyTorch {r['mode']} | {r['members']} | failed: "
                  f"{r['error']} | | |")
            continue
        theirs[(r["config"], r["mode"], r["members"])] = r
        print(f"| {r['config']} | PyTorch {r['mode']} | {r['members']} | "
              f"{r['seconds_per_epoch']:.4f} ({', '.join(f'{t:.4f}' for t in r['epochs'])}) | "
              f"{r['seconds_per_member_epoch']:.5f} | test {100 * r['test_accuracy']:.2f}% |")
    print()
    if bench:
        print(f"adapter: {bench[0]['backend']}; processor: {bench[0].get('processor', '?')}")
        if "(cpu)" in bench[0]["backend"]:
            print("warning: a software adapter: these are not a GPU's figures")
        sizes = {r.get("train_images") for r in bench} | {r.get("train_size") for r in torch_rows
                                                         if "error" not in r}
        if len(sizes - {None}) > 1:
            print(f"warning: the runs trained on different numbers of images: {sorted(sizes - {None})}")
    if torch_rows:
        print(f"PyTorch {torch_rows[0].get('torch', '?')} on {torch_rows[0].get('device', '?')}")
    print()
    for config in sorted({k[0] for k in ours}):
        solo = [statistics.median([t for r in ours[k] for t in r["runs"]])
                for k in ours if k[0] == config and k[2] == 1]
        many = [statistics.median([t for r in ours[k] for t in r["runs"]])
                for k in ours if k[0] == config and k[2] == 24]
        for mode in ("eager", "eager-autograd"):
            t = theirs.get((config, mode, 1))
            if not t or not solo:
                continue
            eager = t["seconds_per_epoch"]
            print(f"{config}: PyTorch {mode} {eager:.4f} s/epoch; gpu-mlp's best single "
                  f"network {min(solo):.4f} s: {eager / min(solo):.1f}x (aim >= 10x)")
            if many:
                print(f"{config}: gpu-mlp 24 members {min(many):.4f} s/epoch against PyTorch "
                      f"{mode}'s one network {eager:.4f} s: "
                      f"{'met' if min(many) < eager else 'not met'} (aim: less)")


if __name__ == "__main__":
    main()
