#!/usr/bin/env bash
# Prepares, on this (x86-64) machine, what benches/device/run.sh needs on a device machine:
# a stripped release binary in .device/ and the Vulkan loader's Debian packages in .gl/, both
# ignored by git (.git/info/exclude) and named in the device tool's `carry`. Needs the package
# registries (apt); run from anywhere in the repository.
#
#   benches/device/setup.sh
#   # then, with the device tool: run, carry [".device", ".gl"], timeout_s 540,
#   #   command: benches/device/run.sh .device/gpu-mlp "$OUT"
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

for d in /.device/ /.gl/; do
  grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >>.git/info/exclude
done

cargo build --release
mkdir -p .device
cp target/release/gpu-mlp .device/gpu-mlp
strip .device/gpu-mlp

# The loader and GL libraries for amd64, downloaded (not installed) into .gl.
mkdir -p .gl /tmp/amd64/partial
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${apt_opts[@]}" update -qq
(cd .gl && apt-get "${apt_opts[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 \
  libglx0 libgles2)
du -sh .device .gl
