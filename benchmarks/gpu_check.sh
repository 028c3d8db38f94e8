#!/usr/bin/env bash
# One run on a machine with an NVIDIA GPU: the GPU tests, then the GPU benchmark.
# Usage: bash benchmarks/gpu_check.sh   (from the repository root; about 5 minutes)
# Installs the package with the CUDA 12 extra unless CuPy is already importable
# (CUDA=13 bash benchmarks/gpu_check.sh for the cuda13 extra).
set -u
PY=${PY:-python3}
CUDA=${CUDA:-12}

if ! "$PY" -c "import cupy" 2>/dev/null; then
    "$PY" -m pip install --quiet -e ".[test,cuda${CUDA}]" || exit 1
fi
"$PY" -c "import cupy; print('CuPy', cupy.__version__, '- GPUs:', cupy.cuda.runtime.getDeviceCount())" || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null

echo "== tests/test_cupy.py"
timeout 240 "$PY" -m pytest -q -p no:cacheprovider tests/test_cupy.py -rs
tests=$?

echo "== benchmarks/gpu_check.py"
timeout 180 "$PY" benchmarks/gpu_check.py
bench=$?

echo "== summary: tests exit $tests, benchmark exit $bench (0 = passed)"
[ "$tests" -eq 0 ] && [ "$bench" -eq 0 ]
