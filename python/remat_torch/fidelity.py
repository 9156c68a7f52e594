"""Predicted against measured, on real models, with a meter remat does not
control.

``python3 -m remat_torch.fidelity --remat BINARY --out DIR [--models ...]
[--size small] [--device cpu|cuda] [--reps 5]``

For each model of :mod:`remat_torch.zoo` (default: gpt2, llama, bert,
timm-vit, timm-resnet): export it (chain form, on the device), plan it with
the remat CLI under five strategies, apply each plan with
:func:`remat_torch.apply_plan`, and measure one training step:

- **peak**: on CPU, PyTorch's own memory profiler
  (``torch.profiler.profile(profile_memory=True)`` and its memory timeline
  of every tensor's creation and destruction). The measured activation
  peak is the maximum over the step of everything but the model's
  parameters, buffers and parameter gradients, told apart by their
  storages (:func:`profiled_peak`). On CUDA,
  ``torch.cuda.max_memory_allocated`` during the step minus what was
  allocated before it, with every parameter gradient already allocated
  (zeroed in place) before the step, plus the input's bytes.
- **time**: the median of ``--reps`` steps, the plain step (plan ``none``)
  measured in the same rounds; measured overhead = t_plan / t_none - 1.
  A plan run by remat's executor is timed against the store-all plan run
  by the executor (t_plan / t_executor_none - 1), since its prediction is
  the recomputation's cost alone; that store-all run is a row of its own,
  timed against the plain step, predicted 0: the executor's own cost
  (Python dispatch, one autograd call per stage), which no model file
  describes, shown and judged rather than folded into other rows.
  On the CPU with one thread, a step's time is the thread's CPU time
  (:func:`remat_torch.export.clock`), so other processes on a shared
  machine do not count.
- **predicted overhead**: the model is exported twice, with the
  recomputation costs of torch.utils.checkpoint (``recompute=
  "checkpoint"``, what the plans are made from) and of remat's executor
  (``"executor"``); a plan run in module mode is predicted by the first,
  one run by the executor by ``remat simulate`` on the second, over the
  second's own plain step. The two exports measure the plain step in
  separate rounds, and on a noisy machine their sums differ (timm ResNet,
  2026-12-06: 103.5 ms against 79.5 ms), so a ratio across them is not an
  overhead; until 2026-12-06 the executor rows divided by the first's and
  read as low as -5.5%.

Strategies: ``none``; ``sqrt``; ``every-layer`` (``selective --kinds`` the
layer class: what ``gradient_checkpointing_enable()`` does); ``optimal`` at
50% and at 25% of the store-all peak (the least feasible budget instead
when that is infeasible, marked). Selective attention-only checkpointing
does not apply at this granularity (a stage is a whole layer).

Negative controls, which must fail: ``hidden-alloc`` runs the every-layer
plan with a forward hook that keeps a copy of each layer's output and a
buffer of 10% of the prediction (memory remat does not know about);
``wrong-plan`` runs the store-all step but compares it with the sqrt plan's
prediction.

Writes ``DIR/fidelity.json`` and ``DIR/fidelity.md`` (the table).
Exit codes: 0 ok (the table was made, controls failed as they must), 1 a
negative control was not detected or gradients differ, 2 usage.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import torch

from . import zoo
from .applyplan import apply_plan
from .chainexport import export_chain
from .export import clock, write_model
from .memtimeline import profiled_peak
from .models import discover_chain, output_tensor

DEFAULT_MODELS = ["gpt2", "llama", "bert", "timm-vit", "timm-resnet"]
_LEAST = re.compile(r"smallest feasible budget.*?\((\d+) bytes\)")
PEAK_GOAL = 0.05       # |measured / predicted - 1|
OVERHEAD_GOAL = 0.10   # |measured - predicted| overhead, in points / 100


class Failed(Exception):
    pass


def remat(binary, *args):
    proc = subprocess.run([binary] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def plan(binary, model, out, *args):
    code, _, err = remat(binary, "plan", model, *args, "-o", out)
    if code != 0:
        raise Failed("remat plan %s: %s" % (" ".join(args), err.strip()))
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def plan_budget(binary, model, out, budget):
    """Optimal at ``budget``, else at the least feasible one; (plan, note)."""
    code, _, err = remat(binary, "plan", model, "--strategy", "optimal",
                         "--budget", budget, "-o", out)
    note = ""
    if code == 3:
        least = _LEAST.search(err)
        if not least:
            raise Failed(err.strip())
        budget = int(least.group(1))
        note = "least feasible budget"
        code, _, err = remat(binary, "plan", model, "--strategy", "optimal",
                             "--budget", budget, "-o", out)
    if code != 0:
        raise Failed(err.strip())
    with open(out, encoding="utf-8") as f:
        return json.load(f), note


def simulated_overhead(binary, model, schedule_path):
    """``remat simulate --force --json``'s simulated overhead of a schedule
    on another export of the same model (other times, same bytes), against
    that export's own plain step."""
    code, out, err = remat(binary, "simulate", model, schedule_path,
                           "--force", "--json")
    if code not in (0, 1):
        raise Failed("remat simulate %s: %s" % (schedule_path, err.strip()))
    doc = json.loads(out)
    if not doc.get("valid"):
        raise Failed("remat simulate %s: invalid on %s" % (schedule_path,
                                                           model))
    return doc["simulated"]["overhead"]


