"""Applying a remat plan to an unmodified model in one call.

``applied = apply_plan(model, plan, inputs, loss_fn)`` reads a schedule
(``remat plan -o``) or a ``remat-torch-plan`` (``remat emit --target
pytorch``), cuts the model as the export did (same stage or node names,
which must match the plan's), and picks how to run it:

- **module** (single-level chain plans, every graph plan that computes no
  node more than twice): the plan's checkpointed segments are applied to the
  model's own modules with ``torch.utils.checkpoint.checkpoint(...,
  use_reentrant=False)``, which restores the RNG state (dropout masks
  repeat) and the autocast state when it recomputes. A segment of several
  stages is checkpointed as one: its first module runs the whole segment
  inside one checkpoint, the others pass their input through, so only the
  segment's input is kept, as the plan says. The model is then trained as
  usual: ``model(**inputs)``, loss, ``backward()``. In a graph exported
  with ``split=True`` a block is checkpointed when its ``#internals`` node
  is computed twice; a plan that recomputes a block's output without its
  internals is refused.
- **executor** (multi-level chain plans, or a checkpointed segment that
  contains the embeddings or a ``forward_head`` function): the plan's op
  list runs literally on the stages with :func:`remat_torch.run_schedule`
  (multi-level recomputation, each stage's RNG state replayed). Training
  goes through ``applied.step(inputs, loss_fn)``.

``applied.step()`` works in both modes and returns the loss; run it under
``torch.autocast`` for a mixed-precision step (checkpoint and the executor
recompute under the same autocast state). ``applied.remove()`` puts the
model's modules back.
"""

import collections
import json
import os

import torch
from torch.utils.checkpoint import checkpoint

from .apply import ScheduleError, run_schedule
from .graphexport import INTERNALS
from .models import discover_chain, output_tensor


def _read(plan):
    if isinstance(plan, (str, os.PathLike)):
        with open(plan, encoding="utf-8") as f:
            return json.load(f), str(plan)
    return plan, "<plan>"


def chain_segments(ops, num_layers):
    """The single-level segments of a chain op list, or None when the plan
    is not single level: ``[(begin, end, checkpointed)]`` covering every
    stage, such that the op list is exactly that of checkpointing each
    segment (spec 3a order: forward, loss, then per segment from the last:
    recompute it recording, then its backward)."""
    first = []
    for op in ops:
        if op["op"] == "loss":
            break
        first.append(op)
    if [op.get("layer") for op in first] != list(range(num_layers)):
        return None
    segs = []
    for op in first:
        i = op["layer"]
        if op["op"] == "F_all":
            segs.append([i, i + 1, False])
        elif op["op"] == "F_ck" or not segs or not segs[-1][2]:
            if op["op"] != "F_ck":
                return None
            segs.append([i, i + 1, True])
        else:
            segs[-1][1] = i + 1
    merged = []
    for s in segs:  # adjacent stored stages form one stored segment
        if merged and not s[2] and not merged[-1][2]:
            merged[-1][1] = s[1]
        else:
            merged.append(s)
    segs = [tuple(s) for s in merged]
    return segs if _segment_ops(segs) == _strip(ops) else None


def _strip(ops):
    return [{k: v for k, v in op.items() if k in ("op", "layer")}
            for op in ops]


def _segment_ops(segs):
    ops = []
    for b, e, ck in segs:
        for i in range(b, e):
            ops.append({"op": "F_all" if not ck else
                        ("F_ck" if i == b else "F_n"), "layer": i})
    ops.append({"op": "loss"})
    for b, e, ck in reversed(segs):
        if ck:
            ops += [{"op": "F_all", "layer": i} for i in range(b, e)]
        ops += [{"op": "B", "layer": i} for i in reversed(range(b, e))]
    return ops


class AppliedPlan:
    """The result of :func:`apply_plan`: ``mode`` (``module`` or
    ``executor``), ``checkpointed`` (names of the stages or nodes that are
    recomputed), ``step()`` and ``remove()``."""

    def __init__(self, model, inputs, loss_fn, mode):
        self.model, self.inputs, self.loss_fn = model, inputs, loss_fn
        self.mode, self.checkpointed = mode, []
        self._patched = []
        self._chain, self._ops = None, None

    def _patch(self, module, fn):
        had = "forward" in module.__dict__
        self._patched.append((module, had, module.__dict__.get("forward")))
        module.forward = fn

    def remove(self):
        """Restores every patched module's forward."""
        for module, had, old in reversed(self._patched):
            if had:
                module.forward = old
            else:
                del module.forward
        self._patched = []

    def step(self, inputs=None, loss_fn=None):
        """One forward and backward under the plan; returns the loss
        (detached). Parameter gradients accumulate as in a plain step."""
        inputs = self.inputs if inputs is None else inputs
        loss_fn = self.loss_fn if loss_fn is None else loss_fn
        if self.mode == "module":
            loss = loss_fn(output_tensor(self.model(**inputs)))
            loss.backward()
            return loss.detach()
        chain = self._chain
        chain.inputs = inputs
        x0 = inputs[chain.input_key]
        # The model's input gets a gradient only if the caller asked for
        # one, as in a plain step.
        loss, _ = run_schedule(chain.blocks(), self._ops, x0, loss_fn,
                               input_grad=x0.requires_grad)
        return loss


def _check_names(ops, names, where):
    for k, op in enumerate(ops):
        name = op.get("name")
        if "layer" in op and name is not None and \
                op["layer"] < len(names) and names[op["layer"]] != name:
            raise ScheduleError(
                "%s: ops[%d] names stage %d %r, but the model's stage %d is "
                "%r (was the plan made for this model's export?)"
                % (where, k, op["layer"], name, op["layer"],
                   names[op["layer"]]))
        if "layer" in op and op["layer"] >= len(names):
            raise ScheduleError("%s: ops[%d].layer %d is out of range (%d "
                                "stages)" % (where, k, op["layer"],
                                             len(names)))


