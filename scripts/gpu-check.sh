#!/usr/bin/env bash
# GPU checks for a machine with an NVIDIA GPU, CUDA, CMake and PyTorch (no Node needed):
#  1. builds the native core with CUDA (standalone tests + bench binary, no addon);
#  2. checks every kernel (pooling, kNN, MLP) on the GPU against the CPU path and a double
#     reference, on fresh random data (arbiter_tests --cuda-required);
#  3. times kNN (N = 1,000,000, d = 256, k = 10, Q = 1, 64, 1024), pooling and the MLP head on
#     GPU and CPU, and torch.topk(q @ db.T) on the same GPU for comparison.
# Results go to $OUT (or bench/results): gpu-bench.json, torch-knn.json and a log.
#   usage: scripts/gpu-check.sh            (ARBITER_CUDA_ARCH to change the target, default 90)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-bench/results}"
mkdir -p "$out"
build=native/build-gpu
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu-device.txt"
cmake -S . -B "$build" -DARBITER_CUDA=ON -DARBITER_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="${ARBITER_CUDA_ARCH:-90}" > "$out/gpu-cmake.log"
cmake --build "$build" --parallel "$(nproc)" >> "$out/gpu-cmake.log"
"$build/arbiter_tests" --cuda-required | tee "$out/gpu-tests.log"
"$build/arbiter_bench" --n 1000000 --d 256 --k 10 --q 1,64,1024 --device all --json "$out/gpu-bench.json" | tee "$out/gpu-bench.log"
python3 scripts/gpu_torch_ref.py --n 1000000 --d 256 --k 10 --q 1,64,1024 --json "$out/torch-knn.json" | tee -a "$out/gpu-bench.log"
