"""The remat walk-through (docs/walkthrough.md), runnable end to end, on an
unmodified Hugging Face Llama built from a small LlamaConfig (random
weights, no download):

1. `python3 -m remat_torch export-model --zoo llama` writes a remat model
   file whose stages are the model's module paths;
2. `remat inspect` it;
3. `remat plan --strategy optimal` under a budget below the store-all peak;
4. `remat emit --target pytorch` (and, for show, --target hf);
5. `python3 -m remat_torch apply-model` applies the plan to the unmodified
   model and checks that one step's gradients equal a plain step's;
6. `remat validate` runs the schedule on remat's own executor and meter.

usage: /opt/remat-py/bin/python python/examples/walkthrough.py [--remat BINARY]
       [--workdir DIR] [--layers N]
Exit codes: 0 ok, 1 the planned step differs from the plain step, 2 a step
failed (its message is printed).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)  # python/, for remat_torch


class StepFailed(Exception):
    pass


def run(cmd, shown, ok=(0,)):
    print("$ " + " ".join([shown] + [str(a) for a in cmd[1:]]), flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([str(a) for a in cmd], capture_output=True,
                          text=True, env=env)
    if proc.returncode not in ok:
        raise StepFailed(proc.stderr.strip() or proc.stdout.strip()
                         or "exit %d" % proc.returncode)
    return proc


def remat(binary, *args, ok=(0,)):
    return run([binary] + list(args), "remat", ok)


def remat_torch(*args, ok=(0,)):
    return run([sys.executable, "-m", "remat_torch"] + list(args),
               "python3", ok)


def plan_under_budget(binary, model, out):
    """Plans with `optimal` at the first of 40%, 50%, ... 90% of the
    store-all peak that is feasible. Returns the budget in bytes."""
    none = os.path.join(os.path.dirname(out), "none.json")
    remat(binary, "plan", model, "--strategy", "none", "-o", none)
    with open(none, encoding="utf-8") as f:
        peak = json.load(f)["predicted"]["baseline_peak_bytes"]
    for pct in (40, 50, 60, 70, 80, 90):
        budget = peak * pct // 100
        proc = remat(binary, "plan", model, "--strategy", "optimal",
                     "--budget", budget, "-o", out, ok=(0, 3))
        if proc.returncode == 0:
            print("  store-all peak %d B; planned within %d%%: %d B"
                  % (peak, pct, budget))
            return budget
        print("  %d B is infeasible: %s" % (budget, proc.stderr.strip()))
    raise StepFailed("no budget between 40% and 90% of the peak is feasible")


def walkthrough(binary, workdir, layers):
    model = os.path.join(workdir, "llama.json")
    kwargs = json.dumps({"layers": layers})
    print(remat_torch("export-model", "--zoo", "llama", "--kwargs", kwargs,
                      "-o", model).stdout)
    print(remat(binary, "inspect", model).stdout)
    schedule = os.path.join(workdir, "schedule.json")
    plan_under_budget(binary, model, schedule)
    plan = os.path.join(workdir, "plan.json")
    remat(binary, "emit", schedule, "--target", "pytorch", "-o", plan)
    print(remat(binary, "emit", schedule, "--target", "hf", "--model",
                model).stdout)
    proc = remat_torch("apply-model", "--zoo", "llama", "--kwargs", kwargs,
                       plan, ok=(0, 1))
    print(proc.stdout)
    proc2 = remat(binary, "validate", model, schedule, ok=(0, 1))
    print(proc2.stdout)
    ok = proc.returncode == 0 and proc2.returncode == 0
    print("walk-through: %s" % ("ok" if ok else "MISMATCH"))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--remat", default=os.environ.get("REMAT_BINARY", "remat"),
                   help="the remat binary (default $REMAT_BINARY or remat)")
    p.add_argument("--workdir", help="where to write files (default: a "
                   "temporary directory, removed afterwards)")
    p.add_argument("--layers", type=int, default=6,
                   help="decoder layers (default 6)")
    args = p.parse_args()
    try:
        if args.workdir:
            os.makedirs(args.workdir, exist_ok=True)
            return walkthrough(args.remat, args.workdir, args.layers)
        with tempfile.TemporaryDirectory() as tmp:
            return walkthrough(args.remat, tmp, args.layers)
    except StepFailed as exc:
        print("walk-through: a step failed: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
