#!/usr/bin/env bash
# The side-by-side of docs/compiler-pass.md: remat's partitioner against
# PyTorch's min-cut partitioner (each knapsack solver) on real models, CPU,
# one run. Needs build/cli/remat (scripts/build.sh) and the venv of
# scripts/install-deps.sh. Extra arguments go to the module, e.g.
#   scripts/compiler-frontier.sh --models gpt2 --solvers dp --repeats 3
# The published run: --solver-models gpt2 (every solver on GPT-2, dp on the
# others), to fit the time the shared build machine had.
# Writes OUT (default build/compiler-frontier): frontier.json, frontier.md
# and frontier-MODEL.svg.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build/compiler-frontier}
python=${REMAT_PYTHON:-/opt/remat-py/bin/python}
export REMAT_BINARY=${REMAT_BINARY:-$root/build/cli/remat}
export PYTHONPATH=$root/python${PYTHONPATH:+:$PYTHONPATH}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "$python" -m remat_torch.compile_frontier --out "$out" "$@"
