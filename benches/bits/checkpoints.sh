#!/usr/bin/env bash
# Usage: benches/bits/checkpoints.sh BINARY OUTDIR
# Sixteen 2-epoch checkpoints (8 configurations × CPU and GPU: SGD, momentum, Adam, AdaGrad and
# RMSprop, λ > 0, a step schedule, batches 7 and 32), then the SHA-256 of each file's tensors (metadata left out,
# tensor_sha.py). Run it with two builds and diff the lists: a change that should keep the bits
# keeps every line. BACKENDS="cpu vulkan" and GPU_KERNELS="--kernels per-layer" by default.
set -euo pipefail
B=$1; OUT=$2; mkdir -p "$OUT"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
GPU_KERNELS=${GPU_KERNELS---kernels per-layer}
run() { name=$1; shift; "$B" train --quiet --epochs 2 --train-size 10000 --save "$OUT/$name.safetensors" "$@" >/dev/null; }
for be in ${BACKENDS:-cpu vulkan}; do
  K=""; [ "$be" != cpu ] && K="$GPU_KERNELS"
  # shellcheck disable=SC2086
  {
  run "$be-nielsen-sgd" --backend "$be" $K --preset nielsen
  run "$be-n2-sgd" --backend "$be" $K --preset network2
  run "$be-n2-momentum" --backend "$be" $K --preset network2 --optimizer momentum --eta 0.1
  run "$be-n2-adam" --backend "$be" $K --preset network2 --optimizer adam --eta 0.001
  run "$be-soft-adam" --backend "$be" $K --layers 784,64,32,10 --output softmax --cost cross-entropy --optimizer adam --eta 0.002 --lambda 1 --batch-size 32
  run "$be-step-momentum" --backend "$be" $K --preset nielsen --optimizer momentum --eta 0.5 --schedule step --step-every 1 --decay 0.7 --batch-size 7
  run "$be-n2-adagrad" --backend "$be" $K --preset network2 --optimizer adagrad --eta 0.05
  run "$be-n2-rmsprop" --backend "$be" $K --preset network2 --optimizer rmsprop --eta 0.001 --batch-size 32
  }
done
python3 "$(dirname "$0")/tensor_sha.py" "$OUT"/*.safetensors | sort -k2
