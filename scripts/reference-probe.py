#!/usr/bin/env python3
"""One budget of the side by side, looked at closely (docs/compiler-pass.md,
"Each solver at its own bytes"): PyTorch's partitioner at
activation_memory_budget = FRACTION with SOLVER, and remat at the bytes that
choice reaches in remat's model (budget_reference="pytorch"). Prints one
JSON object per compile: the measured step peak (the side by side's meter),
remat's modelled peaks and times of its plan and of PyTorch's set, the
groups each recomputes in the backward, and where in the step the measured
peak falls (the allocation that reaches it, of how many, and the ones just
before it with the innermost profiled op around each, other than the
allocation op itself).

  REMAT_BINARY=build/cli/remat PYTHONPATH=python \\
      /opt/remat-py/bin/python scripts/reference-probe.py gpt2 0.4 --solver ilp

Exit 2 on bad arguments (argparse names them).
"""

import argparse
import gc
import json
import os
import sys
import tempfile

import torch

from remat_torch import compile_frontier as cf
from remat_torch.backend import FUSION_PEAK_GUARD, remat_backend
from remat_torch.partition_cost import calibrate
from remat_torch.partitioner import PYTORCH_SOLVERS
from remat_torch.realise import computes


def peak_trace(run, before=5):
    """Where the allocator's level peaks during run(): the index of the
    allocation that reaches it, how many there are, and the ``before``
    allocations up to it as (bytes, innermost op around it)."""
    from torch.profiler import ProfilerActivity, profile
    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        run()
    events = list(p.profiler.kineto_results.events())
    mem = sorted((e.start_ns(), e.nbytes()) for e in events
                 if e.name() == "[memory]")
    ops = [(e.start_ns(), e.start_ns() + e.duration_ns(), e.name())
           for e in events if e.name() != "[memory]"]
    level = peak = at = 0
    for i, (_, n) in enumerate(mem):
        level += n
        if level > peak:
            peak, at = level, i

    def around(t):
        # The allocation ops themselves (aten::empty*) say nothing.
        inside = [o for o in ops if o[0] <= t <= o[1]
                  and not o[2].startswith("aten::empty")]
        return min(inside, key=lambda o: o[1] - o[0])[2] if inside else ""
    return {"peak_bytes": peak, "allocation": at, "allocations": len(mem),
            "last": [(n, around(t)) for t, n in mem[max(0, at - before + 1):
                                                    at + 1]]}


def recomputed(ops):
    return sorted({g for g, p in computes(ops) if p == "backward-recompute"})


def probe(args, which):
    step, inputs = cf.MODELS[args.model]()
    torch._dynamo.reset()
    cost = calibrate()
    workdir = tempfile.mkdtemp(prefix="remat-probe-")
    if which == "pytorch":
        backend = cf._pytorch_backend(args.fraction, args.solver,
                                      cf._RecordingMinCut(cost))
    else:
        backend = remat_backend(
            args.fraction, on_infeasible="least", cost=cost,
            fusion_peak_guard=FUSION_PEAK_GUARD, budget_reference="pytorch",
            reference_solver=args.solver, keep_files=workdir,
            count_gradients=args.count_gradients)
    run, row = cf._compile(step, inputs, backend)
    out = {"compile": which, "model": args.model, "fraction": args.fraction,
           "solver": args.solver, "measured_peak": row["peak_bytes"]}
    step.zero_grad(set_to_none=True)
    out["trace"] = peak_trace(run)
    if which == "remat":
        rep = backend.partitioner.reports[0]
        with open(os.path.join(workdir, "reference0.json")) as f:
            ref_ops = json.load(f)["ops"]
        out.update(count_gradients=args.count_gradients,
                   planned_peak=rep.planned_peak,
                   planned_time_us=rep.realised_time,
                   reference_peak=rep.reference["peak_bytes"],
                   reference_time_us=rep.reference["time"],
                   remat_recomputes=recomputed(rep.realised_ops),
                   reference_recomputes=recomputed(ref_ops))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=sorted(cf.MODELS))
    ap.add_argument("fraction", type=float)
    ap.add_argument("--solver", default="dp", choices=PYTORCH_SOLVERS)
    ap.add_argument("--count-gradients", action="store_true",
                    help="remat's model counts parameter gradients")
    args = ap.parse_args(argv)
    if not 0 < args.fraction < 1:
        ap.error(f"fraction must be in (0, 1), got {args.fraction}")
    torch.set_num_threads(1)
    for which in ("pytorch", "remat"):
        print(json.dumps(probe(args, which)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
