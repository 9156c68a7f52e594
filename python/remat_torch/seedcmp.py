"""The seed's comparison, measured: the library's own "checkpoint every
layer" against remat's optimal plan, on a Llama (transformers) and a U-Net
(diffusers).

``python3 -m remat_torch.seedcmp --remat BINARY --out DIR [--reps 5]``

Per model (``remat_torch.zoo``, size ``small``, CPU):

1. ``plain``: one training step, no checkpointing;
2. ``every layer``: ``model.gradient_checkpointing_enable()`` (transformers)
   or ``model.enable_gradient_checkpointing()`` (diffusers), the model's own
   switch;
3. ``remat, same peak``: remat's optimal plan with the budget set to the
   peak *measured* in 2 (the least feasible budget instead when that is
   infeasible, marked);
4. ``remat, same time``: the plan of remat's frontier with the least
   budget whose predicted overhead is at most the overhead *measured* in 2.

Each is measured the same way: the activation peak by PyTorch's memory
timeline (:func:`remat_torch.fidelity.profiled_peak`), the step time as the
median of ``--reps`` steps. Writes ``DIR/seedcmp.md`` and ``.json``.
The Llama is exported as a chain of layers, the U-Net as a graph twice,
each block split into its output and its internal saved tensors
(``export_graph(split=True)``), so that a plan can keep a block's output
and recompute the rest, as torch.utils.checkpoint does: at the granularity
diffusers checkpoints at (``fine=2``: its ResNet blocks, resamplers and,
inside each transformer, its norm, projections and
``transformer_blocks``), for the every-layer run's predicted peak; with
each transformer one block (``fine=True``), for remat's plans. A U-Net plan is the fastest within the budget of remat's optimal
plan and its plan over the forward/backward split class
(``--recompute-once-in-backward``), each made runnable in module mode
(:func:`runnable`) and its peak recomputed by ``remat simulate``.
"""

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys

import torch

from . import zoo
from .applyplan import apply_plan, compute_counts
from .chainexport import export_chain
from .export import clock, write_model
from .fidelity import _LEAST, profiled_peak
from .graphexport import INTERNALS, discover_graph, export_graph
from .models import discover_chain, output_tensor


_FOUND = re.compile(r"least budget proven feasible is .*?\((\d+) bytes\)")


