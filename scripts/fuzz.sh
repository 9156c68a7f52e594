#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan into
# build-fuzz/ and runs each one from its seed corpus.
#
# usage: scripts/fuzz.sh [--seconds S | --runs N] [--jobs J]
#   --seconds S  run each target for S seconds (default 20; CI's setting)
#   --runs N     run each target for N executions instead (e.g. 1000000)
# Prints libFuzzer's closing line per target ("Done N runs in S second(s)");
# exits non-zero on the first crash, leak or broken invariant, leaving the
# input as build-fuzz/crash-* (rerun: build-fuzz/fuzz/fuzz_model FILE).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
limit=(-max_total_time=20)
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (scripts/install-deps.sh installs it)" >&2; exit 2; }
build=$root/build-fuzz
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREMAT_FUZZ=ON -DREMAT_CUDA=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_model fuzz_schedule fuzz_emit
corpus=$build/corpus
rm -rf "$corpus"
mkdir -p "$corpus/model" "$corpus/schedule"
cp "$root"/data/models/*.json "$root"/tests/data/*.json "$corpus/model/"
cp "$root"/fuzz/seeds/schedule/*.json "$corpus/schedule/"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
for t in model schedule emit; do
  dir=$corpus/model
  [[ $t == schedule ]] && dir=$corpus/schedule
  echo "== fuzz_$t"
  # -max_len: the bundled models are up to ~200 KB; the corpus is read-only
  # input, new inputs go to a scratch folder.
  mkdir -p "$build/new-$t"
  (cd "$build" && "$build/fuzz/fuzz_$t" "${limit[@]}" -max_len=262144 \
     -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
     "$build/new-$t" "$dir" 2>&1 | grep -E "^(Done|INFO: Seed|stat::number_of_executed_units|==|SUMMARY|fuzz invariant)" || true)
  [[ -z $(ls "$build"/crash-* "$build"/leak-* "$build"/timeout-* "$build"/oom-* 2>/dev/null) ]] ||
    { echo "fuzz.sh: fuzz_$t found a failing input: $(ls "$build"/crash-* "$build"/leak-* "$build"/timeout-* "$build"/oom-* 2>/dev/null)" >&2; exit 1; }
done