def make_plans(binary, model, workdir, layer_kind):
    base = os.path.join(workdir, os.path.basename(model)[:-5])
    plans = [("none", plan(binary, model, base + ".none.json", "--strategy",
                           "none"), "")]
    peak = plans[0][1]["predicted"]["peak_bytes"]
    plans.append(("sqrt", plan(binary, model, base + ".sqrt.json",
                               "--strategy", "sqrt"), ""))
    plans.append(("every-layer", plan(binary, model, base + ".every.json",
                                      "--strategy", "selective", "--kinds",
                                      layer_kind), ""))
    for pct in (50, 25):
        p, note = plan_budget(binary, model, base + ".opt%d.json" % pct,
                              peak * pct // 100)
        plans.append(("optimal-%d%%" % pct, p, note))
    paths = [base + ".%s.json" % k for k in
             ("none", "sqrt", "every", "opt50", "opt25")]
    for (_, p, _), path in zip(plans, paths):
        p["_path"] = path
    return plans


def cuda_peak(step, model, x0):
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        p.grad.zero_()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before
            + x0.numel() * x0.element_size())


def _grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()
            if p.grad is not None}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class Runner:
    """One model: its applied plans, stepped and measured."""

    def __init__(self, made, device):
        self.made, self.device = made, device
        self.model = made["model"]

    def applied(self, sched, mode="auto"):
        return apply_plan(self.model, sched, self.made["inputs"],
                          self.made["loss_fn"], mode=mode)

    def step_fn(self, applied, seed=0):
        def step():
            torch.manual_seed(seed)
            applied.step()
        return step

    def step_ms(self, applied):
        """One step's time (ms) by :func:`remat_torch.export.clock`."""
        self.model.zero_grad(set_to_none=True)
        step = self.step_fn(applied)
        clk = clock(self.device)
        _sync(self.device)
        t = clk()
        step()
        _sync(self.device)
        return (clk() - t) * 1000.0

    def peak(self, applied):
        step = self.step_fn(applied)
        self.model.zero_grad(set_to_none=True)
        step()  # warm-up (lazy initialisation, caches)
        self.model.zero_grad(set_to_none=True)
        x0 = self.made["inputs"][self.made["input_key"]]
        if self.device.type == "cuda":
            return cuda_peak(step, self.model, x0)
        return profiled_peak(step, self.model)


def measure_model(binary, name, size, device, reps, workdir,
                  workspaces=True):
    made = zoo.build(name, size=size, device=device)
    chain = discover_chain(made["model"], made["inputs"], made["loss_fn"])
    path = os.path.join(workdir, "%s.json" % name)
    write_model(export_chain(chain, name, reps=reps,
                             cpu_workspace=workspaces), path)
    ex_path = os.path.join(workdir, "%s.executor.json" % name)
    write_model(export_chain(chain, name, reps=reps,
                             cpu_workspace=workspaces,
                             recompute="executor"), ex_path)
    kind = next(s.kind for s in chain.stages if s.role == "layer")
    plans = make_plans(binary, path, workdir, kind)
    # The store-all plan once more through the executor: its time over the
    # plain step is the executor's own cost, which no model file describes.
    runs = [(label, sched, note, "auto") for label, sched, note in plans]
    runs.append(("none", plans[0][1], EXECUTOR_BASE_NOTE, "executor"))
    runner = Runner(made, device)
    rows = measure_runs(binary, runner, runs, ex_path, reps)
    rows += negative_controls(runner, chain, plans)
    return rows


