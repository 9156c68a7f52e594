#!/usr/bin/env bash
# gpu-check.sh - build remat with CUDA, run the GPU tests, and validate plans
# for every bundled model on the GPU; prints a summary table and writes it
# (with every validate --json report) to a results directory.
#
# usage: scripts/gpu-check.sh [--device cuda|cpu] [--build-dir DIR]
#                             [--out DIR] [--no-build] [--quick]
#   --device cpu   dry run of everything but the GPU: same plans and checks
#                  on the CPU backend (what can be tried without a GPU)
#   --build-dir    build tree (default build-gpu; Release, CUDA on)
#   --out DIR      where results go (default $OUT if set, else gpu-check-out)
#   --no-build     reuse an existing build tree as is
#   --quick        one strategy per model (a smoke test)
# CUDA real mode (step 5): real layers profiled, planned (none, sqrt,
# revolve 2, optimal at 75% and 65%) and validated --mode real --check-time
# on the device, the GPU/CPU parity cases, compute-sanitizer memcheck on one
# real-mode run; raw figures under OUT/real-DEVICE/.
# environment: PLAN_LIMIT (seconds, default 30) skips, visibly, a plan that
# takes longer to compute (the exact optimal DP on very long chains);
# PYTHON, a python3 with torch for the remat_torch memory check (default:
# the first of /opt/remat-py/bin/python (scripts/install-deps.sh), python3
# that imports torch).
# exit status: 0 when every check passed, 1 otherwise.
# Budget: under 8 minutes on one H200, build included (bytes are scaled
# down 65536x and times auto-scaled so each op lasts about 300 us; the CUDA
# real-mode step 5 adds about 1.5 minutes; the fidelity step 6 is capped at
# FIDELITY_LIMIT, default 180 s; see docs/runtime.md).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
device=cuda
build=
out=${OUT:-}
do_build=1
quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case $device in cuda|cpu) ;; *) echo "gpu-check: --device cuda|cpu" >&2; exit 2 ;; esac
build=${build:-$root/build-gpu}
out=${out:-$root/gpu-check-out}
mkdir -p "$out/reports"
summary=$out/summary.txt
start=$(date +%s)

log() { echo "gpu-check: $*" >&2; }

if [ "$do_build" = 1 ]; then
  cuda_flag=-DREMAT_CUDA=ON
  [ "$device" = cpu ] && cuda_flag=-DREMAT_CUDA=OFF
  log "configuring $build (Release, $cuda_flag)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    "$cuda_flag" > "$out/configure.log"
  grep -q "remat: CUDA backend ON" "$out/configure.log" ||
    { [ "$device" = cpu ] || { log "CUDA was not found; see $out/configure.log"; exit 1; }; }
  log "building remat and runtime_tests"
  cmake --build "$build" -j "$(nproc)" --target remat runtime_tests > "$out/build.log"
fi
remat=$build/cli/remat
tests=$build/tests/runtime_tests
[ -x "$remat" ] || { log "no $remat; build first"; exit 1; }

plan_limit=${PLAN_LIMIT:-30}
failures=0
fail() { failures=$((failures + 1)); log "FAIL: $*"; }

# 1. Tests that need a GPU. On a GPU machine a skip is a failure.
log "runtime tests (cuda cases)"
if "$tests" -tc='cuda*' -s > "$out/cuda-tests.log" 2>&1; then
  if [ "$device" = cuda ] && grep -q 'SKIPPED: no GPU' "$out/cuda-tests.log"; then
    fail "cuda tests skipped: no GPU visible (see $out/cuda-tests.log)"
  fi
else
  fail "cuda tests (see $out/cuda-tests.log)"
fi

# 2. Synthetic validation of several strategies per bundled model.
# Fields of a validate --json report: value of "<metric>" predicted/measured.
field() { # file metric key
  awk -v m="\"$2\"" -v k="\"$3\":" '
    index($0, "\"metric\": " m) { f = 1 }
    f && index($0, k) { v = $2; sub(/,$/, "", v); print v; exit }' "$1"
}
passed() { grep -q '"passed": true' "$1"; }
baseline_peak() { grep -o '"baseline_peak_bytes": [0-9]*' "$1" | head -1 | awk '{print $2}'; }

printf '%-16s %-22s %-9s %14s %14s %9s %9s %7s %s\n' model strategy mode \
  pred_peak meas_peak time_err ovh_err recomp verdict > "$summary"

