"""Side by side: remat's partitioner against PyTorch's, on real models, CPU.

``python -m remat_torch.compile_frontier --out DIR`` (scripts/compiler-frontier.sh)
compiles each model's training step (forward, loss, backward) with Inductor
under

- PyTorch's ``min_cut_rematerialization_partition`` at
  ``torch._functorch.config.activation_memory_budget = b`` for each knapsack
  solver it offers (greedy, dp, ilp),
- remat's partitioner (:mod:`remat_torch.partitioner`) at b times the
  store-everything peak of the lowered joint graph, in bytes (rows
  ``remat``), and at the bytes that each solver's choice at b reaches in
  remat's model of the same graph (rows ``remat-at-pytorch`` for dp,
  ``remat-at-pytorch-SOLVER`` for the others, :mod:`remat_torch.reference`;
  ``--no-remat-at-pytorch`` leaves them out),

for b in 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98 and 1.0 (PyTorch's default;
remat's store-everything plan). remat's backend compiles under Inductor's
fusion memory guard (:data:`remat_torch.backend.FUSION_PEAK_GUARD`), with
Inductor's layout optimization off
(:data:`remat_torch.backend.LAYOUT_OPTIMIZATION`) and its buffer reuse off
(:data:`remat_torch.backend.BUFFER_REUSE`); so that these settings
are not counted as the partitioner's win, PyTorch's partitioner runs both
with Inductor's defaults and under the same settings (rows
``pytorch-SOLVER-guarded``; ``--fusion-guard none``: no guard anywhere,
``--layout inductor``: Inductor's layout everywhere, ``--buffer-reuse
inductor``: Inductor's buffer reuse everywhere). It measures

- the step's memory peak above what was allocated before it, from the
  profiler's allocation records (``profile_memory=True``: every allocation
  and free of the CPU allocator, summed in time order; neither partitioner
  controls it). A negative control allocates a known 8 MiB tensor inside a
  measured step and checks that the meter sees it;
- the step time, median of several runs (wall clock), every variant of a
  model timed once per round in interleaved rounds;
- the recomputed FLOPs: FLOPs of the forward and backward graphs the
  partitioner returned, less those of the joint graph (one FLOP counter,
  ``torch.utils.flop_counter``, for both).

Writes ``DIR/frontier.json``, ``DIR/frontier.md`` (table, the PyTorch
points no remat point beats, and remat at PyTorch's bytes budget by
budget) and one SVG per model and metric (:mod:`remat_torch.frontier_report`,
which also renders them again from frontier.json).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time

import torch

from .export import write_text
from .frontier_report import write_report
from .partition_cost import allocation_peak, calibrate
from .backend import (BUFFER_REUSE, FUSION_PEAK_GUARD, LAYOUT_OPTIMIZATION,
                      has_fusion_guard, inductor_patches, remat_backend)

BUDGETS = (0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98)
SOLVERS = ("dp", "greedy", "ilp")

#: The switches between remat's Inductor settings and Inductor's default,
#: with what each choice means (the command line's --help).
SETTING_FLAGS = (
    ("--layout", "Inductor's layout optimization off (no channels-last "
     "weight copies saved for the backward)",
     "Inductor's default, on (the runs before 2026-12-07's fifth)"),
    ("--buffer-reuse", "Inductor's buffer reuse off (a dead buffer is "
     "freed, not kept for a later one of its size)",
     "Inductor's default, on (the runs before 2026-12-07's sixth)"),
)


# -- models -------------------------------------------------------------------
class _Step(torch.nn.Module):
    """model + loss as one module, so the step is one compiled graph."""

    def __init__(self, model, loss):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, *inputs):
        return self.loss(self.model, *inputs)


def _gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(n_layer=2, n_embd=128, n_head=4, vocab_size=512,
                     n_positions=128, resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(cfg)
    ids = torch.randint(0, cfg.vocab_size, (4, 64))

    def loss(m, x):
        logits = m(input_ids=x).logits
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1),
                                                 x.flatten())
    return _Step(model, loss), (ids,)


def _resnet():
    import timm
    model = timm.create_model("resnet18", pretrained=False, num_classes=10)
    x = torch.randn(4, 3, 64, 64)
    y = torch.randint(0, 10, (4,))

    def loss(m, a, b):
        return torch.nn.functional.cross_entropy(m(a), b)
    return _Step(model, loss), (x, y)


def _vit():
    import timm
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False,
                              num_classes=10, img_size=64, patch_size=8,
                              depth=4)
    x = torch.randn(4, 3, 64, 64)
    y = torch.randint(0, 10, (4,))

    def loss(m, a, b):
        return torch.nn.functional.cross_entropy(m(a), b)
    return _Step(model, loss), (x, y)


def _unet():
    from diffusers import UNet2DConditionModel
    model = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8)
    x = torch.randn(2, 4, 16, 16)
    t = torch.tensor([10, 500])
    ctx = torch.randn(2, 8, 32)

    def loss(m, a, step, c):
        return m(a, step, encoder_hidden_states=c).sample.pow(2).mean()
    return _Step(model, loss), (x, t, ctx)


MODELS = {"gpt2": _gpt2, "resnet18": _resnet, "vit": _vit, "unet": _unet}


# -- meters -------------------------------------------------------------------
def measured_peak(fn) -> int:
    """Peak bytes the CPU allocator held during fn() above its start, from
    the profiler's allocation records (after a garbage collection, so that
    earlier steps' garbage is not freed inside the window)."""
    gc.collect()
    peak, _ = allocation_peak(fn)
    return peak


