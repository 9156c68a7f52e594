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
allocation op itself). For each compile it also prints

- ``phases``: the allocator's level when the backward starts (what the
  forward left: saved values and the loss), and where in the backward's
  own allocations the step's peak falls;
- ``saved``: the tensors the compiled forward saved for the backward (a
  saved-tensors hook, a meter outside both partitioners), with the bytes
  that are parameters and those that are copies of parameters (a
  parameter's shape, another storage);
- for remat's compile, ``modelled``: its plan and PyTorch's set replayed
  in remat's model, with the level when the backward starts and where
  the modelled peak is (to set beside ``phases``);
- ``backward_replay_peak``: the partitioned backward graph replayed op by
  op (a model, not a meter: each op's output allocated, views free, each
  value freed after its last reader, the saved inputs resident from the
  start), i.e. the peak the partition itself implies before Inductor.

``--guard`` picks which compiles run under remat's Inductor settings (the
fusion memory guard, layout optimization off unless ``--layout
inductor``, buffer reuse off unless ``--buffer-reuse inductor``): ``remat`` (default, as in the side by side's remat-at-pytorch
pairs), ``both`` (the pytorch-SOLVER-guarded rows) or ``none`` (Inductor's
defaults, the runs before the guard).

  REMAT_BINARY=build/cli/remat PYTHONPATH=python \\
      /opt/remat-py/bin/python scripts/reference-probe.py gpt2 0.4 --solver ilp

Exit 2 on bad arguments (argparse names them).
"""

import argparse
import gc
import json
import operator
import os
import sys
import tempfile

import torch

from remat_torch import compile_frontier as cf
from remat_torch.backend import (BUFFER_REUSE, FUSION_PEAK_GUARD,
                                 LAYOUT_OPTIMIZATION, inductor_patches,
                                 remat_backend)
from remat_torch.partition_cost import calibrate
from remat_torch.partitioner import PYTORCH_SOLVERS
from remat_torch.realise import computes


MARK = "remat-probe::backward"


def marked(step, inputs, compiled):
    """One training step of ``compiled`` with its backward in a profiler
    range named MARK."""
    def run():
        step.zero_grad(set_to_none=True)
        loss = compiled(*inputs)
        with torch.profiler.record_function(MARK):
            loss.backward()
        return loss
    return run


def _innermost(ops, t):
    """The innermost profiled op around time ``t`` (ns), the allocation ops
    (aten::empty*, which say nothing) and MARK left out."""
    inside = [o for o in ops if o[0] <= t <= o[1] and o[2] != MARK
              and not o[2].startswith("aten::empty")]
    return min(inside, key=lambda o: o[1] - o[0])[2] if inside else ""


def _ops(events):
    return [(e.start_ns(), e.start_ns() + e.duration_ns(), e.name())
            for e in events if e.name() != "[memory]"]


def _mark_ns(ops):
    return min((o[0] for o in ops if o[2] == MARK), default=None)


def peak_trace(run, before=5):
    """Where the allocator's level peaks during run(): the index of the
    allocation record that reaches it, how many there are, and the
    ``before`` records up to it as (bytes, innermost op around it); with
    ``phases``, the level when run()'s MARK range (the backward) starts and
    where among the backward's allocations the peak falls."""
    from torch.profiler import ProfilerActivity, profile
    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        run()
    events = list(p.profiler.kineto_results.events())
    mem = sorted((e.start_ns(), e.nbytes()) for e in events
                 if e.name() == "[memory]")
    ops = _ops(events)
    level = peak = at = 0
    for i, (_, n) in enumerate(mem):
        level += n
        if level > peak:
            peak, at = level, i
    out = {"peak_bytes": peak, "allocation": at, "allocations": len(mem),
           "last": [(n, _innermost(ops, t)) for t, n in
                    mem[max(0, at - before + 1):at + 1]]}
    mark = _mark_ns(ops)
    if mark is not None:
        fwd = [n for t, n in mem if t < mark]
        bwd = [i for i, (t, n) in enumerate(mem) if t >= mark and n > 0]
        out["phases"] = {
            "forward_end_bytes": sum(fwd),
            "backward_allocations": len(bwd),
            # 1-based: the peak is reached by the k-th backward allocation
            # (0: the peak is in the forward).
            "backward_peak_allocation": sum(1 for i in bwd if i <= at),
            "backward_net_at_peak": peak - sum(fwd)}
    return out


