"""Command line: ``python3 -m remat_torch export|apply ...``.

A *factory* names a Python function, as ``path/to/file.py:function`` or
``package.module:function``, that returns
``{"blocks": ..., "input": tensor, "loss_fn": callable}`` (loss_fn optional;
the default is the mean of the squared output). ``--kwargs`` passes a JSON
object of keyword arguments to it.

``export-model`` / ``apply-model`` take an unmodified model instead:
``--zoo NAME`` (a small model built from its configuration by
:mod:`remat_torch.zoo`: gpt2, llama, bert, timm-vit, timm-resnet, unet) or
``--factory`` returning ``{"model": nn.Module, "inputs": dict of forward
keyword arguments, "loss_fn": output tensor -> scalar}``.

Exit codes: 0 ok, 1 the scheduled run does not match the plain run, 2 bad
input.
"""

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys

import torch

from .apply import (ForwardCounter, ScheduleError, load_plan, plain_run,
                    run_schedule, schedule_forward_counts)
from .blocks import as_blocks
from .export import export_model, write_model


class UsageError(Exception):
    pass


def _load_factory(spec):
    target, sep, fn_name = spec.rpartition(":")
    if not sep or not target or not fn_name:
        raise UsageError("--factory %r: expected FILE.py:FUNCTION or "
                         "module:FUNCTION" % spec)
    if target.endswith(".py"):
        if not os.path.exists(target):
            raise UsageError("--factory: %s does not exist" % target)
        name = "_remat_factory_%d" % abs(hash(os.path.abspath(target)))
        mod_spec = importlib.util.spec_from_file_location(name, target)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    fn = getattr(module, fn_name, None)
    if fn is None:
        raise UsageError("--factory: %s has no function %r" % (target, fn_name))
    return fn


def _default_loss(y):
    return y.float().pow(2).mean()


def _build(args):
    kwargs = json.loads(args.kwargs) if args.kwargs else {}
    if not isinstance(kwargs, dict):
        raise UsageError("--kwargs must be a JSON object")
    if args.device:
        kwargs["device"] = args.device
    made = _load_factory(args.factory)(**kwargs)
    if not isinstance(made, dict) or "blocks" not in made or "input" not in made:
        raise UsageError("the factory must return a dict with 'blocks' and "
                         "'input'")
    made.setdefault("loss_fn", _default_loss)
    return made


def cmd_export(args):
    made = _build(args)
    name = args.name or os.path.splitext(os.path.basename(args.output))[0]
    doc = export_model(made["blocks"], made["input"], name,
                       loss_fn=made["loss_fn"], reps=args.reps)
    write_model(doc, args.output)
    print("wrote %s: %d layers, input %d bytes"
          % (args.output, len(doc["layers"]), doc["input_bytes"]))
    return 0


def _grads(blocks):
    out = []
    for name, m in as_blocks(blocks):
        for pname, p in m.named_parameters():
            out.append(("%s.%s" % (name, pname), p.grad))
    return out


def _zero(blocks):
    for _, m in as_blocks(blocks):
        for p in m.parameters():
            p.grad = None


def compare_runs(made, ops, seed=0):
    """Plain run versus scheduled run from the same RNG seed.

    Returns a dict: loss values, gradient agreement (exact and max absolute
    difference), forward calls per block against the schedule's.
    """
    blocks, x0, loss_fn = made["blocks"], made["input"], made["loss_fn"]
    n = len(as_blocks(blocks))
    torch.manual_seed(seed)
    with ForwardCounter(blocks) as plain_calls:
        plain_loss, _ = plain_run(blocks, x0, loss_fn)
    ref = [(k, None if g is None else g.clone()) for k, g in _grads(blocks)]
    _zero(blocks)
    torch.manual_seed(seed)
    with ForwardCounter(blocks) as calls:
        loss, _ = run_schedule(blocks, ops, x0, loss_fn)
    got = _grads(blocks)
    exact, max_diff, allclose = True, 0.0, True
    for (name, a), (_, b) in zip(ref, got):
        if (a is None) != (b is None):
            exact = allclose = False
            continue
        if a is None:
            continue
        exact = exact and torch.equal(a, b)
        max_diff = max(max_diff, (a - b).abs().max().item())
        allclose = allclose and torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    return {
        "plain_loss": plain_loss.item(),
        "loss": loss.item(),
        "gradients": len(ref),
        "bit_exact": exact,
        "allclose": allclose,
        "max_abs_diff": max_diff,
        "forward_calls": calls.counts,
        "plain_forward_calls": plain_calls.counts,
        "schedule_forward_calls": schedule_forward_counts(ops, n),
    }


def same_loss(r):
    """Equal on CPU; CUDA kernels may differ in the last bits."""
    return math.isclose(r["loss"], r["plain_loss"], rel_tol=1e-6, abs_tol=1e-9)


