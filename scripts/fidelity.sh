#!/usr/bin/env bash
# fidelity.sh - remat's predicted activation peak and overhead against
# PyTorch's own measurements on real models (transformers GPT-2, Llama,
# BERT; timm ViT, ResNet), five strategies each, plus two negative controls
# that must be detected. Writes DIR/fidelity.md (the table of
# docs/runtime.md) and DIR/fidelity.json.
#
# usage: scripts/fidelity.sh [--out DIR] [--remat BINARY] [extra options of
#        python3 -m remat_torch.fidelity, e.g. --models gpt2,llama --reps 5
#        --device cuda]
# environment: PYTHON (default /opt/remat-py/bin/python).
# exit status: 0 table made and both controls detected; 1 a control was
# missed or gradients differ; 2 usage or a failed step.
# Takes 6 to 10 minutes on one CPU core (more on a loaded machine).
set -euo pipefail
source "$(dirname "$0")/torch-module.sh"
run_torch_module fidelity remat_torch.fidelity fidelity-out "$@"