#: The note of the executor's store-all row.
EXECUTOR_BASE_NOTE = "the executor's own cost, not predicted"


def measure_runs(binary, runner, runs, ex_path, reps):
    """Rows of ``runs`` (label, schedule, note, mode): gradients against a
    plain step, peak, predicted and measured overhead. The first run is the
    plain step and the last the store-all plan run by the executor; a plan
    the executor runs is timed against that last one, so that its measured
    overhead is the recomputation's, as remat predicts it, and the last
    row shows what the executor itself adds to a plain step."""
    made = runner.made
    torch.manual_seed(0)
    made["model"].zero_grad(set_to_none=True)
    runner.step_fn(_Plain(made))()
    ref = _grads(made["model"])
    rows = []
    for label, sched, note, mode in runs:
        a = runner.applied(sched, mode)
        made["model"].zero_grad(set_to_none=True)
        runner.step_fn(a)()
        got = _grads(made["model"])
        same = set(got) == set(ref) and all(
            torch.allclose(ref[k], got[k], rtol=1e-4, atol=1e-5) for k in ref)
        peak = runner.peak(a)
        a.remove()
        pred = sched["predicted"]
        overhead = pred["overhead"]
        if a.mode == "executor":
            overhead = simulated_overhead(binary, ex_path, sched["_path"])
        rows.append({"model": made["name"], "plan": label, "mode": a.mode,
                     "predicted_peak": pred["peak_bytes"],
                     "measured_peak": peak,
                     "predicted_overhead": overhead,
                     "gradients_match": same, "note": note})
    # Interleaved rounds, each plan applied alone (patches do not stack).
    times = [[] for _ in runs]
    for _ in range(reps):
        for k, (_, sched, _, mode) in enumerate(runs):
            a = runner.applied(sched, mode)
            times[k].append(runner.step_ms(a))
            a.remove()
    med = [statistics.median(t) for t in times]
    plain_ms, executor_ms = med[0], med[-1]
    bases = [executor_ms if r["mode"] == "executor" else plain_ms
             for r in rows[:-1]] + [plain_ms]
    for row, t, base in zip(rows, med, bases):
        row["step_ms"] = t
        row["base_ms"] = base
        row["measured_overhead"] = t / base - 1
    return rows


class _Plain:
    def __init__(self, made):
        self.made = made

    def step(self):
        loss = self.made["loss_fn"](output_tensor(
            self.made["model"](**self.made["inputs"])))
        loss.backward()
        return loss


#: The hidden-alloc control's extra buffer, a share of the predicted peak:
#: twice the peak goal, so that a meter that sees it cannot pass.
HIDDEN_SHARE = 0.10


