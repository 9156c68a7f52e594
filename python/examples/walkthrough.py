"""The remat walk-through (docs/walkthrough.md), runnable end to end.

1. export a small GPT block stack as a remat model file;
2. `remat inspect` it;
3. `remat plan --strategy optimal` under a budget below the store-all peak;
4. `remat emit --target pytorch` (and, for show, --target megatron);
5. run the plan with remat_torch and check that the gradients equal a plain
   run's and that each block ran as often as the schedule says.

usage: /opt/remat-py/bin/python python/examples/walkthrough.py [--remat BINARY]
       [--workdir DIR] [--layers N]
Exit codes: 0 ok, 1 the scheduled run differs from the plain run, 2 a remat
step failed (its message is printed).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # python/, for remat_torch

import gpt  # noqa: E402  (python/examples/gpt.py)
from remat_torch import export_model, write_model  # noqa: E402
from remat_torch.__main__ import compare_runs, same_loss  # noqa: E402


class StepFailed(Exception):
    pass


def remat(binary, *args):
    cmd = [binary] + [str(a) for a in args]
    print("$ remat " + " ".join(str(a) for a in args), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 3):
        raise StepFailed(proc.stderr.strip() or "exit %d" % proc.returncode)
    return proc


def plan_under_budget(binary, model, out):
    """Plans with `optimal` at the first of 50%, 60%, ... 90% of the
    store-all peak that is feasible. Returns the budget in bytes."""
    none = os.path.join(os.path.dirname(out), "none.json")
    remat(binary, "plan", model, "--strategy", "none", "-o", none)
    with open(none, encoding="utf-8") as f:
        peak = json.load(f)["predicted"]["baseline_peak_bytes"]
    for pct in (50, 60, 70, 80, 90):
        budget = peak * pct // 100
        proc = remat(binary, "plan", model, "--strategy", "optimal",
                     "--budget", budget, "-o", out)
        if proc.returncode == 0:
            print("  store-all peak %d B; planned within %d%%: %d B"
                  % (peak, pct, budget))
            return budget
        print("  %d B is infeasible: %s" % (budget, proc.stderr.strip()))
    raise StepFailed("no budget between 50% and 90% of the peak is feasible")


def walkthrough(binary, workdir, layers):
    model = os.path.join(workdir, "gpt.json")
    made = gpt.build(layers=layers)
    doc = export_model(made["blocks"], made["input"], "gpt-tiny",
                       loss_fn=made["loss_fn"], reps=3)
    write_model(doc, model)
    print("exported %d blocks to %s" % (len(doc["layers"]), model))
    print(remat(binary, "inspect", model).stdout)
    schedule = os.path.join(workdir, "schedule.json")
    plan_under_budget(binary, model, schedule)
    plan = os.path.join(workdir, "plan.json")
    remat(binary, "emit", schedule, "--target", "pytorch", "-o", plan)
    print(remat(binary, "emit", schedule, "--target", "megatron",
                "--model", model).stdout)
    with open(plan, encoding="utf-8") as f:
        ops = json.load(f)["ops"]
    r = compare_runs(gpt.build(layers=layers), ops, seed=0)
    print("gradients: %d tensors, %s (max |diff| %.3g)"
          % (r["gradients"], "bit-exact" if r["bit_exact"] else "allclose"
             if r["allclose"] else "DIFFERENT", r["max_abs_diff"]))
    print("forward calls per block: %s (schedule: %s)"
          % (r["forward_calls"], r["schedule_forward_calls"]))
    ok = (r["allclose"] and same_loss(r)
          and r["forward_calls"] == r["schedule_forward_calls"])
    print("walk-through: %s" % ("ok" if ok else "MISMATCH"))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--remat", default=os.environ.get("REMAT_BINARY", "remat"),
                   help="the remat binary (default $REMAT_BINARY or remat)")
    p.add_argument("--workdir", help="where to write files (default: a "
                   "temporary directory, removed afterwards)")
    p.add_argument("--layers", type=int, default=6,
                   help="transformer blocks (default 6)")
    args = p.parse_args()
    try:
        if args.workdir:
            os.makedirs(args.workdir, exist_ok=True)
            return walkthrough(args.remat, args.workdir, args.layers)
        with tempfile.TemporaryDirectory() as tmp:
            return walkthrough(args.remat, tmp, args.layers)
    except StepFailed as exc:
        print("walk-through: a remat step failed: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