def _patchable(chain, seg):
    b, e, _ = seg
    return all(s.role in ("layer", "tail") for s in chain.stages[b:e])


def _apply_segment(applied, chain, seg):
    b, e, _ = seg
    parts = []
    for s in chain.stages[b:e]:
        for m in s.parts:
            parts.append((m, s.role == "layer", m.forward))
    head, is_layer, _ = parts[0]
    tuple_out = chain.layer_outputs_tuple

    def run(h, *args, **kwargs):
        x = h
        for m, layer, fwd in parts:
            x = output_tensor(fwd(x, *args, **kwargs) if layer else fwd(x))
        return x

    def first(h, *args, **kwargs):
        y = checkpoint(run, h, *args, use_reentrant=False,
                       preserve_rng_state=True, **kwargs)
        return (y,) if is_layer and tuple_out else y

    def passthrough(layer):
        def fwd(h, *args, **kwargs):
            return (h,) if layer and tuple_out else h
        return fwd

    applied._patch(head, first)
    for m, layer, _ in parts[1:]:
        applied._patch(m, passthrough(layer))
    applied.checkpointed += [s.stage_name for s in chain.stages[b:e]]


def _apply_chain(model, doc, where, inputs, loss_fn, input_key, mode):
    chain = discover_chain(model, inputs, loss_fn, input_key=input_key)
    ops = doc["ops"]
    _check_names(ops, chain.names(), where)
    segs = chain_segments(ops, len(chain.stages))
    ckpt = [s for s in segs or [] if s[2]]
    can_module = segs is not None and all(_patchable(chain, s) for s in ckpt)
    if mode == "module" and not can_module:
        raise ScheduleError("%s: the plan is multi-level or checkpoints the "
                            "embeddings or a head function: it needs the "
                            "executor (mode='executor' or 'auto')" % where)
    chosen = "module" if can_module and mode != "executor" else "executor"
    applied = AppliedPlan(model, inputs, loss_fn, chosen)
    applied._chain, applied._ops = chain, ops
    if chosen == "module":
        for seg in ckpt:
            _apply_segment(applied, chain, seg)
    else:
        counts = {}
        for op in ops:
            if op["op"] in ("F_ck", "F_n", "F_all"):
                counts[op["layer"]] = counts.get(op["layer"], 0) + 1
        applied.checkpointed = [chain.stages[i].stage_name
                                for i, c in sorted(counts.items()) if c > 1]
    return applied


def compute_counts(ops):
    """How many times a graph schedule's ``ops`` compute each node."""
    return collections.Counter(op["node"] for op in ops
                               if op.get("op") == "compute")


def _apply_graph(model, doc, where, inputs, loss_fn, mode):
    if mode == "executor":
        raise ScheduleError("%s: graph plans run in module mode only" % where)
    modules = dict(model.named_modules())
    counts = compute_counts(doc["ops"])
    applied = AppliedPlan(model, inputs, loss_fn, "module")
    for node in sorted(counts):
        c = counts[node]
        if node.endswith(INTERNALS):
            node = node[:-len(INTERNALS)]
        elif node + INTERNALS in counts:
            # A split block (export_graph(split=True)): its internals node
            # says whether it is checkpointed; its output cannot be
            # recomputed without them.
            if c > counts[node + INTERNALS]:
                raise ScheduleError(
                    "%s: node %r is recomputed without %r: torch.utils."
                    "checkpoint recomputes a block's output with its "
                    "internals" % (where, node, node + INTERNALS))
            continue
        if node.startswith("g.") or node == "loss" or c == 1:
            continue
        if not node or node not in modules:
            raise ScheduleError("%s: node %r is not a module of this model "
                                "(the export names nodes by module path)"
                                % (where, node))
        if c > 2:
            raise ScheduleError(
                "%s: node %r is computed %d times: multi-level graph plans "
                "cannot be applied with torch.utils.checkpoint" % (where,
                                                                   node, c))
        module = modules[node]
        applied._patch(module, _checkpointed(module.forward))
        applied.checkpointed.append(node)
    return applied


def _checkpointed(fwd):
    def run(*args, **kwargs):
        return checkpoint(fwd, *args, use_reentrant=False,
                          preserve_rng_state=True, **kwargs)
    return run


def apply_plan(model, plan, inputs, loss_fn, input_key=None, mode="auto"):
    """Applies ``plan`` (a path or a parsed schedule / remat-torch-plan) to
    ``model``; ``inputs`` (forward keyword arguments) and ``loss_fn`` (the
    model's output tensor -> scalar) are a sample step, used to find the
    stages as the export did. ``mode``: ``auto``, ``module`` or
    ``executor``. Returns an :class:`AppliedPlan`; raises
    :class:`~remat_torch.ScheduleError` on a plan that does not fit."""
    doc, where = _read(plan)
    if doc.get("format") not in ("remat-schedule", "remat-torch-plan"):
        raise ScheduleError("%s: format is %r, expected remat-schedule or "
                            "remat-torch-plan" % (where, doc.get("format")))
    if mode not in ("auto", "module", "executor"):
        raise ValueError("mode must be auto, module or executor")
    ops = doc.get("ops") or []
    if ops and "node" in ops[0]:
        return _apply_graph(model, doc, where, inputs, loss_fn, mode)
    return _apply_chain(model, doc, where, inputs, loss_fn, input_key, mode)
