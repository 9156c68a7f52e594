#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, ASan + UBSan, clang) into build-fuzz/
# and runs each on a seed corpus for a bounded time.
#
# usage: scripts/fuzz.sh [SECONDS] [RUNS]
#   SECONDS  time per target, default 60 (CI uses this bound)
#   RUNS     stop a target after this many executions instead (0: no limit)
# The corpora grow in build-fuzz/corpus/<target>/, seeded from tests/data,
# tests/data/bad, the smaller data/models files and schedules of
# tests/golden/schedules. See docs/fuzzing.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
runs=${2:-0}
dir=$root/build-fuzz
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DREMAT_FUZZ=ON -DREMAT_SANITIZE=ON \
  -DREMAT_WERROR=OFF -DREMAT_CUDA=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target fuzz_model_loader \
  fuzz_schedule_loader fuzz_emit
corpus=$dir/corpus
mkdir -p "$corpus/model_loader" "$corpus/schedule_loader" "$corpus/emit"
for f in "$root"/tests/data/*.json "$root"/tests/data/bad/*.json; do
  cp "$f" "$corpus/model_loader/"
  cp "$f" "$corpus/emit/"
done
for f in "$root"/data/models/*.json; do
  if [ "$(stat -c %s "$f")" -lt 30000 ]; then
    cp "$f" "$corpus/model_loader/"
    cp "$f" "$corpus/emit/"
  fi
done
cp "$root"/tests/golden/schedules/*.json "$corpus/schedule_loader/"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
[ "$runs" = 0 ] && runs=-1
for t in model_loader schedule_loader emit; do
  log=$dir/fuzz_$t.log
  set +e
  "$dir/fuzz/fuzz_$t" -max_total_time="$secs" -runs="$runs" \
    -max_len=16384 -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$corpus/$t" >"$log" 2>&1
  status=$?
  set -e
  echo "fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$log" |
    awk '{print $2}') executions (limit ${secs}s)"
  if [ $status -ne 0 ]; then
    tail -n 40 "$log"
    exit $status
  fi
done
