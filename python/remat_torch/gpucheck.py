"""Predicted versus measured activation memory of remat plans on a GPU.

``python3 -m remat_torch.gpucheck --remat BINARY --out DIR [--device cuda]``

1. builds a model with a factory (default: the small GPT of
   ``python/examples/gpt.py``, sized up on CUDA) and exports it with
   :func:`remat_torch.export_model` on the device;
2. plans it with ``remat plan``: store-all (``none``), ``sqrt``, and
   ``optimal`` at 50% and 25% of the store-all peak (a budget below the
   least feasible one is replaced by the least feasible one, and the row
   says so);
3. runs one plain training step (``plain_run``) and one step per plan
   (``run_schedule``), each from the same seed, and checks that the
   gradients agree with the plain step's;
4. on CUDA, measures each step's peak with
   ``torch.cuda.reset_peak_memory_stats`` / ``max_memory_allocated``.

What is compared: remat's ``predicted.peak_bytes`` is the activation budget
(x_0, activations, saved tensors, gradients of activations, workspaces). The
measured peak is ``max_memory_allocated`` during the step minus what was
allocated just before it (parameters, their pre-allocated gradients, the
input, cuBLAS workspace after a warm-up step), plus the input's bytes (x_0 is
part of the budget but already allocated). Gradient accumulation into the
existing ``.grad`` tensors still allocates a temporary per parameter, and
the caching allocator rounds block sizes, so ``ratio = measured /
predicted`` is expected near, not at, 1.

On ``--device cpu`` every step runs, but nothing is measured (the CPU
allocator exposes no peak): the rows show the predictions and whether the
gradients agree. Writes ``DIR/memory.json`` and ``DIR/memory.txt``.

Exit codes: 0 ok, 1 a scheduled step failed or its gradients differ from
the plain step's, 2 bad usage or a remat command failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys

import torch

from .__main__ import UsageError, _default_loss, _load_factory
from .apply import plain_run, run_schedule
from .blocks import as_blocks
from .export import export_model, write_model

_HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FACTORY = os.path.join(os.path.dirname(_HERE), "examples",
                               "gpt.py") + ":build"
# Factory keyword arguments per device: big enough on a GPU that activations
# dominate allocator rounding (about 10 GiB store-all), tiny on the CPU.
SIZES = {
    "cuda": {"layers": 8, "width": 1024, "heads": 16, "vocab": 8192,
             "context": 1024, "batch": 8, "dropout": 0.1},
    "cpu": {"layers": 3, "width": 32, "heads": 4, "vocab": 64, "context": 16,
            "batch": 2, "dropout": 0.1},
}
PLANS = [("none", ["--strategy", "none"], None),
         ("sqrt", ["--strategy", "sqrt"], None),
         ("optimal-50%", ["--strategy", "optimal"], 0.5),
         ("optimal-25%", ["--strategy", "optimal"], 0.25)]


# remat's InfeasibleBudgetError message ends with the least budget in bytes.
_LEAST = re.compile(r"smallest feasible budget is [^(]*\((\d+) bytes\)")


class RematFailed(Exception):
    pass


def _remat(binary, *args):
    proc = subprocess.run([binary] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def make_plans(binary, model, workdir):
    """Plans the model; returns [(label, schedule dict or None, note)]."""
    out, base = [], None
    for label, args, fraction in PLANS:
        path = os.path.join(workdir, "plan.%s.json" % label)
        extra = []
        if fraction is not None:
            extra = ["--budget", str(int(base * fraction))]
        code, _, err = _remat(binary, "plan", model, *args, *extra,
                              "-o", path)
        note = ""
        least = _LEAST.search(err) if code == 3 else None
        if least:  # infeasible: plan at the least feasible budget instead
            note = "at the least feasible budget, %s bytes" % least.group(1)
            code, _, err = _remat(binary, "plan", model, *args, "--budget",
                                  least.group(1), "-o", path)
        if code == 3:
            out.append((label, None, err.strip()))
            continue
        if code != 0:
            raise RematFailed("remat plan %s: %s" % (label, err.strip()))
        with open(path, encoding="utf-8") as f:
            sched = json.load(f)
        if label == "none":
            base = sched["predicted"]["peak_bytes"]
        out.append((label, sched, note))
    return out


def _grads(modules):
    return [p.grad.detach().clone() for m in modules for p in m.parameters()
            if p.grad is not None]


def _zero_grads(modules):
    # In place: the gradient tensors stay allocated, outside the measurement.
    for m in modules:
        for p in m.parameters():
            if p.grad is not None:
                p.grad.zero_()


def measure_step(step, device):
    """Runs ``step()``; returns its peak allocation above the memory
    allocated before it, in bytes, on CUDA; None elsewhere."""
    if device.type != "cuda":
        step()
        return None
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    step()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def _row(label, predicted, measured, grads_ok, note=""):
    ratio = None
    if measured is not None and predicted:
        ratio = measured / predicted
    return {"plan": label, "predicted_peak_bytes": predicted,
            "measured_peak_bytes": measured, "ratio": ratio,
            "gradients_match": grads_ok, "note": note}


def run_steps(made, plans, device, seed):
    """The plain step, then one step per plan; returns the result rows."""
    blocks, x0, loss_fn = made["blocks"], made["input"], made["loss_fn"]
    modules = [m for _, m in as_blocks(blocks)]
    x0_bytes = x0.numel() * x0.element_size()
    torch.manual_seed(seed)
    plain_run(blocks, x0, loss_fn)  # warm-up; allocates every .grad
    _zero_grads(modules)
    torch.manual_seed(seed)
    raw = measure_step(lambda: plain_run(blocks, x0, loss_fn), device)
    ref = _grads(modules)
    none = next((s for label, s, _ in plans if label == "none"), None)
    rows = [_row("plain step", none and none["predicted"]["peak_bytes"],
                 None if raw is None else raw + x0_bytes, True,
                 "torch autograd, no schedule; predicted: the none plan")]
    for label, sched, note in plans:
        if sched is None:
            rows.append(_row(label, None, None, None, note))
            continue
        _zero_grads(modules)
        torch.manual_seed(seed)
        raw = measure_step(
            lambda: run_schedule(blocks, sched["ops"], x0, loss_fn), device)
        got = _grads(modules)
        ok = len(got) == len(ref) and all(
            torch.allclose(a, b, rtol=1e-4, atol=1e-5)
            for a, b in zip(ref, got))
        rows.append(_row(label, sched["predicted"]["peak_bytes"],
                         None if raw is None else raw + x0_bytes, ok, note))
    return rows


def _mib(v):
    return "-" if v is None else "%.1f MiB" % (v / 2**20)


def format_table(rows, device):
    lines = ["%-13s %14s %14s %7s %s" % ("plan", "predicted", "measured",
                                          "ratio", "gradients")]
    for r in rows:
        grads = {True: "match", False: "DIFFER", None: "-"}[
            r["gradients_match"]]
        ratio = "-" if r["ratio"] is None else "%.3f" % r["ratio"]
        line = "%-13s %14s %14s %7s %s" % (
            r["plan"], _mib(r["predicted_peak_bytes"]),
            _mib(r["measured_peak_bytes"]), ratio, grads)
        if r["note"]:
            line += "  (%s)" % r["note"]
        lines.append(line)
    if device.type != "cuda":
        lines.append("device %s: nothing measured (no allocator peak off "
                     "CUDA); predictions and gradient checks only" % device)
    return "\n".join(lines) + "\n"


def build_model(factory, device, overrides):
    kwargs = dict(SIZES["cuda" if device.type == "cuda" else "cpu"])
    kwargs.update(overrides)
    kwargs["device"] = str(device)
    made = _load_factory(factory)(**kwargs)
    made.setdefault("loss_fn", _default_loss)
    return made, kwargs


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python3 -m remat_torch.gpucheck",
        description="Export a model, plan it with remat, run plain and "
        "scheduled training steps and compare measured CUDA peaks with "
        "remat's predictions.",
        epilog="example: python3 -m remat_torch.gpucheck --remat "
        "build-gpu/cli/remat --out gpu-check-out/torch")
    p.add_argument("--remat", required=True, help="the remat binary")
    p.add_argument("--out", required=True, help="results directory")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                   help="cuda measures; cpu runs every step without "
                   "measuring (default cuda)")
    p.add_argument("--factory", default=DEFAULT_FACTORY,
                   help="FILE.py:FUNCTION returning {'blocks', 'input', "
                   "'loss_fn'} (default: python/examples/gpt.py:build)")
    p.add_argument("--kwargs", default="{}",
                   help="JSON object overriding the factory's size "
                   "arguments, e.g. '{\"layers\": 4}'")
    p.add_argument("--reps", type=int, default=2,
                   help="timed runs per pass when exporting (default 2)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        return run(args)
    except (UsageError, RematFailed, OSError, ValueError) as exc:
        print("remat_torch.gpucheck: error: %s" % exc, file=sys.stderr)
        return 2


def run(args):
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: torch sees no CUDA device")
    device = torch.device(args.device)
    overrides = json.loads(args.kwargs)
    if not isinstance(overrides, dict):
        raise UsageError("--kwargs must be a JSON object")
    os.makedirs(args.out, exist_ok=True)
    made, kwargs = build_model(args.factory, device, overrides)
    model = os.path.join(args.out, "model.json")
    write_model(export_model(made["blocks"], made["input"], "gpucheck",
                             loss_fn=made["loss_fn"], reps=args.reps), model)
    plans = make_plans(args.remat, model, args.out)
    rows = run_steps(made, plans, device, args.seed)
    desc = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else "cpu")
    result = {"device": desc, "torch": torch.__version__, "factory":
              args.factory, "factory_kwargs": kwargs, "rows": rows}
    with open(os.path.join(args.out, "memory.json"), "w",
              encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    table = "device: %s, torch %s\n" % (desc, torch.__version__)
    table += format_table(rows, device)
    with open(os.path.join(args.out, "memory.txt"), "w",
              encoding="utf-8") as f:
        f.write(table)
    sys.stdout.write(table)
    failed = [r["plan"] for r in rows if r["gradients_match"] is False]
    if failed:
        print("remat_torch.gpucheck: gradients differ from the plain step's "
              "for %s" % ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