def _graph_flops(gm, cost) -> float:
    return sum(cost.node_flops(n) for n in gm.graph.nodes
               if n.op == "call_function")


class _RecordingMinCut:
    """PyTorch's own partitioner, recording its graphs (``graphs``: the
    forward and backward of each partition) and recomputed FLOPs
    (``records``)."""

    def __init__(self, cost):
        from torch._inductor.custom_graph_pass import CustomPartitionerFn
        self.cost = cost
        self.records = []
        self.graphs = []
        outer = self

        class Fn(CustomPartitionerFn):
            def __call__(self, gm, joint_inputs, **kwargs):
                from torch._functorch.partitioners import (
                    min_cut_rematerialization_partition)
                joint = _graph_flops(gm, outer.cost)
                fw, bw = min_cut_rematerialization_partition(
                    gm, joint_inputs, **kwargs)
                outer.records.append(
                    _graph_flops(fw, outer.cost) + _graph_flops(bw, outer.cost)
                    - joint)
                outer.graphs.append((fw, bw))
                return fw, bw

            def uuid(self):
                return None
        self.fn = Fn()


def _pytorch_backend(budget, solver, recorder, patches=None):
    """PyTorch's partitioner at ``budget`` with ``solver``, compiled under
    the Inductor settings ``patches`` too (remat's fusion guard, or none)."""
    def backend(gm, example_inputs):
        from torch._functorch import config as functorch_config
        from torch._inductor.compile_fx import compile_fx
        # The budget matters to the partition, inside this call; Inductor's
        # settings go through config_patches, which also reach the
        # backward AOTAutograd compiles later (see remat_backend).
        with functorch_config.patch(activation_memory_budget=budget,
                                    activation_memory_budget_solver=solver):
            return compile_fx(gm, example_inputs, config_patches={
                "custom_partitioner_fn": recorder.fn,
                "fx_graph_cache": False, **(patches or {})})
    backend.inductor_patches = dict(patches or {})
    return backend


def _compile(step, inputs, backend):
    """Compiles the step with ``backend``; returns (run, row): ``run`` takes
    one training step, ``row`` its measured peak, compile time and loss."""
    torch.manual_seed(0)
    compiled = torch.compile(step, backend=backend, fullgraph=True)

    def run():
        step.zero_grad(set_to_none=True)
        loss = compiled(*inputs)
        loss.backward()
        return loss

    run.compiled = compiled  # for probes that mark the step's phases
    t0 = time.perf_counter()
    loss = run()  # compiles
    compile_s = time.perf_counter() - t0
    run()
    step.zero_grad(set_to_none=True)
    peak = measured_peak(run)
    return run, {"peak_bytes": peak, "compile_s": compile_s,
                 "loss": float(loss.detach())}


