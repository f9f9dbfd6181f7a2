#!/usr/bin/env bash
# The engine's GPU measurement, as one prepared run for a borrowed GPU machine (JAX backend: the machine has
# JAX but no TensorFlow). Beforehand, on the development machine, from the repository root:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl keras namex optree rich markdown-it-py mdurl pygments absl-py tqdm
# then run this script there with `.whl` carried. Results land in $OUT (or ./bench-out).
set -euo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
# The sizes, both optimisers, 50 iterations per timing, median of 3 fresh traces; then a 512 px picture.
python3 -m stylebot.cli bench --backend jax --sizes 512x384,1024x768 --iterations 50 --repeats 3 \
  --picture 512 --picture-weights random --json | tee "$out/bench.jsonl"
# The same with the convolutions in bfloat16 (the Grams, losses and optimiser stay float32).
python3 -m stylebot.cli bench --backend jax --sizes 512x384,1024x768 --iterations 50 --repeats 3 \
  --precision bfloat16 --picture 0 --json | tee "$out/bench-bf16.jsonl"