def cmd_apply(args):
    plan = load_plan(args.plan)
    made = _build(args)
    r = compare_runs(made, plan["ops"], seed=args.seed)
    ok = (r["allclose"] and same_loss(r)
          and r["forward_calls"] == r["schedule_forward_calls"])
    r["ok"] = ok
    if args.json:
        print(json.dumps(r))
    else:
        print("loss:          plain %.6g, scheduled %.6g" % (r["plain_loss"],
                                                           r["loss"]))
        print("gradients:     %d tensors, %s (max |diff| %.3g)"
              % (r["gradients"], "bit-exact" if r["bit_exact"]
                 else ("allclose" if r["allclose"] else "DIFFERENT"),
                 r["max_abs_diff"]))
        print("forward calls: %s (schedule %s)"
              % (r["forward_calls"], r["schedule_forward_calls"]))
        print("result:        %s" % ("ok" if ok else "MISMATCH"))
    return 0 if ok else 1


def _build_model(args):
    from . import zoo
    if bool(args.zoo) == bool(args.factory):
        raise UsageError("give exactly one of --zoo NAME and --factory")
    kwargs = json.loads(args.kwargs) if args.kwargs else {}
    if not isinstance(kwargs, dict):
        raise UsageError("--kwargs must be a JSON object")
    if args.zoo:
        return zoo.build(args.zoo, size=args.size, seed=args.seed, **kwargs)
    made = _load_factory(args.factory)(**kwargs)
    if not isinstance(made, dict) or not {"model", "inputs",
                                          "loss_fn"} <= set(made):
        raise UsageError("the factory must return a dict with 'model', "
                         "'inputs' and 'loss_fn'")
    made.setdefault("form", "chain")
    return made


_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16, "none": None}


def cmd_export_model(args):
    from .chainexport import export_chain
    from .graphexport import discover_graph, export_graph
    from .models import discover_chain
    made = _build_model(args)
    name = args.name or os.path.splitext(os.path.basename(args.output))[0]
    form = args.form or made["form"]
    if form == "chain" and not args.form:
        from .models import DiscoveryError, discover_chain as probe
        try:
            probe(made["model"], made["inputs"], made["loss_fn"],
                  input_key=made.get("input_key"))
        except DiscoveryError as exc:
            print("remat_torch: no chain of layers (%s); exporting an "
                  "op-level graph" % exc, file=sys.stderr)
            form = "ops"
    if form == "ops":
        from .opgraph import export_ops
        doc = export_ops(made["model"], made["inputs"], name)
        what = "%d operators" % (len(doc["graph"]["nodes"]) - 1)
    elif form == "graph":
        graph = discover_graph(made["model"], made["inputs"],
                               made["loss_fn"],
                               autocast=_AUTOCAST[args.autocast])
        doc = export_graph(graph, name, reps=args.reps,
                           autocast=_AUTOCAST[args.autocast])
        what = "%d blocks" % len(graph.nodes)
    else:
        chain = discover_chain(made["model"], made["inputs"],
                               made["loss_fn"],
                               input_key=made.get("input_key"))
        doc = export_chain(chain, name, reps=args.reps,
                           autocast=_AUTOCAST[args.autocast])
        what = "%d stages: %s .. %s" % (len(chain.stages), chain.names()[0],
                                        chain.names()[-1])
    write_model(doc, args.output)
    print("wrote %s: %s of %s" % (args.output, form, what))
    return 0


def cmd_apply_model(args):
    from .applyplan import apply_plan
    from .models import output_tensor
    made = _build_model(args)
    model, inputs, loss_fn = made["model"], made["inputs"], made["loss_fn"]
    ac = _AUTOCAST[args.autocast]
    ctx = (torch.autocast(made_device(inputs), dtype=ac) if ac
           else torch.autocast(made_device(inputs), enabled=False))
    torch.manual_seed(args.seed)
    with ctx:
        plain = loss_fn(output_tensor(model(**inputs)))
        plain.backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()
           if p.grad is not None}
    model.zero_grad(set_to_none=True)
    applied = apply_plan(model, args.plan, inputs, loss_fn,
                         input_key=made.get("input_key"), mode=args.mode)
    torch.manual_seed(args.seed)
    with ctx:
        loss = applied.step()
    applied.remove()
    got = {n: p.grad for n, p in model.named_parameters()
           if p.grad is not None}
    same = set(ref) == set(got)
    diff = max([(ref[k] - got[k]).abs().max().item() for k in ref
                if k in got] or [0.0])
    close = same and all(torch.allclose(ref[k], got[k], rtol=1e-5,
                                        atol=1e-6) for k in ref)
    exact = same and all(torch.equal(ref[k], got[k]) for k in ref)
    ok = close and math.isclose(loss.item(), plain.item(), rel_tol=1e-6,
                                abs_tol=1e-9)
    print("mode:          %s (%s)" % (applied.mode, {
        "module": "torch.utils.checkpoint on the model's modules",
        "executor": "remat_torch's executor on the stages"}[applied.mode]))
    print("recomputed:    %s" % (", ".join(applied.checkpointed) or "-"))
    print("loss:          plain %.6g, planned %.6g" % (plain.item(),
                                                       loss.item()))
    print("gradients:     %d tensors, %s (max |diff| %.3g)"
          % (len(ref), "bit-exact" if exact else
             ("allclose" if close else "DIFFERENT"), diff))
    print("result:        %s" % ("ok" if ok else "MISMATCH"))
    return 0 if ok else 1