def _time_interleaved(runs, repeats):
    """Median and fastest seconds of each run over ``repeats`` rounds, and
    the seconds of each round (in round order, for paired comparisons); each
    round runs every variant once, so that a slow spell of a shared
    machine falls on all variants alike instead of on the ones timed
    then. Round r starts at variant (r · n) // rounds and wraps around, so
    that no variant is always last (or always after the same neighbour).
    One untimed round first. A run that raises is timed no more: its entry
    is the error's first line instead."""
    samples = [[] for _ in runs]
    failed = [None] * len(runs)
    n = len(runs)
    for r in range(repeats + 1):
        start = r * n // (repeats + 1)
        for i in [(start + k) % n for k in range(n)]:
            run = runs[i]
            if failed[i] is not None:
                continue
            t0 = time.perf_counter()
            try:
                run()
            except Exception as err:  # noqa: BLE001 - reported as a row
                failed[i] = str(err).splitlines()[0][:200]
                continue
            if r > 0:
                samples[i].append(time.perf_counter() - t0)
    return [failed[i] or (statistics.median(x), min(x), x)
            for i, x in enumerate(samples)]


def negative_control(repeats: int = 3) -> dict:
    """The meter must see a known 8 MiB allocation held across a step."""
    x = torch.randn(256, 256, requires_grad=True)

    def plain():
        (x @ x).sum().backward()

    def extra():
        keep = torch.empty(8 * 1024 * 1024, dtype=torch.uint8)
        keep.fill_(1)
        (x @ x).sum().backward()
        del keep
    base = measured_peak(plain)
    more = measured_peak(extra)
    return {"plain_peak": base, "with_8MiB_peak": more,
            "seen": more - base >= 8 * 1024 * 1024}


def at_pytorch_name(solver: str) -> str:
    """The row of remat planned at the bytes PyTorch's ``solver`` reaches:
    ``remat-at-pytorch`` for dp (PyTorch's default; the name of the runs
    before each solver got its own), ``remat-at-pytorch-SOLVER`` else."""
    return "remat-at-pytorch" + ("" if solver == "dp" else f"-{solver}")


def _variants(budgets, solvers, guard, cost, rec, at_pytorch=True,
              layout="remat", count_gradients=False, reuse="remat"):
    """(partitioner, budget, backend) of every variant of one model: PyTorch
    at each budget and solver under Inductor's defaults, and under remat's
    Inductor settings too (named ``...-guarded``) when it has any; then
    remat at each fraction of its store-all peak and, with ``at_pytorch``,
    at the bytes each solver's choice at each budget below 1 reaches in
    remat's model (:func:`at_pytorch_name`, budget_reference="pytorch").
    remat's settings: the fusion guard unless ``guard`` is "none", layout
    optimization off when ``layout`` is "remat" (:data:`LAYOUT_OPTIMIZATION`;
    "inductor": Inductor's default), buffer reuse off when ``reuse`` is
    "remat" (:data:`BUFFER_REUSE`; "inductor": on). ``count_gradients``:
    remat's rows count parameter gradients in its model
    (:class:`RematPartitioner`)."""
    out = []
    if guard != "none" and not has_fusion_guard():
        raise RuntimeError("this torch's Inductor has no fusion memory guard;"
                           " run with --fusion-guard none")
    remat_guard = None if guard == "none" else FUSION_PEAK_GUARD
    remat_layout = LAYOUT_OPTIMIZATION if layout == "remat" else None
    remat_reuse = BUFFER_REUSE if reuse == "remat" else None
    patches = inductor_patches(remat_guard, remat_layout, remat_reuse)
    settings = [("", None)] + ([("-guarded", patches)] if patches else [])
    for suffix, patches in settings:
        for b in sorted(set(budgets) | {1.0}):
            for solver in (solvers if b < 1.0 else ("dp",)):
                out.append((f"pytorch-{solver}{suffix}", b,
                            _pytorch_backend(b, solver, rec, patches)))
    common = dict(on_infeasible="least", cost=cost,
                  fusion_peak_guard=remat_guard,
                  layout_optimization=remat_layout, buffer_reuse=remat_reuse,
                  count_gradients=count_gradients)
    for b in sorted(set(budgets) | {1.0}):  # 1.0: remat's store-everything
        out.append(("remat", b, remat_backend(b, **common)))
    for solver in solvers if at_pytorch else ():
        for b in sorted(set(budgets) - {1.0}):
            out.append((at_pytorch_name(solver), b, remat_backend(
                b, budget_reference="pytorch", reference_solver=solver,
                **common)))
    return out


