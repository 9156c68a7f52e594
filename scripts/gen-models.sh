#!/usr/bin/env bash
# Regenerates every bundled model file in data/models/ with `remat gen
# bundled`. This is the one command that produces those files; the options
# of each model are listed in docs/models.md, and tests/models/ModelGenTest.cpp
# checks that the committed files equal the generator's output byte for byte.
#
# usage: scripts/gen-models.sh [REMAT_BINARY]
#   REMAT_BINARY defaults to build/cli/remat (build it with scripts/build.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
remat=${1:-$root/build/cli/remat}
if [[ ! -x $remat ]]; then
  echo "gen-models.sh: $remat is not an executable; build remat first" \
       "(scripts/build.sh) or pass its path" >&2
  exit 2
fi
"$remat" gen bundled --out "$root/data/models"
