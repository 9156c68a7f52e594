#!/usr/bin/env bash
# The main job on a bundled model: inspect it, compare the strategies under a
# budget, write the optimal schedule, re-check it with the simulator, run it
# on the CPU executor, and draw the budget -> time frontier.
#
# usage: scripts/main-job.sh [MODEL] [BUDGET] [OUTDIR]
#   MODEL   default data/models/gpt2-small.json
#   BUDGET  activation budget, default 5GiB
#   OUTDIR  where the schedule and SVGs go, default out/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
remat=${REMAT:-$root/build/cli/remat}
model=${1:-$root/data/models/gpt2-small.json}
budget=${2:-5GiB}
out=${3:-out}
mkdir -p "$out"
name=$(basename "$model" .json)
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$remat" inspect "$model"
step "$remat" compare "$model" --budget "$budget"
step "$remat" plan "$model" --strategy optimal --budget "$budget" \
  -o "$out/$name.schedule.json"
step "$remat" simulate "$model" "$out/$name.schedule.json" \
  --svg "$out/$name.memory.svg"
step "$remat" frontier "$model" --svg "$out/$name.frontier.svg"
echo
echo "wrote $out/$name.schedule.json, $out/$name.memory.svg and" \
     "$out/$name.frontier.svg"
