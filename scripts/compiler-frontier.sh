#!/usr/bin/env bash
# The side-by-side of docs/compiler-pass.md: remat's partitioner against
# PyTorch's min-cut partitioner (each knapsack solver) on real models, CPU,
# one run. Needs build/cli/remat (scripts/build.sh) and the venv of
# scripts/install-deps.sh. Extra arguments go to the module, e.g.
#   scripts/compiler-frontier.sh --models gpt2 --solvers dp --repeats 3
# With no arguments: every model, budgets 20-98%, PyTorch's three solvers
# (greedy, dp, ilp) guarded and not, remat at each solver's bytes (73
# variants per model, about 70 minutes on 2 cores). The runs in
# docs/compiler-pass.md name their arguments (for example --budgets
# 0.2,0.4,0.6,0.8 --repeats 9, about 42 minutes).
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
