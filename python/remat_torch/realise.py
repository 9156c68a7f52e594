"""From a plan of the joint graph to the forward/backward split: the saved
set a plan implies, and the schedule the split really runs (its
*realisation*), in remat's graph dialect for ``remat simulate``.

Used by :class:`~remat_torch.partitioner.RematPartitioner` for remat's own
plans and by :mod:`remat_torch.reference` for PyTorch's saved sets.
"""

from __future__ import annotations

from .partition_lower import Lowered


def split_saved_set(ops: list, lowered: Lowered) -> set:
    """The saved set of a plan of the split's class (``plan
    --recompute-once-in-backward``): the forward groups computed before the
    loss, read after it and not recomputed after it."""
    before, after, read_after = set(), set(), set()
    for node, phase in computes(ops):
        if node == "loss":
            continue
        if phase == "forward":
            before.add(node)
        else:
            after.add(node)
            if node in lowered.groups:
                read_after.update(lowered.groups[node].inputs)
    return {n for n in before if n in lowered.groups
            and lowered.groups[n].phase == "forward"
            and n in read_after and n not in after}


def saved_set_of_plan(ops: list, lowered: Lowered):
    """The forward groups resident when the loss runs and read afterwards,
    and notes on what of the plan the forward/backward split cannot run."""
    resident = set()
    count = {}
    loss_at = None
    for i, op in enumerate(ops):
        node = op["node"]
        if op["op"] == "compute":
            count[node] = count.get(node, 0) + 1
            resident.add(node)
            if node == "loss":
                loss_at = i
                break
        else:
            resident.discard(node)
    fwd_recomputed = sorted(n for n, c in count.items() if c > 1)
    read_later = set()
    bw_counts = {}
    for op in ops[loss_at + 1:]:
        if op["op"] != "compute":
            continue
        node = op["node"]
        bw_counts[node] = bw_counts.get(node, 0) + 1
        if node in lowered.groups:
            read_later.update(lowered.groups[node].inputs)
    saved = {n for n in resident if n in lowered.groups
             and lowered.groups[n].phase == "forward" and n in read_later}
    notes = []
    if fwd_recomputed:
        notes.append(f"the plan recomputes {len(fwd_recomputed)} group(s) "
                     f"within the forward (e.g. {fwd_recomputed[0]}); the "
                     f"split computes each once in the forward")
    many = sorted(n for n, c in bw_counts.items()
                  if c > 1 and n in lowered.groups
                  and lowered.groups[n].phase == "forward")
    if many:
        notes.append(f"the plan recomputes {len(many)} group(s) more than "
                     f"once in the backward (e.g. {many[0]}); the split "
                     f"recomputes each once and keeps it until its last use")
    return saved, notes, set(many)


def computes(ops):
    """(group, phase) of each compute op: "forward", "backward" or
    "backward-recompute" (a forward group computed again after the loss)."""
    seen = set()
    loss_done = False
    for op in ops:
        if op["op"] != "compute":
            continue
        n = op["node"]
        if n == "loss":
            loss_done = True
        phase = "forward"
        if loss_done and n != "loss":
            phase = "backward-recompute" if n in seen else "backward"
        seen.add(n)
        yield n, phase


def realised_ops(lowered: Lowered, saved: set) -> list:
    """The graph-dialect schedule the split runs: the forward groups that the
    forward outputs and the saved groups need, the loss, then the backward
    groups with every non-saved forward group they need recomputed once, each
    freed after its last reader. The same ops as the C++ planner's
    ``splitScheduleOps`` (planner/GraphSplit.h), which
    ``plan --recompute-once-in-backward`` plans over."""
    groups = lowered.groups
    need_bw = set()
    stack = [n for n, g in groups.items() if g.phase == "backward"]
    while stack:
        n = stack.pop()
        if n in need_bw or n == "loss" or n in saved:
            continue
        need_bw.add(n)
        stack.extend(groups[n].inputs)
    # The forward computes what the loss and the saved groups need, and every
    # forward group the backward does not recompute (a group nothing reads
    # is still a node of the model; the split drops it, so this only
    # overstates the realised cost), with their ancestors.
    need_fw = set()
    stack = list(lowered.loss_inputs) + list(saved) + [
        n for n, g in groups.items()
        if g.phase == "forward" and n not in need_bw]
    while stack:
        n = stack.pop()
        if n in need_fw:
            continue
        need_fw.add(n)
        stack.extend(groups[n].inputs)
    seq = [n for n in groups if n in need_fw and groups[n].phase == "forward"]
    seq.append("loss")
    done = set()

    def recompute(n):
        # Lazily, as reordering_to_mimic_autograd_engine places them: a
        # recomputed group right before its first backward reader.
        if n in done or n not in need_bw or groups[n].phase != "forward":
            return
        for i in groups[n].inputs:
            recompute(i)
        done.add(n)
        seq.append(n)

    for n, g in groups.items():
        if g.phase == "backward":
            for i in g.inputs:
                recompute(i)
            seq.append(n)
    return _with_frees(seq, lowered)


def _with_frees(seq: list, lowered: Lowered) -> list:
    """Computes in ``seq`` order, each value freed after its last reader
    before its next compute (or right away when nothing reads it)."""
    inputs = {n: g.inputs for n, g in lowered.groups.items()}
    inputs["loss"] = lowered.loss_inputs
    last_use = {}
    current = {}
    for pos, n in enumerate(seq):
        for i in inputs[n]:
            last_use[(i, current[i])] = pos
        current[n] = pos
    frees_after = {}
    for pos, n in enumerate(seq):
        end = last_use.get((n, pos), pos)
        frees_after.setdefault(end, []).append(n)
    ops = []
    for pos, n in enumerate(seq):
        ops.append({"op": "compute", "node": n})
        for f in frees_after.get(pos, []):
            ops.append({"op": "free", "node": f})
    return ops