def made_device(inputs):
    t = next(v for v in inputs.values() if torch.is_tensor(v))
    return t.device.type


def _parser():
    p = argparse.ArgumentParser(
        prog="python3 -m remat_torch",
        description="Export PyTorch block stacks as remat model files and run "
        "remat schedules on them.")
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--factory", required=True,
                        help="FILE.py:FUNCTION or module:FUNCTION returning "
                        "{'blocks', 'input', 'loss_fn'}")
    common.add_argument("--kwargs", help="JSON object passed to the factory")
    common.add_argument("--device", help="passed to the factory as device=")
    e = sub.add_parser("export", parents=[common],
                       help="measure the blocks and write a model file",
                       epilog="example: python3 -m remat_torch export "
                       "--factory python/examples/gpt.py:build -o gpt.json")
    e.add_argument("-o", "--output", required=True, help="model file to write")
    e.add_argument("--name", help="model name (default: output file stem)")
    e.add_argument("--reps", type=int, default=5,
                   help="timed runs per pass; the median is kept (default 5)")
    a = sub.add_parser("apply", parents=[common],
                       help="run a schedule and compare with a plain run",
                       epilog="example: python3 -m remat_torch apply "
                       "--factory python/examples/gpt.py:build plan.json")
    a.add_argument("plan", help="schedule file or remat-torch-plan JSON")
    a.add_argument("--seed", type=int, default=0,
                   help="RNG seed for both runs (default 0)")
    a.add_argument("--json", action="store_true",
                   help="print one JSON object")
    _real_model_parsers(sub)
    return p


def _real_model_parsers(sub):
    """The export-model and apply-model subcommands."""
    real = argparse.ArgumentParser(add_help=False)
    real.add_argument("--zoo", help="a small model of remat_torch.zoo: "
                      "gpt2, llama, bert, timm-vit, timm-resnet, unet")
    real.add_argument("--size", default="tiny", help="zoo size: tiny or "
                      "small (default tiny)")
    real.add_argument("--factory", help="FILE.py:FUNCTION or "
                      "module:FUNCTION returning {'model', 'inputs', "
                      "'loss_fn'}")
    real.add_argument("--kwargs", help="JSON object passed to the factory "
                      "(or overriding the zoo's sizes)")
    real.add_argument("--seed", type=int, default=0)
    real.add_argument("--autocast", default="none", choices=sorted(_AUTOCAST),
                      help="measure / run under torch.autocast (default "
                      "none)")
    em = sub.add_parser("export-model", parents=[real],
                        help="cut an unmodified model into stages (or "
                        "blocks) and write a model file",
                        epilog="example: python3 -m remat_torch export-model "
                        "--zoo llama -o llama.json")
    em.add_argument("-o", "--output", required=True)
    em.add_argument("--name", help="model name (default: output file stem)")
    em.add_argument("--form", choices=["chain", "graph", "ops"],
                    help="chain (layer stack), graph (one node per "
                    "top-level block) or ops (one node per ATen operator, "
                    "torch.export; bytes from metadata, times from FLOPs); "
                    "default: the zoo's, else chain, else ops")
    em.add_argument("--reps", type=int, default=3,
                    help="timed runs per pass (default 3)")
    am = sub.add_parser("apply-model", parents=[real],
                        help="apply a plan to the unmodified model and "
                        "compare one step with a plain step",
                        epilog="example: python3 -m remat_torch apply-model "
                        "--zoo llama plan.json")
    am.add_argument("plan", help="schedule file or remat-torch-plan JSON")
    am.add_argument("--mode", default="auto",
                    choices=["auto", "module", "executor"])


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "export":
            return cmd_export(args)
        if args.command == "export-model":
            return cmd_export_model(args)
        if args.command == "apply-model":
            return cmd_apply_model(args)
        return cmd_apply(args)
    except (UsageError, ScheduleError, OSError, ValueError) as exc:
        print("remat_torch: error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