row() { # model strategy mode report
  local r=$4 v=PASS
  passed "$r" || v=FAIL
  printf '%-16s %-22s %-9s %14s %14s %9s %9s %7s %s\n' "$1" "$2" "$3" \
    "$(field "$r" peak_bytes predicted | awk '{printf "%d", $1}')" \
    "$(field "$r" peak_bytes measured | awk '{printf "%d", $1}')" \
    "$(field "$r" time error | awk '{ if ($1 == "null") print "-"; else printf "%.1f%%", 100 * $1 }')" \
    "$(field "$r" overhead error | awk '{ if ($1 == "null") print "-"; else printf "%.1fpt", 100 * $1 }')" \
    "$(field "$r" forward_recomputations measured | awk '{printf "%d", $1}')" \
    "$v" >> "$summary"
  [ "$v" = PASS ] || fail "$1 $2 $3 (see $r)"
}

validate() { # model-path label strategy-args...
  local model=$1 label=$2; shift 2
  local name plan report
  name=$(basename "$model" .json)
  plan=$out/reports/$name.$label.plan.json
  report=$out/reports/$name.$label.$device.json
  # Planning is not what is checked here; a planner that takes over
  # $plan_limit s (the exact DP on a thousand stages) is skipped, visibly.
  local rc=0
  timeout "$plan_limit" "$remat" plan "$model" "$@" -o "$plan" 2> "$plan.err" || rc=$?
  if [ "$rc" = 124 ]; then
    printf '%-16s %-22s %-9s %s\n' "$name" "$label" synthetic \
      "SKIPPED: planning took over ${plan_limit}s" >> "$summary"
    log "skipped $name $label: planning took over ${plan_limit}s"
    return
  fi
  if [ "$rc" != 0 ]; then
    fail "$name: plan $* ($(cat "$plan.err"))"
    return
  fi
  if ! "$remat" validate "$model" "$plan" --device "$device" \
      --bytes-scale 65536 --time-scale auto --repeat 3 --json \
      > "$report" 2> "$report.err"; then
    [ -s "$report" ] || { fail "$name $label: $(cat "$report.err")"; return; }
  fi
  row "$name" "$label" synthetic "$report"
}

