"""PyTorch's own partitioner as the budget for remat's.

PyTorch's ``activation_memory_budget`` is a fraction of its own estimate of
activation memory (the sizes of the saved values, with no lifetimes), so
the same fraction is not the same bytes in remat's model, which counts the
peak. ``RematPartitioner(budget=b, budget_reference="pytorch")`` plans at
the bytes PyTorch's choice really reaches: this module runs PyTorch's
``min_cut_rematerialization_partition`` at ``activation_memory_budget = b``
on a copy of the joint graph, maps the forward values it saves to remat's
lowered groups, realises that saved set as the split runs it
(:func:`~remat_torch.realise.realised_ops`) and simulates it. Its peak is
remat's byte budget; its time is what remat's plan is compared with in the
same model (the split search is checked against 16 such sets in
``tests/planner/GraphSplitTest.cpp``).

PyTorch's partitioner sees the joint graph as remat's partitioner has
prepared it: dead code removed and common subexpressions merged
(:func:`~remat_torch.partition_lower.merge_common_subexpressions`, which
merges what PyTorch's own CSE pass would), so that node names agree with
the lowering. ``tests/python/test_reference.py`` checks at two fractions
that the groups of the values a real compile saves are the reference's.
"""

from __future__ import annotations

import copy

import torch
import torch.fx as fx

from .partition_lower import Lowered
from .realise import realised_ops


def copy_joint(gm: fx.GraphModule) -> fx.GraphModule:
    """A copy of the joint graph for PyTorch's partitioner, which rewrites
    the graph it is given. Nodes keep their names; each node's meta dict is
    copied, its values shared. (``copy.deepcopy`` fails on graphs that hold
    fake tensors of constants, GPT-2's among them.)"""
    graph = fx.Graph()
    graph._codegen = copy.deepcopy(gm.graph._codegen)
    old_output = gm.graph.find_nodes(op="output")[0]
    out = graph.graph_copy(gm.graph, {})
    graph.output(out).meta = copy.copy(old_output.meta)
    return fx.GraphModule(gm, graph)


def pytorch_saved_groups(joint: fx.GraphModule, kwargs: dict,
                         lowered: Lowered, fraction: float,
                         solver: str | None = None):
    """PyTorch's saved forward values at ``fraction`` as lowered group
    names (sorted), and the saved values no forward group holds (graph
    inputs and views of them excluded: neither model counts them).
    ``solver``: the knapsack solver, None for the current setting of
    ``torch._functorch.config.activation_memory_budget_solver``."""
    from torch._functorch import config as functorch_config
    from torch._functorch import partitioners as P
    nodes = {n.name: n for n in joint.graph.nodes}
    settings = {"activation_memory_budget": fraction}
    if solver is not None:
        settings["activation_memory_budget_solver"] = solver
    with functorch_config.patch(**settings):
        fw, _ = P.min_cut_rematerialization_partition(
            copy_joint(joint), None, **kwargs)
    outputs = fw.graph.find_nodes(op="output")[0].args[0]
    groups, unmapped = set(), []
    for value in outputs[kwargs["num_fwd_outputs"]:]:
        if not isinstance(value, fx.Node):
            continue
        node = nodes.get(value.name)
        storage = lowered.storage_of.get(node, node)
        if storage is not None and storage.op == "placeholder":
            continue  # a graph input or a view of one: not an activation
        group = lowered.group_of.get(node) if node is not None else None
        # A group the lowering dropped (a cheap one nothing reads) counts as
        # unmapped too.
        kept = lowered.groups.get(group)
        if kept is None or kept.phase != "forward":
            unmapped.append(value.name)
        else:
            groups.add(group)
    return sorted(groups), unmapped


def pytorch_reference(joint: fx.GraphModule, kwargs: dict, lowered: Lowered,
                      fraction: float, simulate,
                      solver: str | None = None) -> dict:
    """PyTorch's choice at ``fraction`` in remat's model: its saved groups,
    the values left unmapped, and the peak (bytes) and time (us) of its
    realised schedule, from ``simulate(ops)`` (``remat simulate``'s
    "simulated" object)."""
    from torch._functorch import config as functorch_config
    groups, unmapped = pytorch_saved_groups(joint, kwargs, lowered, fraction,
                                            solver)
    sim = simulate(realised_ops(lowered, set(groups)))
    used = solver or functorch_config.activation_memory_budget_solver
    return {"fraction": fraction, "solver": used,
            "torch": torch.__version__, "saved_groups": groups,
            "unmapped": unmapped, "peak_bytes": sim["peak_bytes"],
            "time": sim["time"]}
