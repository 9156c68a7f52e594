#!/usr/bin/env bash
# seed-comparison.sh - the library's own every-layer checkpointing
# (transformers gradient_checkpointing_enable(), diffusers
# enable_gradient_checkpointing()) against remat's optimal plan at the same
# measured peak and at the same measured overhead, on a small Llama and a
# small U-Net (CPU). Writes DIR/seedcmp.md (the table of docs/runtime.md).
#
# usage: scripts/seed-comparison.sh [--out DIR] [--remat BINARY] [--reps N]
# environment: PYTHON (default /opt/remat-py/bin/python).
# Takes about 10 minutes on one CPU core at load 10 (the U-Net most).
set -euo pipefail
source "$(dirname "$0")/torch-module.sh"
run_torch_module seed-comparison remat_torch.seedcmp seedcmp-out "$@"