for model in "$root"/data/models/*.json; do
  name=$(basename "$model" .json)
  log "synthetic: $name"
  if grep -q '"graph"' "$model"; then
    validate "$model" none --strategy none
    [ "$quick" = 1 ] || validate "$model" recompute-all --strategy recompute-all
    continue
  fi
  validate "$model" sqrt --strategy sqrt
  [ "$quick" = 1 ] && continue
  validate "$model" none --strategy none
  validate "$model" sequential-4 --strategy sequential --segments 4
  validate "$model" revolve-8 --strategy revolve --slots 8
  validate "$model" chen --strategy chen
  # optimal at half of the store-everything peak (from the none plan).
  base=$(baseline_peak "$out/reports/$name.none.plan.json")
  validate "$model" optimal-50% --strategy optimal --budget $((base / 2))
done

# 3. Real mode: profile -> plan -> validate. The real layers are host code,
# so these run on the cpu backend even on a GPU machine.
for preset in tiny-gpt tiny-mlp; do
  log "real: $preset"
  model=$out/reports/$preset.profiled.json
  if ! "$remat" profile --device cpu --preset "$preset" --blocks 2 \
      -o "$model" 2> "$model.err"; then
    fail "profile $preset: $(cat "$model.err")"
    continue
  fi
  for s in "sqrt --strategy sqrt" "revolve-2 --strategy revolve --slots 2"; do
    set -- $s
    label=$1; shift
    plan=$out/reports/$preset.$label.plan.json
    report=$out/reports/$preset.$label.real.json
    "$remat" plan "$model" "$@" -o "$plan" 2> "$plan.err" ||
      { fail "plan $preset $label"; continue; }
    "$remat" validate "$model" "$plan" --device cpu --mode real \
      --check-time --json > "$report" 2> "$report.err" || true
    [ -s "$report" ] || { fail "$preset $label: $(cat "$report.err")"; continue; }
    grep -q '"gradients_bit_identical": true' "$report" ||
      fail "$preset $label: gradients differ from store-everything"
    row "$preset" "$label" real "$report"
  done
done

# 4. remat_torch on a real model (python/remat_torch/gpucheck.py): export a
# GPT block stack on the device, plan it (none, sqrt, optimal at 50% and 25%
# of the store-all peak), run a plain and a scheduled training step per plan
# and compare torch.cuda.max_memory_allocated with remat's predicted peak.
# With --device cpu every step runs but nothing is measured. Skipped,
# visibly, when no python3 has torch or (on cuda) torch sees no GPU.
torch_out=$out/torch
py=
for cand in ${PYTHON:-} /opt/remat-py/bin/python python3; do
  if "$cand" -c 'import torch' > /dev/null 2>&1; then py=$cand; break; fi
done
{ echo; echo "remat_torch memory check (predicted vs measured peak):"; } >> "$summary"
if [ -z "$py" ]; then
  echo "  SKIPPED: no python3 with torch (set PYTHON=...)" >> "$summary"
  log "skipped the remat_torch memory check: no python3 with torch"
elif [ "$device" = cuda ] && ! "$py" -c 'import sys, torch
sys.exit(0 if torch.cuda.is_available() else 1)' > /dev/null 2>&1; then
  echo "  SKIPPED: torch ($py) sees no CUDA device" >> "$summary"
  log "skipped the remat_torch memory check: torch sees no CUDA device"
else
  log "remat_torch memory check ($device, $py)"
  mkdir -p "$torch_out"
  if PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" timeout 600 \
      "$py" -m remat_torch.gpucheck --remat "$remat" --out "$torch_out" \
      --device "$device" > "$torch_out/gpucheck.log" 2>&1; then
    sed 's/^/  /' "$torch_out/memory.txt" >> "$summary"
  else
    echo "  FAILED: see $torch_out/gpucheck.log" >> "$summary"
    fail "remat_torch memory check (see $torch_out/gpucheck.log)"
  fi
fi

# 5. CUDA real mode (issue 20; docs/runtime.md "CUDA real mode"): the real
# layers as GPU kernels and cuBLAS. Kept in its own functions so that other
# steps can be added around it. With --device cpu the same plumbing runs on
# the CPU backend; the parity cases and the sanitizer then report SKIPPED.
real_out=$out/real-$device
cuda_real_budget_plans() { # model preset: plans under several budgets
  local model=$1 preset=$2 base
  real_plan "$model" "$preset" none --strategy none
  [ -s "$real_out/$preset.none.plan.json" ] || return 0
  base=$(baseline_peak "$real_out/$preset.none.plan.json")
  real_plan "$model" "$preset" sqrt --strategy sqrt
  real_plan "$model" "$preset" revolve-2 --strategy revolve --slots 2
  real_plan "$model" "$preset" optimal-75% --strategy optimal --budget $((base * 3 / 4))
  real_plan "$model" "$preset" optimal-65% --strategy optimal --budget $((base * 65 / 100))
}
real_plan() { # model preset label strategy-args...: plan, then validate
  local model=$1 preset=$2 label=$3; shift 3
  local plan=$real_out/$preset.$label.plan.json rc=0
  local report=$real_out/$preset.$label.json
  "$remat" plan "$model" "$@" -o "$plan" 2> "$plan.err" || rc=$?
  if [ "$rc" = 3 ]; then # infeasible budget: shown, not a failure
    printf '%-16s %-22s %-9s %s\n' "$preset" "$label" "real-$device" \
      "SKIPPED: budget infeasible ($(head -c 120 "$plan.err"))" >> "$summary"
    return 0
  fi
  [ "$rc" = 0 ] || { fail "plan $preset $label ($(cat "$plan.err"))"; return 0; }
  "$remat" validate "$model" "$plan" --device "$device" --mode real \
    --check-time --repeat 3 --json > "$report" 2> "$report.err" || true
  [ -s "$report" ] || { fail "real $device $preset $label: $(cat "$report.err")"; return 0; }
  grep -q '"gradients_bit_identical": true' "$report" ||
    fail "real $device $preset $label: gradients differ from store-everything"
  row "$preset" "$label" "real-$device" "$report"
  printf '%-16s %-22s %14s %14s %14s\n' "$preset" "$label" \
    "$(field "$report" peak_bytes predicted | awk '{printf "%d", $1}')" \
    "$(field "$report" peak_bytes measured | awk '{printf "%d", $1}')" \
    "$(pool_high "$report")" \
    >> "$real_out/pool.txt"
}
pool_high() { # report: the pool's measured high-water mark, or -
  local v
  v=$(field "$1" peak_bytes_pool measured | awk '{printf "%d", $1}')
  echo "${v:--}"
}
cuda_real_validation() {
  mkdir -p "$real_out"
  printf '%-16s %-22s %14s %14s %14s\n' model strategy pred_peak meas_peak \
    pool_used_high > "$real_out/pool.txt"
  for preset in tiny-gpt tiny-mlp; do
    log "real mode on $device: $preset"
    local model=$real_out/$preset.profiled.json
    if ! "$remat" profile --device "$device" --preset "$preset" --blocks 2 \
        -o "$model" 2> "$model.err"; then
      fail "profile --device $device $preset: $(cat "$model.err")"
      continue
    fi
    cuda_real_budget_plans "$model" "$preset"
  done
}
cuda_real_parity() { # tests/runtime/CudaRealTest.cpp
  log "parity: GPU against CPU real mode"
  local logf=$real_out/parity.log rc=0
  "$tests" -tc='cuda real*' -s > "$logf" 2>&1 || rc=$?
  {
    echo
    echo "CUDA real mode parity (GPU vs CPU real mode; tolerances in tests/runtime/CudaRealTest.cpp):"
    if grep -q 'SKIPPED' "$logf"; then
      echo "  $(grep -m1 'SKIPPED' "$logf")"
    else
      grep -o '[a-z-]*: loss gpu.*' "$logf" | sed 's/^/  /' || true
      echo "  $(grep -m1 'test cases:' "$logf")"
    fi
  } >> "$summary"
  [ "$rc" = 0 ] || fail "cuda real parity (see $logf)"
  if [ "$device" = cuda ] && grep -q 'SKIPPED' "$logf"; then
    fail "cuda real parity skipped: no GPU visible (see $logf)"
  fi
  return 0
}
cuda_real_memcheck() { # compute-sanitizer on one real-mode run
  local san="" cand logf=$real_out/memcheck.log
  for cand in compute-sanitizer /usr/local/cuda/bin/compute-sanitizer \
      /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    if command -v "$cand" > /dev/null 2>&1; then san=$cand; break; fi
  done
  { echo; echo "compute-sanitizer memcheck (one real-mode run, tiny-gpt sqrt):"; } >> "$summary"
  if [ "$device" != cuda ]; then
    echo "  SKIPPED: needs --device cuda" >> "$summary"; return 0
  fi
  if [ -z "$san" ]; then
    echo "  SKIPPED: compute-sanitizer not found" >> "$summary"
    log "skipped memcheck: no compute-sanitizer"; return 0
  fi
  [ -s "$real_out/tiny-gpt.sqrt.plan.json" ] ||
    { fail "memcheck: no tiny-gpt sqrt plan"; return 0; }
  log "memcheck: $san"
  local rc=0
  timeout 150 "$san" --tool memcheck --error-exitcode 9 "$remat" validate \
    "$real_out/tiny-gpt.profiled.json" "$real_out/tiny-gpt.sqrt.plan.json" \
    --device cuda --mode real --repeat 1 > "$logf" 2>&1 || rc=$?
  echo "  exit $rc; $(grep -m1 'ERROR SUMMARY' "$logf" || echo 'no ERROR SUMMARY line')" >> "$summary"
  # 1 is validate's verdict (timing under the sanitizer is not judged);
  # 9 is the sanitizer finding errors, anything else a crash or timeout.
  case $rc in 0|1) ;; *) fail "memcheck exit $rc (see $logf)" ;; esac
}
cuda_real_validation
cuda_real_parity
cuda_real_memcheck
{ echo; echo "CUDA real mode, peaks (bytes; meas_peak = host meter on cpu, bookkeeping on cuda; pool = cudaMemPoolAttrUsedMemHigh):"; sed 's/^/  /' "$real_out/pool.txt"; } >> "$summary"

# 6. Fidelity on real models (python/remat_torch/fidelity.py): transformers
# GPT-2, Llama, BERT and timm ViT, ResNet, exported on the GPU, planned with
# five strategies, applied with remat_torch.apply_plan, and measured with
# torch.cuda.max_memory_allocated (peak) and step times; the two negative
# controls must be detected. CUDA only (the CPU table, measured with
# PyTorch's memory profiler, is scripts/fidelity.sh); skipped, visibly,
# without torch or a CUDA device. At most 180 s (FIDELITY_LIMIT).
fid_out=$out/fidelity
{ echo; echo "fidelity on real models (torch.cuda.max_memory_allocated):"; } >> "$summary"
if [ "$device" != cuda ]; then
  echo "  SKIPPED: --device $device (the CPU table is scripts/fidelity.sh)" >> "$summary"
elif [ -z "$py" ]; then
  echo "  SKIPPED: no python3 with torch (set PYTHON=...)" >> "$summary"
elif ! "$py" -c 'import sys, torch
sys.exit(0 if torch.cuda.is_available() else 1)' > /dev/null 2>&1; then
  echo "  SKIPPED: torch ($py) sees no CUDA device" >> "$summary"
  log "skipped the fidelity table: torch sees no CUDA device"
else
  log "fidelity table on CUDA ($py)"
  mkdir -p "$fid_out"
  if PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
      timeout "${FIDELITY_LIMIT:-180}" "$py" -m remat_torch.fidelity \
      --remat "$remat" --out "$fid_out" --device cuda --reps 3 \
      > "$fid_out/fidelity.log" 2>&1; then
    sed 's/^/  /' "$fid_out/fidelity.md" >> "$summary"
  else
    echo "  FAILED: see $fid_out/fidelity.log" >> "$summary"
    fail "fidelity table (see $fid_out/fidelity.log)"
  fi
fi

elapsed=$(( $(date +%s) - start ))
{
  echo
  echo "device: $device; $(grep -o '"device_description": "[^"]*"' \
    "$out"/reports/*."$device".json 2>/dev/null | head -1 | cut -d'"' -f4)"
  echo "failures: $failures; elapsed: ${elapsed}s"
} >> "$summary"
cat "$summary"
[ "$failures" = 0 ]
