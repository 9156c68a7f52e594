"""remat as torch.compile's activation partitioner.

``torch.compile(model, backend=remat_backend(budget=...))``
(:mod:`remat_torch.backend`) compiles with
Inductor, whose joint-graph partitioner is replaced (through
``torch._inductor.config.custom_partitioner_fn``) by :class:`RematPartitioner`:

1. the joint forward-backward FX graph is lowered to remat's graph model
   form (:mod:`remat_torch.partition_lower`: one node per fused group, bytes
   from the tensor metadata, times from the calibrated FLOP+bytes model of
   :mod:`remat_torch.partition_cost`);
2. the C++ planner plans it (``remat plan --strategy optimal`` on the file);
3. the plan is *realised* as the forward/backward split can run it: the
   forward groups resident when the loss runs are saved, every other value
   the backward needs is recomputed there, once. That realised schedule is
   written in remat's graph dialect and re-simulated by ``remat simulate``;
   when its peak exceeds the budget the planner is asked again at a lower
   budget (a few times);
4. PyTorch's ``_extract_fwd_bwd_modules`` builds the two graphs that save
   exactly those values, and Inductor compiles them.

What the split cannot express is reported (``RematPartitioner.reports``):
recomputation during the forward, a value recomputed more than once in the
backward, and the planned against the realised cost.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

import torch
import torch.fx as fx

from .partition_cost import CostModel, calibrate
from .partition_lower import (Lowered, lower_joint_graph,
                              merge_common_subexpressions)
from .realise import (computes, realised_ops, saved_set_of_plan,
                      split_saved_set)
from .reference import pytorch_reference

try:
    from torch._inductor.custom_graph_pass import CustomPartitionerFn
except ImportError:  # pragma: no cover - older torch
    CustomPartitionerFn = object


class RematBudgetError(RuntimeError):
    """The budget is below the least peak remat can plan for this graph."""

    def __init__(self, message: str, least_bytes: int | None):
        super().__init__(message)
        self.least_bytes = least_bytes


def find_binary() -> str:
    """The remat CLI: $REMAT_BINARY, build/cli/remat, or ``remat`` on PATH."""
    env = os.environ.get("REMAT_BINARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    local = os.path.join(here, "..", "..", "build", "cli", "remat")
    if os.path.exists(local):
        return os.path.normpath(local)
    found = shutil.which("remat")
    if found:
        return found
    raise FileNotFoundError("remat_torch: no remat binary (set REMAT_BINARY)")


@dataclass
class PartitionReport:
    """What one partition did, planned against realised."""

    nodes: int
    groups: int
    budget_bytes: int
    store_all_peak: int
    store_all_time: float
    planned_peak: int
    planned_time: float
    realised_peak: int
    realised_time: float
    saved_groups: list
    saved_values: list
    recomputed_groups: list
    recomputed_flops: float
    notes: list = field(default_factory=list)
    attempts: list = field(default_factory=list)
    workdir: str = ""
    #: FX node name -> remat node (group) name, for the saved-set checks.
    group_of: dict = field(default_factory=dict)
    #: the chosen plan's ops and the realised schedule that was simulated.
    plan_ops: list = field(default_factory=list)
    realised_ops: list = field(default_factory=list)
    #: 0: the plan's saved set; 1: plus what it recomputes more than once.
    variant: int = 0
    #: planned saved groups PyTorch's extraction dropped (the backward
    #: recomputes them from graph inputs instead of reading them).
    dropped_groups: list = field(default_factory=list)
    #: budget_reference="pytorch": PyTorch's saved set in remat's model
    #: (remat_torch.reference.pytorch_reference), else None.
    reference: dict | None = None

    def summary(self) -> str:
        return (f"remat partition: {self.nodes} FX nodes -> {self.groups} "
                f"groups; budget {self.budget_bytes} B of store-all "
                f"{self.store_all_peak} B; planned peak {self.planned_peak} B "
                f"time {self.planned_time:.1f} us; realised peak "
                f"{self.realised_peak} B time {self.realised_time:.1f} us "
                f"(store-all {self.store_all_time:.1f} us); saves "
                f"{len(self.saved_values)} values, recomputes "
                f"{len(self.recomputed_groups)} groups"
                + ("" if self.reference is None else
                   f"; PyTorch's set at {self.reference['fraction']}: peak "
                   f"{self.reference['peak_bytes']} B time "
                   f"{self.reference['time']:.1f} us"))


#: The knapsack solvers of PyTorch's ``activation_memory_budget_solver``
#: (torch/_functorch/partitioners.py, torch 2.15) that ``reference_solver``
#: accepts.
PYTORCH_SOLVERS = ("greedy", "dp", "ilp", "dp_knapsack_sliding_hirschberg",
                   "dynamic_memory_budget_dp")


def _run(cmd: list) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


class RematPartitioner(CustomPartitionerFn):
    """A partition function with min_cut_rematerialization_partition's
    signature that plans with remat (see the module docstring).

    ``budget``: bytes (int) or a fraction (float in (0, 1]) of the
    store-everything peak of the lowered graph. ``on_infeasible``: "raise"
    (:class:`RematBudgetError`, naming the least feasible budget) or "least"
    (plan at that least budget and note it). ``split_class`` (default):
    plan with ``--recompute-once-in-backward``, over the plans the split
    runs, so that the realised schedule is the planned one; False plans
    over all schedules and realises the plan's saved set (the old path,
    kept for comparison). ``count_gradients``: parameter gradients count
    from the group that computes them to the end of the step
    (partition_lower); the default, False, gives them 0 bytes (static
    gradient memory, outside the budget). ``budget_reference``:
    "store_all" (default) reads a fraction as above; "pytorch" plans at the
    peak that PyTorch's own partitioner's saved set at
    ``activation_memory_budget`` = the fraction reaches in remat's model
    (:mod:`remat_torch.reference`; the report's ``reference`` holds it),
    with PyTorch's knapsack solver ``reference_solver`` (None: its current
    ``activation_memory_budget_solver``).
    """

    def __init__(self, budget, on_infeasible: str = "raise",
                 cost: CostModel | None = None, binary: str | None = None,
                 keep_files: str | None = None, replans: int = 4,
                 split_class: bool = True, count_gradients: bool = False,
                 budget_reference: str = "store_all",
                 reference_solver: str | None = None):
        if isinstance(budget, float) and not 0 < budget <= 1:
            raise ValueError(f"budget fraction must be in (0, 1], got {budget}")
        if isinstance(budget, int) and budget <= 0:
            raise ValueError(f"budget must be positive bytes, got {budget}")
        if on_infeasible not in ("raise", "least"):
            raise ValueError(f"on_infeasible: 'raise' or 'least', got "
                             f"{on_infeasible!r}")
        if budget_reference not in ("store_all", "pytorch"):
            raise ValueError(f"budget_reference: 'store_all' or 'pytorch', "
                             f"got {budget_reference!r}")
        if budget_reference == "pytorch" and not isinstance(budget, float):
            raise ValueError(f"budget_reference='pytorch' takes a fraction "
                             f"(PyTorch's activation_memory_budget), got "
                             f"{budget!r}")
        if reference_solver is not None and (
                budget_reference != "pytorch"
                or reference_solver not in PYTORCH_SOLVERS):
            raise ValueError(f"reference_solver: one of "
                             f"{', '.join(PYTORCH_SOLVERS)} with "
                             f"budget_reference='pytorch', got "
                             f"{reference_solver!r} with "
                             f"{budget_reference!r}")
        self.budget = budget
        self.budget_reference = budget_reference
        self.reference_solver = reference_solver
        self.on_infeasible = on_infeasible
        self.cost = cost
        self.binary = binary
        self.keep_files = keep_files
        self.replans = replans
        self.split_class = split_class
        self.count_gradients = count_gradients
        self.reports: list[PartitionReport] = []
        self.graphs: list[tuple[fx.GraphModule, fx.GraphModule]] = []

    def uuid(self):
        return None  # never serve a cached compile planned for another budget

    # -- the partition function ---------------------------------------------
    def __call__(self, joint_module: fx.GraphModule, _joint_inputs, **kwargs):
        from torch._functorch import partitioners as P

        num_fwd_outputs = kwargs["num_fwd_outputs"]
        static_idx = kwargs.get("static_lifetime_input_indices") or []
        joint_module.graph.eliminate_dead_code()
        joint_module.recompile()
        merge_common_subexpressions(joint_module, num_fwd_outputs)
        node_info = P.classify_nodes(joint_module, static_idx, num_fwd_outputs)
        if len(node_info.required_bw_nodes) == 0:
            return P.default_partition(
                joint_module, _joint_inputs, num_fwd_outputs=num_fwd_outputs,
                static_lifetime_input_indices=static_idx)
        cost = self.cost or calibrate()
        lowered = lower_joint_graph(joint_module, num_fwd_outputs, cost,
                                    self.count_gradients)
        workdir = self.keep_files or tempfile.mkdtemp(prefix="remat-part-")
        os.makedirs(workdir, exist_ok=True)
        try:
            return self._partition(joint_module, kwargs, node_info, cost,
                                   lowered, workdir)
        finally:
            if not self.keep_files:
                shutil.rmtree(workdir, ignore_errors=True)

    def _partition(self, joint_module, kwargs, node_info, cost, lowered,
                   workdir):
        from torch._functorch import partitioners as P

        num_fwd_outputs = kwargs["num_fwd_outputs"]
        index = len(self.reports)
        model_path = os.path.join(workdir, f"joint{index}.json")
        with open(model_path, "w") as f:
            json.dump(lowered.model(f"joint{index}"), f, indent=1)
        reference = None
        if self.budget_reference == "pytorch":
            reference = pytorch_reference(
                joint_module, kwargs, lowered, self.budget,
                lambda ops: self._simulate(model_path, ops, os.path.join(
                    workdir, f"reference{index}.json")),
                self.reference_solver)
        report, saved_groups = self._plan_and_realise(
            joint_module, lowered, model_path, workdir, index, reference)
        saved_values = self._saved_fx_values(joint_module, lowered,
                                             saved_groups, node_info)
        fw, bw = P._extract_fwd_bwd_modules(
            joint_module, saved_values, saved_sym_nodes=[],
            num_fwd_outputs=num_fwd_outputs,
            static_lifetime_input_nodes=node_info.static_lifetime_input_nodes)
        bw = P.reordering_to_mimic_autograd_engine(bw)
        fw = P.raise_getitems(fw)
        bw = P.raise_getitems(bw)
        report.saved_values = [n.name for n in saved_values]
        self._resimulate_kept(report, lowered, saved_values, saved_groups,
                              model_path, workdir, index)
        report.recomputed_flops = (
            sum(cost.node_flops(n) for m in (fw, bw) for n in m.graph.nodes
                if n.op == "call_function")
            - sum(g.flops for g in lowered.groups.values()))
        report.workdir = workdir
        self.reports.append(report)
        self.graphs.append((fw, bw))
        return fw, bw

    # -- planning -----------------------------------------------------------
    def _inspect(self, model_path: str) -> dict:
        res = _run([self.binary or find_binary(), "inspect", model_path,
                    "--json"])
        if res.returncode != 0:
            raise RuntimeError(f"remat inspect failed: {res.stderr.strip()}")
        return json.loads(res.stdout)

    def _plan(self, model_path: str, budget: int, out: str) -> dict:
        """Runs the planner; returns the schedule or raises RematBudgetError."""
        res = _run([self.binary or find_binary(), "plan", model_path,
                    "--strategy", "optimal", "--budget", str(budget),
                    "-o", out] + (["--recompute-once-in-backward"]
                                  if self.split_class else []))
        if res.returncode == 3:
            least = re.findall(r"\((\d+) bytes\)", res.stderr)
            raise RematBudgetError(res.stderr.strip().splitlines()[-1],
                                   int(least[-1]) if least else None)
        if res.returncode != 0:
            raise RuntimeError(f"remat plan failed ({res.returncode}): "
                               f"{res.stderr.strip()}")
        with open(out) as f:
            return json.load(f)

    def _simulate(self, model_path: str, ops: list, out: str) -> dict:
        doc = {"format": "remat-schedule", "version": 1,
               "model": os.path.basename(model_path)[:-5],
               "model_sha256": "", "strategy": "optimal",
               "budget_bytes": None,
               "predicted": {"peak_bytes": 0, "time": 0, "baseline_time": 0,
                             "baseline_peak_bytes": 0, "overhead": 0,
                             "forward_recomputations": 0},
               "ops": ops}
        with open(out, "w") as f:
            json.dump(doc, f)
        res = _run([self.binary or find_binary(), "simulate", model_path, out,
                    "--json", "--force"])
        data = json.loads(res.stdout) if res.stdout.strip() else {}
        if not data.get("valid", False):
            raise RuntimeError(f"remat: the realised schedule is invalid "
                               f"(a bug in remat_torch): {res.stdout[-400:]}"
                               f"{res.stderr[-400:]}")
        return data["simulated"]

    def _resolve_budget(self, info: dict, reference: dict | None) -> int:
        if reference is not None:
            return reference["peak_bytes"]
        store_all = info["store_all"]["peak_bytes"]
        if isinstance(self.budget, float):
            return max(1, int(self.budget * store_all))
        return int(self.budget)

    def _plan_and_realise(self, joint_module, lowered: Lowered,
                          model_path: str, workdir: str, index: int,
                          reference: dict | None = None):
        info = self._inspect(model_path)
        budget = self._resolve_budget(info, reference)
        notes = list(lowered.skipped)
        if reference is not None and reference["unmapped"]:
            notes.append(f"PyTorch's saved set at {reference['fraction']}: "
                         f"{len(reference['unmapped'])} value(s) in no "
                         f"forward group, left out of its peak")
        state = {"best": None, "attempts": []}

        def attempt(target: int) -> bool:
            """Plans at target, realises it; True when the best fits."""
            k = len({a["plan_budget"] for a in state["attempts"]})
            plan = self._plan(model_path, target, os.path.join(
                workdir, f"plan{index}_{k}.json"))
            if self.split_class:
                saved, plan_notes, many = split_saved_set(plan["ops"],
                                                          lowered), [], set()
            else:
                saved, plan_notes, many = saved_set_of_plan(plan["ops"],
                                                            lowered)
            # Two realisations: the plan's saved set, and that set plus what
            # the plan recomputes more than once (the split cannot).
            variants = [saved] + ([saved | many] if many else [])
            for v, chosen in enumerate(variants):
                ops = realised_ops(lowered, chosen)
                sim = self._simulate(model_path, ops, os.path.join(
                    workdir, f"realised{index}_{k}_{v}.json"))
                state["attempts"].append({
                    "plan_budget": target,
                    "planned_peak": plan["predicted"]["peak_bytes"],
                    "planned_time": plan["predicted"]["time"],
                    "variant": v, "realised_peak": sim["peak_bytes"],
                    "realised_time": sim["time"]})
                cand = (sim, plan, chosen, plan_notes, ops, v)
                best = state["best"]
                if _better(sim, best[0] if best else None, budget):
                    state["best"] = cand
            return state["best"][0]["peak_bytes"] <= budget

        try:
            fits = attempt(budget)
        except RematBudgetError as err:
            if self.on_infeasible == "raise" or err.least_bytes is None:
                raise
            notes.append(f"budget {budget} B is infeasible; planned at the "
                         f"least feasible budget {err.least_bytes} B")
            budget = err.least_bytes
            fits = attempt(budget)
        least = budget
        target = budget
        for k in range(self.replans):
            if fits:
                break
            # The realised plan is over the budget: ask for less.
            over = state["best"][0]["peak_bytes"] - budget
            target = target - max(over, budget // 20) * (k + 1)
            try:
                fits = attempt(max(1, target))
            except RematBudgetError as err:
                least = err.least_bytes or budget
                break
        if not fits:
            # A plan made for more memory can realise smaller (it needs
            # fewer values twice): probe between the least and store-all.
            top = info["store_all"]["peak_bytes"]
            for f in (0.25, 0.5):
                if attempt(int(least + f * (top - least))):
                    break
        sim, plan, saved, plan_notes, ops, variant = state["best"]
        attempts = state["attempts"]
        notes.extend(plan_notes)
        notes.extend(_outcome_notes(plan, sim, ops, attempts, budget,
                                    self.split_class))
        recomputed = [g for g, p in computes(ops) if p == "backward-recompute"]
        report = PartitionReport(
            nodes=len(joint_module.graph.nodes), groups=len(lowered.groups) + 1,
            budget_bytes=budget, store_all_peak=info["store_all"]["peak_bytes"],
            store_all_time=info["store_all"]["time"],
            planned_peak=plan["predicted"]["peak_bytes"],
            planned_time=plan["predicted"]["time"],
            realised_peak=sim["peak_bytes"], realised_time=sim["time"],
            saved_groups=sorted(saved), saved_values=[],
            recomputed_groups=recomputed,
            recomputed_flops=sum(lowered.groups[g].flops for g in recomputed),
            notes=notes, attempts=attempts,
            group_of={n.name: g for n, g in lowered.group_of.items()},
            plan_ops=plan["ops"], realised_ops=ops, variant=variant,
            reference=reference)
        return report, saved

    def _resimulate_kept(self, report, lowered, saved_values, saved_groups,
                         model_path, workdir, index) -> None:
        """PyTorch drops saved values its backward does not read (a value
        the backward recomputes from graph inputs instead); the realised
        schedule is then re-simulated with the saved set it really has."""
        kept = {lowered.group_of[n] for n in saved_values
                if n.op != "placeholder" and n in lowered.group_of}
        if kept == set(saved_groups):
            return
        dropped = sorted(set(saved_groups) - kept)
        ops = realised_ops(lowered, kept)
        sim = self._simulate(model_path, ops, os.path.join(
            workdir, f"realised{index}_kept.json"))
        report.notes.append(
            f"the backward does not read {len(dropped)} planned saved "
            f"group(s) ({', '.join(dropped[:3])}); re-simulated without them: "
            f"peak {report.realised_peak} -> {sim['peak_bytes']} B, time "
            f"{report.realised_time:.1f} -> {sim['time']:.1f} us")
        report.realised_peak = sim["peak_bytes"]
        report.realised_time = sim["time"]
        report.realised_ops = ops
        report.dropped_groups = dropped
        report.saved_groups = sorted(kept)
        report.recomputed_groups = [
            g for g, p in computes(ops) if p == "backward-recompute"]

    # -- realisation ----------------------------------------------------------
    def _saved_fx_values(self, joint_module, lowered: Lowered, saved_groups,
                         node_info) -> list:
        """The FX values to save: the saved groups' outputs, plus the graph
        inputs (parameters, the batch) the backward reads."""
        saved = []
        for name in saved_groups:
            for o in lowered.groups[name].outputs:
                if isinstance(o.meta.get("val"), torch.Tensor):
                    saved.append(o)
        saved_set = set(saved)
        stop = saved_set | {n for n in joint_module.graph.nodes
                            if n.op == "placeholder"
                            and "tangents" in str(n.target)}
        primals = set()
        stack = [o for o in lowered.bwd_outputs if isinstance(o, fx.Node)]
        seen = set()
        while stack:
            n = stack.pop()
            if n in seen or n in stop:
                continue
            seen.add(n)
            if n.op == "placeholder":
                primals.add(n)
                continue
            stack.extend(n.all_input_nodes)
        order = {n: i for i, n in enumerate(joint_module.graph.nodes)}
        return sorted(saved_set | primals, key=order.__getitem__)


def _outcome_notes(plan: dict, sim: dict, ops: list, attempts: list,
                   budget: int, split_class: bool) -> list:
    """What the user should know about the kept realisation: it differs
    from a split-class plan (a bug), it came from a replan, or it is over
    the budget."""
    notes = []
    if split_class and (sim["peak_bytes"], ops) != (
            plan["predicted"]["peak_bytes"], plan["ops"]):
        notes.append(f"the realised schedule differs from the split plan "
                     f"(planned peak {plan['predicted']['peak_bytes']} B, "
                     f"realised {sim['peak_bytes']} B): a bug in "
                     f"remat_torch or the planner")
    planned = len({a["plan_budget"] for a in attempts})
    if planned > 1:
        notes.append(f"the realised plan exceeded the budget; planned "
                     f"{planned} times at other budgets, kept the "
                     f"realisation of the plan for "
                     f"{_plan_budget_of(attempts, sim)} B")
    if sim["peak_bytes"] > budget:
        notes.append(f"no realised plan fits {budget} B; using the one "
                     f"of least realised peak {sim['peak_bytes']} B")
    return notes


def _plan_budget_of(attempts: list, sim: dict):
    for a in attempts:
        if (a["realised_peak"], a["realised_time"]) == (sim["peak_bytes"],
                                                         sim["time"]):
            return a["plan_budget"]
    return None


def _better(sim: dict, best: dict | None, budget: int) -> bool:
    """Fits the budget and is faster, or neither fits and it is smaller."""
    if best is None:
        return True
    fits, best_fits = sim["peak_bytes"] <= budget, best["peak_bytes"] <= budget
    if fits != best_fits:
        return fits
    if fits:
        return (sim["time"], sim["peak_bytes"]) < (best["time"],
                                                   best["peak_bytes"])
    return (sim["peak_bytes"], sim["time"]) < (best["peak_bytes"],
                                               best["time"])