def run_model(name, budgets, solvers, repeats, log, guard="both",
              at_pytorch=True, layout="remat", count_gradients=False,
              reuse="remat"):
    """Every variant of one model (:func:`_variants`) compiled and metered
    for peak, then all timed together (:func:`_time_interleaved`)."""
    step, inputs = MODELS[name]()
    cost = calibrate()
    torch._dynamo.reset()
    # One cache entry per variant: each compile keeps its own.
    rec = _RecordingMinCut(cost)
    variants = _variants(budgets, solvers, guard, cost, rec, at_pytorch,
                         layout, count_gradients, reuse)
    rows, runs = [], []
    with torch._dynamo.config.patch(recompile_limit=len(variants) + 8,
                                    accumulated_recompile_limit=4096):
        for partitioner, b, backend in variants:
            rec.records.clear()
            try:
                run, m = _compile(step, inputs, backend)
                runs.append((run, m))
            except Exception as err:  # noqa: BLE001 - reported as a row
                m = {"error": str(err).splitlines()[0][:200]}
            m.update(model=name, partitioner=partitioner, budget=b)
            if partitioner.startswith("remat"):
                _remat_fields(m, backend.partitioner.reports)
            else:
                m["recomputed_flops"] = sum(rec.records)
            rows.append(m)
        from torch._dynamo.utils import counters
        graphs = counters["stats"]["unique_graphs"]
        times = _time_interleaved([r for r, _ in runs], repeats)
        recompiled = counters["stats"]["unique_graphs"] - graphs
    for (_, m), timed in zip(runs, times):
        if isinstance(timed, str):
            m["error"] = f"while timed: {timed}"
            continue
        m.update(step_ms=timed[0] * 1e3, step_ms_min=timed[1] * 1e3,
                 step_ms_rounds=[t * 1e3 for t in timed[2]])
        if recompiled:  # a compile inside the timed rounds: times suspect
            m["timing_note"] = f"{recompiled} graph(s) recompiled while timed"
    for m in rows:
        log(m)
    torch._dynamo.reset()
    return rows


def _remat_fields(m, reps):
    m.update(recomputed_flops=sum(r.recomputed_flops for r in reps),
             remat=[{"budget_bytes": r.budget_bytes,
                     "store_all_peak": r.store_all_peak,
                     "planned_peak": r.planned_peak,
                     "planned_time_us": r.planned_time,
                     "realised_peak": r.realised_peak,
                     "realised_time_us": r.realised_time,
                     "store_all_time_us": r.store_all_time,
                     "groups": r.groups, "fx_nodes": r.nodes,
                     "saved": len(r.saved_values),
                     "recomputed_groups": len(r.recomputed_groups),
                     "notes": r.notes,
                     "reference": None if r.reference is None else {
                         k: v for k, v in r.reference.items()
                         if k != "saved_groups"}} for r in reps])


def check_names(ap, flag, given, allowed) -> None:
    """Exits 2 through ``ap`` naming every comma-separated entry of
    ``given`` not in ``allowed``."""
    bad = [x for x in given.split(",") if x and x not in allowed]
    if bad:
        ap.error(f"{flag}: unknown {', '.join(bad)} (one of "
                 f"{', '.join(allowed)})")


