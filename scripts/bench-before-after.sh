#!/usr/bin/env bash
# bench-before-after.sh - the ratios of docs/architecture.md ("What the
# structure costs"): two Release build folders of the benches (made with
# scripts/build.sh DIR -DCMAKE_BUILD_TYPE=Release, one per commit) run
# interleaved, before then after, ROUNDS times; prints each figure's median
# per side and the ratio after / before (under 1: faster). Run it with the
# same folder twice for the control that shows the machine's spread.
#
# usage: scripts/bench-before-after.sh BEFORE_BUILD AFTER_BUILD [ROUNDS]
# chain_dp is run only where both folders have it.
set -euo pipefail
if [[ $# -lt 2 || ! -x $1/bench/simulate || ! -x $2/bench/simulate ]]; then
  echo "usage: $0 BEFORE_BUILD AFTER_BUILD [ROUNDS] (each with bench/simulate and bench/executor)" >&2
  exit 2
fi
before=$1 after=$2 rounds=${3:-9}
dp=0
[[ -x $before/bench/chain_dp && -x $after/bench/chain_dp ]] && dp=1
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
uptime >&2
for ((i = 0; i < rounds; ++i)); do
  for side in before after; do
    dir=$before; [[ $side == after ]] && dir=$after
    "$dir/bench/simulate" | awk -v s=$side '
      /simulateChain \(seq/ { print s, "chain_simulate_ms", $(NF-5) }
      /timeline/            { print s, "chain_simulate_timeline_ms", $(NF-5) }
      /simulateGraph/       { print s, "graph_simulate_ms", $(NF-5) }'
    "$dir/bench/executor" | awk -v s=$side '/^executor/ { print s, "executor_ns_per_op", $2 }'
    if ((dp)); then
      "$dir/bench/chain_dp" --runs 1 --max-l 200 --baseline-max-l 0 --threads 1 |
        awk -v s=$side '/^random/ { t += $(NF-1) } END { print s, "chain_dp_cpu_s_sum", t }'
    fi
  done
done > "$raw"
uptime >&2
"${PYTHON:-python3}" - "$raw" "$rounds" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, key, value = line.split()
    d[side, key].append(float(value))
for key in sorted({k for _, k in d}):
    b, a = statistics.median(d["before", key]), statistics.median(d["after", key])
    print(f"{key:28s} before {b:10.3f} after {a:10.3f} after/before {a / b:.3f} (n={sys.argv[2]})")
PY
