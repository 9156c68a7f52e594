#!/usr/bin/env bash
# seed-comparison.sh - the library's own every-layer checkpointing
# (transformers gradient_checkpointing_enable(), diffusers
# enable_gradient_checkpointing()) against remat's optimal plan at the same
# measured peak and at the same measured overhead, on a small Llama and a
# small U-Net (CPU). Writes DIR/seedcmp.md (the table of docs/runtime.md).
#
# usage: scripts/seed-comparison.sh [--out DIR] [--remat BINARY] [--reps N]
# environment: PYTHON (default /opt/remat-py/bin/python).
# Takes about 2 minutes on one CPU core.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=seedcmp-out
remat=$root/build/cli/remat
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --remat) remat=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
py=${PYTHON:-/opt/remat-py/bin/python}
[ -x "$remat" ] || { echo "seed-comparison: no $remat; run scripts/build.sh" >&2; exit 2; }
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
  exec "$py" -m remat_torch.seedcmp --remat "$remat" --out "$out" "${args[@]}"