def saved_tensors(run, model, inputs):
    """What the compiled forward saves for the backward, seen by a
    saved-tensors hook during run(): tensors and bytes (each storage
    once), the bytes that are the model's parameters, those that are the
    step's ``inputs``, and those of tensors with a parameter's shape in
    another storage (copies)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    given = {t.untyped_storage().data_ptr() for t in inputs
             if isinstance(t, torch.Tensor)}
    shapes = {tuple(p.shape) for p in model.parameters()}
    seen = {}

    def pack(t):
        st = t.untyped_storage()
        seen[st.data_ptr()] = (st.nbytes(), tuple(t.shape))
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    return {"tensors": len(seen),
            "bytes": sum(n for n, _ in seen.values()),
            "parameter_bytes": sum(n for ptr, (n, _) in seen.items()
                                   if ptr in params),
            "input_bytes": sum(n for ptr, (n, _) in seen.items()
                               if ptr in given),
            "parameter_shaped_copy_bytes": sum(
                n for ptr, (n, shape) in seen.items()
                if ptr not in params and shape in shapes)}


def _val_bytes(val):
    if isinstance(val, torch.Tensor):
        return val.numel() * val.element_size()
    if isinstance(val, (tuple, list)):
        return sum(_val_bytes(v) for v in val)
    return 0


def _is_view(node):
    """Whether ``node``'s output aliases an input (a view op, or getitem
    of a multi-output op)."""
    if node.target is operator.getitem:
        return True
    schema = getattr(node.target, "_schema", None)
    return bool(schema and any(r.alias_info is not None
                               and not r.alias_info.is_write
                               for r in schema.returns))


def replay_peak(gm):
    """The peak of running FX graph ``gm`` op by op in its order (a model):
    placeholders resident from the start, each non-view op's output
    allocated (bytes from its ``val`` metadata), and every value freed
    after its last reader, a view keeping its base alive."""
    nodes = list(gm.graph.nodes)
    root, last = {}, {}
    for i, n in enumerate(nodes):
        ins = [a for a in n.all_input_nodes if a in root]
        for a in ins:
            last[root[a]] = i
        view = n.op == "call_function" and _is_view(n) and ins
        root[n] = root[ins[0]] if view else n
    size = {n: _val_bytes(n.meta.get("val")) for n in nodes
            if root[n] is n and n.op in ("placeholder", "call_function")}
    level = sum(b for n, b in size.items() if n.op == "placeholder")
    peak = level
    for i, n in enumerate(nodes):
        if n.op == "call_function" and root[n] is n:
            level += size[n]
            peak = max(peak, level)
        for r in [r for r, j in last.items() if j == i and r in size]:
            level -= size.pop(r)
    return peak


def model_phases(nodes, ops):
    """A schedule ``ops`` replayed on the lowered graph's ``nodes`` (name
    -> node of the joint's remat graph) by the format's rules (a compute
    adds the node's bytes, its peak adds its workspace, a free takes the
    bytes back): the level when the first backward node is computed (what
    the model says the forward saves), and the peak, with the op index and
    node that reach it."""
    level = peak = 0
    forward_end, at = None, (None, None)
    for k, op in enumerate(ops):
        node = nodes[op["node"]]
        if op["op"] == "compute":
            if node["phase"] == "backward" and forward_end is None:
                forward_end = level
            level += node["bytes"]
            if level + node.get("workspace", 0) > peak:
                peak, at = level + node.get("workspace", 0), (k, op["node"])
        elif op["op"] == "free":
            level -= node["bytes"]
    return {"forward_end_bytes": forward_end, "peak_bytes": peak,
            "peak_op": at[0], "peak_node": at[1], "ops": len(ops)}


def recomputed(ops):
    return sorted({g for g, p in computes(ops) if p == "backward-recompute"})


def probe(args, which):
    step, inputs = cf.MODELS[args.model]()
    torch._dynamo.reset()
    cost = calibrate()
    workdir = tempfile.mkdtemp(prefix="remat-probe-")
    guarded = args.guard == "both" or (args.guard == "remat"
                                       and which == "remat")
    guard = FUSION_PEAK_GUARD if guarded else None
    layout = (LAYOUT_OPTIMIZATION if guarded and args.layout == "remat"
              else None)
    reuse = (BUFFER_REUSE if guarded and args.buffer_reuse == "remat"
             else None)
    if which == "pytorch":
        recorder = cf._RecordingMinCut(cost)
        backend = cf._pytorch_backend(args.fraction, args.solver, recorder,
                                      inductor_patches(guard, layout, reuse))
        graphs = recorder.graphs
    else:
        backend = remat_backend(
            args.fraction, on_infeasible="least", cost=cost,
            fusion_peak_guard=guard, layout_optimization=layout,
            buffer_reuse=reuse, budget_reference="pytorch",
            reference_solver=args.solver,
            keep_files=workdir, count_gradients=args.count_gradients)
        graphs = backend.partitioner.graphs
    run, row = cf._compile(step, inputs, backend)
    run = marked(step, inputs, run.compiled)
    out = {"compile": which, "model": args.model, "fraction": args.fraction,
           "solver": args.solver, "fusion_guard": guard,
           "layout_optimization": layout, "buffer_reuse": reuse,
           "measured_peak": row["peak_bytes"]}
    step.zero_grad(set_to_none=True)
    out["trace"] = peak_trace(run)
    out["saved"] = saved_tensors(run, step, inputs)
    out["backward_replay_peak"] = replay_peak(graphs[0][1])
    if which == "remat":
        rep = backend.partitioner.reports[0]
        with open(os.path.join(workdir, "reference0.json")) as f:
            ref_ops = json.load(f)["ops"]
        with open(os.path.join(workdir, "joint0.json")) as f:
            nodes = {n["name"]: n for n in json.load(f)["graph"]["nodes"]}
        out.update(count_gradients=args.count_gradients,
                   planned_peak=rep.planned_peak,
                   planned_time_us=rep.realised_time,
                   reference_peak=rep.reference["peak_bytes"],
                   reference_time_us=rep.reference["time"],
                   modelled={"remat": model_phases(nodes, rep.realised_ops),
                             "reference": model_phases(nodes, ref_ops)},
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
    ap.add_argument("--guard", default="remat",
                    choices=("remat", "both", "none"),
                    help="which compiles run under remat's Inductor "
                         "settings (the fusion memory guard, layout "
                         "optimization off with --layout remat, buffer "
                         "reuse off with --buffer-reuse remat): "
                         "remat's (default), both, or none")
    for flag, remat, inductor in cf.SETTING_FLAGS:  # the side by side's
        ap.add_argument(flag, default="remat", choices=("remat", "inductor"),
                        help=f"remat (default): the guarded compiles run "
                             f"with {remat}; inductor: {inductor}")
    args = ap.parse_args(argv)
    if not 0 < args.fraction < 1:
        ap.error(f"fraction must be in (0, 1), got {args.fraction}")
    torch.set_num_threads(1)
    for which in ("pytorch", "remat"):
        print(json.dumps(probe(args, which)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
