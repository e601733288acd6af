#!/usr/bin/env bash
# The one prepared script for a device machine with a real GPU (the `device` tool's `run`),
# about 5 minutes: which adapters wgpu sees, the self-test on them, then `gpu-mlp bench
# --backend vulkan` (per-layer and fused kernels; 1, 8 and 24 members) beside PyTorch on the
# same GPU (eager, eager with autograd, CUDA graphs, and a torch.func vmap ensemble of 8 and
# 24 seeds: benches/device/torch_cuda.py), config by config, so that both sides run in one
# run on one machine. Nothing of it is needed by CI or the tests.
#
#   benches/device/run.sh BIN OUT
#
# BIN: a gpu-mlp binary built on this (x86-64) machine; OUT: where the results go (the
# device tool's $OUT). It writes six files, as the tool brings back at most eight: log.txt
# (every command, its exit status, and PyTorch's printed lines), devices.txt, selftest.json,
# bench.jsonl (one `bench --json` result per line), torch-nielsen.json and torch-network2.json
# (each written again after every mode, so that a cut-short run keeps what it measured). Setting up, here, before the run (from the
# repository's root):
#
#   cargo build --release && mkdir -p .device && cp target/release/gpu-mlp .device/ &&
#     strip .device/gpu-mlp && echo /.device/ >> .git/info/exclude
#   # and the Vulkan loader, as the device tool's README says, into .gl (also excluded)
#
# then `run` with carry [".device", ".gl"] and the command
#   benches/device/run.sh .device/gpu-mlp "$OUT"
# with a timeout_s of about 540. Every step has its own time limit, and none runs past
# RUN_BUDGET seconds (default 480) from the start, so that a step that hangs leaves the others
# their time and the whole ends inside the call's limit. To try the script on a machine without a GPU (lavapipe and
# PyTorch on the CPU), shrink the work:
#   SELFTEST_ARGS=--quick BENCH_RUNS=1 BENCH_ARGS="--train-size 500" \
#     TORCH_ARGS="--device cpu --train-size 500 --modes eager,eager-autograd,vmap" \
#     benches/device/run.sh target/release/gpu-mlp /tmp/device-out
set -u
BIN=${1:?usage: benches/device/run.sh BIN OUT}
OUT=${2:?usage: benches/device/run.sh BIN OUT}
mkdir -p "$OUT"
LOG="$OUT/log.txt"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} PYTHONUNBUFFERED=1
read -r -a SELFTEST_EXTRA <<<"${SELFTEST_ARGS:-}"
read -r -a BENCH_EXTRA <<<"${BENCH_ARGS:-}"
BENCH_RUNS=${BENCH_RUNS:-3}
read -r -a TORCH_EXTRA <<<"${TORCH_ARGS:-}"

# The Vulkan loader carried in .gl, and NVIDIA's driver manifest where the loader does not
# find one by itself.
if compgen -G ".gl/*.deb" >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$NV_ICD" ] && ! compgen -G "/usr/share/vulkan/icd.d/nvidia*" >/dev/null \
  && ! compgen -G "/etc/vulkan/icd.d/nvidia*" >/dev/null; then
  export VK_DRIVER_FILES=$NV_ICD
fi

# step LIMIT FILE COMMAND...: runs COMMAND for at most LIMIT seconds and never past the
# deadline (a step with under 5 s left is skipped), its stdout appended to FILE (under OUT),
# its stderr and exit status to the log.
DEADLINE=$((SECONDS + ${RUN_BUDGET:-480}))
step() {
  local limit=$1 file=$2
  shift 2
  local left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 5 ]; then
    echo "== skipped (the run's budget is spent): $*" >>"$LOG"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $(date +%T) (limit ${limit} s) $*" >>"$LOG"
  timeout -k 5 "$limit" "$@" >>"$OUT/$file" 2>>"$LOG"
  echo "   exit $? at $(date +%T)" >>"$LOG"
}

echo "processor: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)" >>"$LOG"
step 20 log.txt nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
step 60 log.txt python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())'

step 30 devices.txt "$BIN" devices
step 150 selftest.json "$BIN" selftest --backend vulkan --json "${SELFTEST_EXTRA[@]}"

# Per configuration: gpu-mlp's kernels, then PyTorch's modes, then gpu-mlp's fused single
# network again (the figure the aim compares), so that a change in the machine shows.
for cfg in nielsen network2; do
  for kernels in per-layer fused; do
    for members in 1 8 24; do
      step 90 bench.jsonl "$BIN" bench --backend vulkan --configs "$cfg" --kernels "$kernels" \
        --members "$members" --runs "$BENCH_RUNS" --json --quiet "${BENCH_EXTRA[@]}"
    done
  done
  step 150 log.txt python3 benches/device/torch_cuda.py --configs "$cfg" \
    --members 8,24 --epochs 3 --budget 15 --json "$OUT/torch-$cfg.json" \
    "${TORCH_EXTRA[@]}"
  step 60 bench.jsonl "$BIN" bench --backend vulkan --configs "$cfg" --kernels fused \
    --members 1 --runs "$BENCH_RUNS" --json --quiet "${BENCH_EXTRA[@]}"
done
echo "== done $(date +%T)" >>"$LOG"