def _remat(binary, *args):
    proc = subprocess.run([binary] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def _plan(binary, model, out, budget):
    code, _, err = _remat(binary, "plan", model, "--strategy", "optimal",
                          "--budget", budget, "-o", out)
    note = ""
    if code == 3:
        least = _LEAST.search(err) or _FOUND.search(err)
        if not least:
            raise RuntimeError("remat plan: %s" % err.strip())
        budget = int(least.group(1))
        note = ("least feasible budget" if least.re is _LEAST else
                "least budget remat found feasible in its time limit")
        code, _, err = _remat(binary, "plan", model, "--strategy",
                              "optimal", "--budget", budget, "-o", out)
    if code != 0:
        raise RuntimeError("remat plan: %s" % err.strip())
    with open(out, encoding="utf-8") as f:
        sched = json.load(f)
    # A graph plan that computes a node three times or more cannot run in
    # module mode (torch.utils.checkpoint recomputes once): raise the budget
    # by 5% until it can, and say so.
    for _ in range(20):
        if _once_recomputed(sched):
            return sched, note
        budget = int(sched["budget_bytes"] * 1.05)
        code, _, err = _remat(binary, "plan", model, "--strategy",
                              "optimal", "--budget", budget, "-o", out)
        if code != 0:
            raise RuntimeError("remat plan: %s" % err.strip())
        with open(out, encoding="utf-8") as f:
            sched = json.load(f)
        note = "least budget in 5% steps whose plan recomputes each node " \
            "at most once"
    raise RuntimeError("remat plan: no plan recomputing each node at most "
                       "once up to %d bytes" % budget)


def runnable(sched, model):
    """``sched`` as module mode runs it, on a graph exported with
    ``split=True``: a block whose output the plan recomputes more often
    than its internals (free to recompute in the model, impossible for
    torch.utils.checkpoint) keeps that output from its first computation
    to its last free instead. The ops are otherwise unchanged; the
    ``predicted`` figures must be recomputed (``remat simulate``)."""
    names = {n["name"] for n in model["graph"]["nodes"]}
    ops = sched["ops"]
    counts = compute_counts(ops)
    fix = {n for n in counts if n + INTERNALS in names
           and counts[n] > counts.get(n + INTERNALS, 0)}
    last_free = {op["node"]: k for k, op in enumerate(ops)
                 if op.get("op") == "free"}
    out, done = [], set()
    for k, op in enumerate(ops):
        node = op.get("node")
        if node in fix:
            if op["op"] == "compute":
                if node in done:
                    continue
                done.add(node)
            elif op["op"] == "free" and last_free[node] != k:
                continue
        out.append(op)
    return dict(sched, ops=out)


def every_layer_schedule(doc, checkpointed):
    """diffusers' every-layer run as a schedule of a graph exported with
    ``split=True``: the nodes in file order (forward, loss, backward); a
    block in ``checkpointed`` frees its ``#internals`` right after its
    output is made and recomputes them just before its backward node;
    every value is freed after its last reader."""
    nodes = doc["graph"]["nodes"]
    names = {n["name"] for n in nodes}
    seq = []
    for n in nodes:
        name = n["name"]
        base = name[2:] if n["phase"] == "backward" else None
        if base in checkpointed and base + INTERNALS in names:
            seq.append(("compute", base + INTERNALS))
        seq.append(("compute", name))
        if name in checkpointed and name + INTERNALS in names:
            seq.append(("free", name + INTERNALS))
    inputs = {n["name"]: n["inputs"] for n in nodes}
    last = {}
    for k, (kind, name) in enumerate(seq):
        if kind == "compute":
            for u in inputs[name]:
                last[u] = k
    ops, resident = [], set()
    for k, (kind, name) in enumerate(seq):
        ops.append({"op": kind, "node": name})
        if kind == "free":
            resident.discard(name)
            continue
        resident.add(name)
        for u in inputs[name]:
            if last[u] == k and u in resident:
                ops.append({"op": "free", "node": u})
                resident.discard(u)
    return ops


def _simulated(binary, model, path):
    code, out, err = _remat(binary, "simulate", model, path, "--json")
    doc = json.loads(out) if out.strip() else {}
    if not doc.get("valid"):
        raise RuntimeError("remat simulate %s: %s" % (path, err.strip()))
    return doc["simulated"]


def _graph_candidate(binary, model, doc, out, budget, limit):
    """The fastest plan module mode runs whose peak is at most ``limit``
    (by ``remat simulate`` after :func:`runnable`), of remat's optimal plan
    at ``budget`` and its plan over the forward/backward split class, or
    None; and the least such peak of any runnable plan (None if none)."""
    best, least = None, None
    for extra in ([], ["--recompute-once-in-backward"]):
        code, _, err = _remat(binary, "plan", model, "--strategy", "optimal",
                              "--budget", int(budget), "-o", out, *extra)
        if code == 3:
            continue
        if code != 0:
            raise RuntimeError("remat plan: %s" % err.strip())
        with open(out, encoding="utf-8") as f:
            sched = runnable(json.load(f), doc)
        if not _once_recomputed(sched):
            continue
        with open(out, "w", encoding="utf-8") as f:
            json.dump(sched, f)
        sim = _simulated(binary, model, out)
        sched["predicted"] = sim
        least = min(least or sim["peak_bytes"], sim["peak_bytes"])
        if sim["peak_bytes"] <= limit and (
                best is None or sim["time"] < best["predicted"]["time"]):
            best = sched
    if best is not None:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(best, f)
    return best, least


def _graph_plan(binary, model, out, target):
    """A U-Net plan whose peak as module mode runs it is at most
    ``target``: planned at ``target``, then at budgets lowered by the
    excess; failing that, the least limit in 5% steps above ``target``."""
    with open(model, encoding="utf-8") as f:
        doc = json.load(f)
    budget, note = target, ""
    for _ in range(12):
        sched, least = _graph_candidate(binary, model, doc, out, budget,
                                        target)
        if sched is not None:
            return sched, note
        if least is None:
            break
        budget -= max(least - target, target // 100)
        note = "planned at %.2f MiB, as module mode runs it" % (
            budget / 2**20)
    limit = target
    for _ in range(20):
        limit = int(limit * 1.05)
        sched, _ = _graph_candidate(binary, model, doc, out, limit, limit)
        if sched is not None:
            return sched, ("least budget in 5% steps with a plan module "
                           "mode runs")
    raise RuntimeError("remat plan: no plan module mode runs up to %d "
                       "bytes" % limit)


def _once_recomputed(sched):
    return all(c <= 2 for c in compute_counts(sched["ops"]).values())


def _measure(made, step, reps):
    model = made["model"]

    def once():
        model.zero_grad(set_to_none=True)
        torch.manual_seed(0)
        step()
    once()  # warm-up
    model.zero_grad(set_to_none=True)
    peak = profiled_peak(lambda: (torch.manual_seed(0), step()), model)
    times, clk = [], clock(torch.device("cpu"))
    for _ in range(reps):
        model.zero_grad(set_to_none=True)
        t = clk()
        torch.manual_seed(0)
        step()
        times.append((clk() - t) * 1000.0)
    return peak, statistics.median(times)


def _plain_step(made):
    def step():
        loss = made["loss_fn"](output_tensor(made["model"](**made["inputs"])))
        loss.backward()
    return step


def _every_layer(model, on):
    if hasattr(model, "gradient_checkpointing_enable"):  # transformers
        if on:
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_disable()
    elif on:  # diffusers
        model.enable_gradient_checkpointing()
    else:
        model.disable_gradient_checkpointing()


def compare_model(binary, name, workdir, reps):
    made = zoo.build(name, size="small")
    model = made["model"]
    path = os.path.join(workdir, name + ".json")
    fine2 = os.path.join(workdir, name + ".fine2.json")
    if made["form"] == "graph":
        # Plans at fine=True: at fine=2 the plans free many more block
        # outputs and recompute them from their internals for nothing
        # (time 0), which module mode cannot do; runnable() then keeps
        # them, above the budget at every budget tried.
        for fine, out in ((True, path), (2, fine2)):
            graph = discover_graph(model, made["inputs"], made["loss_fn"],
                                   fine=fine)
            write_model(export_graph(graph, name, reps=reps, split=True),
                        out)
    else:
        chain = discover_chain(model, made["inputs"], made["loss_fn"])
        write_model(export_chain(chain, name, reps=reps), path)
    rows = []
    peak0, t0 = _measure(made, _plain_step(made), reps)
    rows.append(("plain", peak0, t0, "", None))
    _every_layer(model, True)
    peak1, t1 = _measure(made, _plain_step(made), reps)
    _every_layer(model, False)
    api = ("gradient_checkpointing_enable()" if made["form"] == "chain"
           else "enable_gradient_checkpointing()")
    every = None
    if made["form"] == "graph":
        every = _every_layer_predicted(binary, fine2, os.path.join(
            workdir, name + ".every-layer.json"))
    rows.append(("every layer (%s)" % api, peak1, t1, "", every))
    plan = _graph_plan if made["form"] == "graph" else _plan
    sched, note = plan(binary, path, os.path.join(workdir, name +
                                                  ".same-peak.json"), peak1)
    rows.append(_remat_row(made, sched, "remat optimal, same peak", note,
                           reps))
    code, out, err = _remat(binary, "frontier", path, "--json")
    if code != 0:
        raise RuntimeError("remat frontier: %s" % err.strip())
    target = t1 / t0 - 1
    points = [p for p in json.loads(out)["points"]
              if p["overhead"] <= target]
    if points:
        budget = min(p["budget_bytes"] for p in points)
        sched, note = plan(binary, path, os.path.join(
            workdir, name + ".same-time.json"), budget)
        rows.append(_remat_row(made, sched, "remat optimal, same time",
                               note, reps))
    return [{"model": name, "run": r, "measured_peak": p, "step_ms": t,
             "overhead": t / t0 - 1, "note": n, "predicted_peak": pp}
            for r, p, t, n, pp in rows]


def _every_layer_predicted(binary, model, out, blocks=None):
    """remat's peak for :func:`every_layer_schedule` with ``blocks``
    checkpointed, by default diffusers' (ResNet blocks and each
    transformer's ``transformer_blocks``; not the transformer's norm and
    projections, nor the resamplers)."""
    with open(model, "rb") as f:
        raw = f.read()
    doc = json.loads(raw)
    if blocks is None:
        blocks = {n["name"] for n in doc["graph"]["nodes"]
                  if ".resnets." in n["name"]
                  or ".transformer_blocks." in n["name"]}
    sched = {"format": "remat-schedule", "version": 1, "model": doc["name"],
             "model_sha256": hashlib.sha256(raw).hexdigest(),
             "strategy": "every-layer", "budget_bytes": None,
             "predicted": {"peak_bytes": 0, "time": 0, "baseline_time": 0,
                           "baseline_peak_bytes": 0, "overhead": 0,
                           "forward_recomputations": 0},
             "ops": every_layer_schedule(doc, blocks)}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(sched, f)
    return _simulated(binary, model, out)["peak_bytes"]


def _remat_row(made, sched, label, note, reps):
    applied = apply_plan(made["model"], sched, made["inputs"],
                         made["loss_fn"])
    try:
        peak, t = _measure(made, applied.step, reps)
    finally:
        applied.remove()
    return (label + " (%s mode)" % applied.mode, peak, t, note,
            sched["predicted"]["peak_bytes"])


def table(rows, header):
    lines = [header, "", "| model | run | measured peak MiB | remat's "
             "predicted peak MiB | step ms | overhead |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        pred = ("-" if r["predicted_peak"] is None
                else "%.2f" % (r["predicted_peak"] / 2**20))
        lines.append("| %s | %s%s | %.2f | %s | %.1f | %.1f%% |" % (
            r["model"], r["run"], " (%s)" % r["note"] if r["note"] else "",
            r["measured_peak"] / 2**20, pred, r["step_ms"],
            100 * r["overhead"]))
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m remat_torch.seedcmp",
                                description=__doc__.splitlines()[0])
    p.add_argument("--remat", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--models", default="llama,unet")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        print("seedcmp: %s" % name, file=sys.stderr, flush=True)
        rows += compare_model(args.remat, name, args.out, args.reps)
    header = ("cpu, 1 thread, torch %s, zoo size small; peak: torch.profiler "
              "memory timeline; time: median of %d steps, thread CPU clock"
              % (torch.__version__, args.reps))
    text = table(rows, header)
    with open(os.path.join(args.out, "seedcmp.md"), "w",
              encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(args.out, "seedcmp.json"), "w",
              encoding="utf-8") as f:
        json.dump({"header": header, "rows": rows}, f, indent=1)
        f.write("\n")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