def check_budgets(ap, given) -> None:
    """Exits 2 through ``ap`` naming the first entry of the comma-separated
    ``given`` that is not a fraction in (0, 1]."""
    for b in given.split(","):
        try:
            ok = 0 < float(b) <= 1
        except ValueError:
            ok = False
        if not ok:
            ap.error(f"--budgets: {b!r} is not a fraction in (0, 1]")


def _check_args(ap, args) -> None:
    """Usage errors (exit 2) that name the bad value, before any compile."""
    for flag, given, allowed in (("--models", args.models, MODELS),
                                 ("--solvers", args.solvers, SOLVERS),
                                 ("--solver-models", args.solver_models or "",
                                  MODELS)):
        check_names(ap, flag, given, allowed)
    check_budgets(ap, args.budgets)
    if args.repeats < 1 or args.threads < 1:
        ap.error(f"--repeats and --threads must be at least 1 (got "
                 f"{args.repeats} and {args.threads})")


def main(argv=None) -> int:
    """The command line (``--help``); 0 when every row is written."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--budgets", default=",".join(str(b) for b in BUDGETS))
    ap.add_argument("--solvers", default=",".join(SOLVERS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--solver-models", default=None,
                    help="models that get every solver of --solvers (default "
                         "all); the others get the first solver only")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: steady timings on shared cores)")
    ap.add_argument("--fusion-guard", choices=("both", "none"),
                    default="both",
                    help="both (default): remat compiles under its fusion "
                         "memory guard, PyTorch's partitioner without it "
                         "and with it (rows pytorch-SOLVER-guarded); none: "
                         "neither (Inductor's defaults, the runs before "
                         "2026-12-07's second)")
    for flag, remat, inductor in SETTING_FLAGS:
        ap.add_argument(flag, choices=("remat", "inductor"), default="remat",
                        help=f"remat (default): remat's compiles and the "
                             f"-guarded rows run with {remat}; inductor: "
                             f"{inductor}")
    ap.add_argument("--count-gradients", action="store_true",
                    help="remat's rows plan with parameter gradients counted "
                         "from the group that computes them to the step's "
                         "end (RematPartitioner's count_gradients; default: "
                         "0 bytes, static memory outside the budget)")
    ap.add_argument("--no-remat-at-pytorch", action="store_true",
                    help="leave out the rows remat-at-pytorch[-SOLVER] "
                         "(remat planned at the bytes each solver's choice "
                         "at each budget reaches in remat's model)")
    ap.add_argument("--no-measured-workspace", action="store_true",
                    help="remat's lowering gives convolution backwards no "
                         "workspace (the model before the measured one)")
    args = ap.parse_args(argv)
    _check_args(ap, args)
    calibrate().measure_workspace = not args.no_measured_workspace
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    budgets = [float(b) for b in args.budgets.split(",")]
    control = negative_control()
    print(f"meter negative control: {control}", flush=True)
    print(f"cost model: {calibrate().describe()}", flush=True)
    rows = []

    def log(m):
        print(json.dumps({k: v for k, v in m.items() if k != "remat"}),
              flush=True)
    solvers = args.solvers.split(",")
    full = (args.solver_models.split(",") if args.solver_models
            else args.models.split(","))
    for name in args.models.split(","):
        rows += run_model(name, budgets,
                          solvers if name in full else solvers[:1],
                          args.repeats, log, args.fusion_guard,
                          not args.no_remat_at_pytorch, args.layout,
                          args.count_gradients, args.buffer_reuse)
        doc = {"control": control, "cost": calibrate().describe(),
               "fusion_guard": args.fusion_guard, "layout": args.layout,
               "buffer_reuse": args.buffer_reuse,
               "count_gradients": args.count_gradients,
               "remat_at_pytorch": not args.no_remat_at_pytorch,
               "torch": torch.__version__,
               "threads": torch.get_num_threads(), "rows": rows}
        write_text(json.dumps(doc, indent=1),
                   os.path.join(args.out, "frontier.json"))
        write_report(doc, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