def negative_controls(runner, chain, plans):
    by = {label: sched for label, sched, _ in plans}
    rows = []
    # 1. Memory remat does not know about: each layer's output copied, and
    # a buffer of HIDDEN_SHARE of the prediction made in the first layer's
    # hook, so that the control exceeds the 5% goal whatever share of the
    # peak the layers' outputs are (on ResNet with oneDNN's AVX2 reorders
    # as workspaces, the copies alone added 2%).
    predicted = by["every-layer"]["predicted"]["peak_bytes"]
    kept, handles = [], []

    def hide(m, a, out):
        kept.append(output_tensor(out).clone())

    def hide_more(m, a, out):  # every step: the meter sees this step's
        hide(m, a, out)
        kept.append(torch.ones(int(HIDDEN_SHARE * predicted) // 4))
    layers = [s for s in chain.stages if s.role == "layer"]
    for k, s in enumerate(layers):
        handles.append(s.parts[0].register_forward_hook(
            hide_more if k == 0 else hide))
    a = runner.applied(by["every-layer"])
    try:
        peak = runner.peak(a)
    finally:
        a.remove()
        for h in handles:
            h.remove()
    rows.append({"model": runner.made["name"], "plan": "control: hidden-alloc",
                 "mode": a.mode,
                 "predicted_peak": by["every-layer"]["predicted"][
                     "peak_bytes"], "measured_peak": peak,
                 "predicted_overhead": None, "gradients_match": None,
                 "note": "every-layer plus a hook keeping each layer's "
                 "output and a buffer of %d%% of the prediction: must "
                 "fail" % round(100 * HIDDEN_SHARE), "control": True})
    # 2. The wrong plan: store-all run, judged against sqrt's prediction.
    a = runner.applied(by["none"])
    try:
        peak = runner.peak(a)
    finally:
        a.remove()
    rows.append({"model": runner.made["name"], "plan": "control: wrong-plan",
                 "mode": a.mode,
                 "predicted_peak": by["sqrt"]["predicted"]["peak_bytes"],
                 "measured_peak": peak, "predicted_overhead": None,
                 "gradients_match": None,
                 "note": "store-all step against sqrt's prediction: must "
                 "fail", "control": True})
    return rows


def judge(rows):
    for r in rows:
        r["peak_error"] = r["measured_peak"] / r["predicted_peak"] - 1
        r["peak_ok"] = abs(r["peak_error"]) <= PEAK_GOAL
        if r.get("measured_overhead") is not None:
            r["overhead_error"] = (r["measured_overhead"]
                                   - r["predicted_overhead"])
            r["overhead_ok"] = abs(r["overhead_error"]) <= OVERHEAD_GOAL
    return rows


def _mib(v):
    return "%.2f" % (v / 2**20)


def table(rows, header):
    lines = [header, "",
             "| model | plan | mode | predicted peak MiB | measured peak MiB "
             "| peak error | predicted overhead | measured overhead | "
             "overhead error | gradients |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("control"):
            ov = "-", "-", "-"
            verdict = "detected" if not r["peak_ok"] else "MISSED"
            grads = verdict
        else:
            ov = ("%.1f%%" % (100 * r["predicted_overhead"]),
                  "%.1f%%" % (100 * r["measured_overhead"]),
                  "%+.1f pt%s" % (100 * r["overhead_error"],
                                  "" if r["overhead_ok"] else " !"))
            grads = "equal" if r["gradients_match"] else "DIFFER"
        plan_label = r["plan"] + (" (%s)" % r["note"] if r["note"] and
                                  not r.get("control") else "")
        lines.append("| %s | %s | %s | %s | %s | %+.1f%%%s | %s | %s | %s "
                     "| %s |" % (r["model"], plan_label, r["mode"],
                                 _mib(r["predicted_peak"]),
                                 _mib(r["measured_peak"]),
                                 100 * r["peak_error"],
                                 "" if r["peak_ok"] else " !", ov[0], ov[1],
                                 ov[2], grads))
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m remat_torch.fidelity",
                                description=__doc__.splitlines()[0])
    p.add_argument("--remat", required=True, help="the remat binary")
    p.add_argument("--out", required=True, help="results directory")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help="comma-separated zoo names (default: %(default)s)")
    p.add_argument("--size", default="small", help="zoo size (default "
                   "small)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--reps", type=int, default=5,
                   help="timed steps per plan (default 5)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: steadier times)")
    p.add_argument("--no-workspaces", dest="workspaces",
                   action="store_false",
                   help="export CPU workspaces as 0 instead of measuring "
                   "them with the profiler (see docs/runtime.md)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("remat_torch.fidelity: --device cuda: no CUDA device",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        print("fidelity: %s" % name, file=sys.stderr, flush=True)
        try:
            rows += measure_model(args.remat, name, args.size, device,
                                  args.reps, args.out, args.workspaces)
        except Failed as exc:
            print("remat_torch.fidelity: %s: %s" % (name, exc),
                  file=sys.stderr)
            return 2
    judge(rows)
    meter = ("torch.cuda.max_memory_allocated" if device.type == "cuda"
             else "torch.profiler memory timeline (profile_memory=True)")
    header = ("device %s, torch %s, zoo size %s, %d CPU thread(s), "
              "workspaces %s, peak meter: %s; time: median of %d steps "
              "(%s)" % (
                  torch.cuda.get_device_name() if device.type == "cuda"
                  else "cpu", torch.__version__, args.size, args.threads,
                  "profiled" if args.workspaces else "0 (not exported)",
                  meter, args.reps,
                  "thread CPU time" if clock(device) is time.thread_time
                  else "wall time"))
    header += ("; measured overhead: over the plain step, except for plans "
               "the executor runs: over the executor's store-all step, whose "
               "own cost over the plain step is the row marked \"%s\""
               % EXECUTOR_BASE_NOTE)
    text = table(rows, header)
    with open(os.path.join(args.out, "fidelity.json"), "w",
              encoding="utf-8") as f:
        json.dump({"header": header, "rows": rows}, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, "fidelity.md"), "w",
              encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    bad = [r for r in rows if r.get("control") and r["peak_ok"]]
    bad += [r for r in rows if r.get("gradients_match") is False]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
