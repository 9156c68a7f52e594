"""Helpers for the real-model tests (not a test module).

:class:`LeafCallCounter` counts how often each stage (or graph node) of a
model runs, by a meter independent of remat_torch's patching: for each
stage, the first leaf module it calls when run by itself (found with
forward pre-hooks) is watched through its *class's* ``forward``, wrapped
for the duration. remat_torch patches instances (``module.forward = ...``),
never classes, so a module patched to pass its input through is not
counted, while every real run, checkpoint recomputations in the backward
included, goes through the class's ``forward`` and is. Install the counter
before applying a plan (the plan captures bound forwards), and ``reset()``
it after.
"""

import torch

from remat_torch.models import output_tensor


def first_leaves(modules_by_name, run_alone):
    """{name: leaf module}: the first leaf module (no children) each named
    module calls when ``run_alone(name)`` runs it by itself."""
    leaves = {}
    for name, mod in modules_by_name.items():
        seen = []
        handles = [m.register_forward_pre_hook(
            lambda m_, a_, m=m: seen.append(m))
            for m in mod.modules() if not list(m.children())]
        try:
            with torch.no_grad():
                run_alone(name)
        finally:
            for h in handles:
                h.remove()
        if not seen:
            raise AssertionError("%s calls no leaf module" % name)
        leaves[name] = seen[0]
    return leaves


class LeafCallCounter:
    """Context manager wrapping the classes' ``forward`` of the watched
    leaves; ``counts()`` maps each name to its leaf's real calls."""

    def __init__(self, leaves):
        self.leaves = leaves
        self.ids = {id(m): n for n, m in leaves.items()}
        self._counts = {n: 0 for n in leaves}
        self._saved = []

    def _wrap(self, cls):
        orig = cls.__dict__["forward"] if "forward" in cls.__dict__ \
            else cls.forward
        counter = self

        def forward(module, *args, **kwargs):
            name = counter.ids.get(id(module))
            if name is not None:
                counter._counts[name] += 1
            return orig(module, *args, **kwargs)
        self._saved.append((cls, "forward" in cls.__dict__, orig))
        cls.forward = forward

    def __enter__(self):
        for cls in dict.fromkeys(type(m) for m in self.leaves.values()):
            self._wrap(cls)
        return self

    def __exit__(self, *exc):
        for cls, own, orig in reversed(self._saved):
            if own:
                cls.forward = orig
            else:
                del cls.forward
        self._saved = []
        return False

    def reset(self):
        self._counts = {n: 0 for n in self.leaves}

    def counts(self):
        return dict(self._counts)


def chain_leaves(chain):
    """First leaves of a ChainModel's stages (each run on its real input)."""
    xs, x = {}, chain.x0
    with torch.no_grad():
        for s in chain.stages:
            xs[s.stage_name] = x
            x = s(x)
    by_name = {s.stage_name: s for s in chain.stages}
    return first_leaves(by_name, lambda n: by_name[n](xs[n]))


def graph_leaves(graph):
    by_name = {n.name: n.module for n in graph.nodes}
    calls = {n.name: n for n in graph.nodes}
    return first_leaves(
        by_name, lambda n: calls[n].module(*calls[n].args, **calls[n].kwargs))


def plan_counts(plan):
    """Forward runs per stage or node name that the plan's ops make."""
    counts = {}
    for op in plan["ops"]:
        if op["op"] in ("F_ck", "F_n", "F_all"):
            counts[op["name"]] = counts.get(op["name"], 0) + 1
        elif op["op"] == "compute" and not op["node"].startswith("g.") \
                and op["node"] != "loss":
            counts[op["node"]] = counts.get(op["node"], 0) + 1
    return counts


def grads_of(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()
            if p.grad is not None}


def plain_step(model, inputs, loss_fn, seed):
    torch.manual_seed(seed)
    loss = loss_fn(output_tensor(model(**inputs)))
    loss.backward()
    return loss.detach()


def zero(model):
    for p in model.parameters():
        p.grad = None
