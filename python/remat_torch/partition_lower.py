"""Lower an AOTAutograd joint graph to remat's graph model form.

One remat node per *group* of FX nodes:

- a view (an op whose schema returns an alias of an input, or a ``getitem``
  of one) is no node of its own: it belongs to the storage it aliases, and a
  reader of the view reads that storage's group. A view of a graph input
  (``t(weight)``) costs nothing and is not counted;
- a tuple-producing op and its ``getitem`` outputs are one group;
- **fused pointwise chains**: a fusible op (``torch.Tag.pointwise`` or one
  of the reductions Inductor generates code for) joins the group of each
  fusible input whose only reader is this op, in the same phase. Inductor
  fuses such a producer into its consumer and never writes it to memory, so
  the group's bytes are those of its outputs only (members read outside the
  group), and its time is that of one kernel over its boundary. Groups are
  in-trees: every member but the root has one reader, inside the group, so
  the group graph stays acyclic.
- **a product read only by an add** (``add(mm(a, b), c)``) joins the add's
  group: Inductor rewrites the pair to ``addmm`` at the add's place
  (:func:`addmm_reader`). GPT-2's tied embedding gradient is such a pair:
  the output projection's weight gradient, an ``mm`` of the logits
  gradient, is added to the embedding's gradient at the end of the
  backward, and the logits gradient lives until there.

Phases: a node that depends on a ``tangents`` input is backward; every other
node is forward (including the forward-only values that only the backward
reads). One ``loss`` node reads the groups of the forward outputs; backward
groups that read a tangent read it.

Bytes: graph inputs (parameters, the batch, tangents) are external and
not counted (spec section 3b). A tensor the backward returns is a
gradient. By default one that only the graph's output reads has bytes 0,
as static gradient memory outside the budget. With ``count_gradients``
every gradient counts from the group that computes it to the end of the
step, as the step allocates it then (``zero_grad(set_to_none=True)``) and
holds it for the optimizer: the last backward group reads every gradient
group, and a gradient a tuple op returns (the weight gradient of a
convolution backward) is a group of its own that reads the tuple op's.
"""

from __future__ import annotations

import heapq
import operator
from dataclasses import dataclass, field

import torch
import torch.fx as fx

#: Reductions Inductor turns into generated kernels that fuse with pointwise
#: neighbours (the decomposed forms of softmax, layer and group norm).
FUSIBLE_REDUCTIONS = {
    "sum", "mean", "amax", "amin", "var_mean", "var", "prod", "any", "all",
    "argmax", "argmin", "max", "min", "logsumexp",
}


def _packet(node: fx.Node) -> str:
    target = node.target
    if isinstance(target, torch._ops.OpOverload):
        return target._overloadpacket.__name__
    return getattr(target, "__name__", str(target))


def is_view(node: fx.Node) -> bool:
    """True for an op that returns an alias of an input (no new storage)."""
    if node.op != "call_function":
        return False
    target = node.target
    if target is operator.getitem:
        return is_view(node.args[0])
    if not isinstance(target, torch._ops.OpOverload):
        return False
    if _packet(node) == "_unsafe_view":
        return True
    returns = target._schema.returns
    if not returns:
        return False
    alias = returns[0].alias_info
    return alias is not None and not alias.is_write


def is_fusible(node: fx.Node) -> bool:
    """Pointwise or a reduction Inductor fuses; not a matmul, conv, etc."""
    target = node.target
    if not isinstance(target, torch._ops.OpOverload):
        return False
    if torch.Tag.pointwise in target.tags:
        return True
    return _packet(node) in FUSIBLE_REDUCTIONS


def tensor_bytes(node: fx.Node) -> int:
    """Bytes of the tensor a node produces (0 for non-tensors, tuples)."""
    val = node.meta.get("val")
    if isinstance(val, torch.Tensor):
        return int(val.numel()) * val.element_size()
    return 0


@dataclass
class Group:
    """One remat node: a set of FX nodes computed as one kernel (or alias)."""

    name: str
    members: list  # FX nodes in graph order
    phase: str  # "forward" or "backward"
    outputs: list = field(default_factory=list)  # storage FX nodes read outside
    inputs: list = field(default_factory=list)  # group names
    reads_tangent: bool = False
    bytes: int = 0
    time: float = 0.0
    flops: float = 0.0
    kind: str = ""
    workspace: int = 0
    inlined: bool = False  # a cheap forward group the backward recomputes
    # inside its readers (directly or through another inlined group)


@dataclass
class Lowered:
    """The joint graph as remat groups, and the maps between the two."""

    groups: dict  # name -> Group, in a topological order
    group_of: dict  # FX node -> group name (views: their storage's group)
    storage_of: dict  # FX node -> storage FX node (itself unless a view)
    fwd_outputs: list
    bwd_outputs: list
    loss_inputs: list
    skipped: list  # notes on what the lowering could not express

    def model(self, name: str, time_unit: str = "us") -> dict:
        """The remat-model document (graph form) of these groups."""
        nodes = []
        for g in self.groups.values():
            entry = {"name": g.name, "time": round(g.time, 3), "bytes": g.bytes,
                     "inputs": list(g.inputs), "phase": g.phase}
            if g.kind:
                entry["kind"] = g.kind
            if g.workspace:
                entry["workspace"] = g.workspace
            nodes.append(entry)
            if g.name == self.last_forward:
                nodes.append({"name": "loss", "time": 0, "bytes": 0,
                              "inputs": list(self.loss_inputs),
                              "phase": "loss"})
        return {"format": "remat-model", "version": 1, "name": name,
                "description": "joint graph of torch.compile, lowered by "
                               "remat_torch.partition_lower",
                "time_unit": time_unit, "graph": {"nodes": nodes}}

    @property
    def last_forward(self) -> str:
        last = None
        for g in self.groups.values():
            if g.phase == "forward":
                last = g.name
        return last


def _union_find_groups(nodes, storage_of, consumers, phase_bw, apart=()):
    """Assigns each non-view FX node a group root by the fusion rule;
    the ``getitem`` nodes in ``apart`` stay groups of their own."""
    root = {}

    def find(n):
        while root[n] is not n:
            root[n] = root[root[n]]
            n = root[n]
        return n

    for n in nodes:
        if n.op != "call_function" or is_view(n):
            continue
        if n.target is operator.getitem:
            root[n] = n  # joined to its producer below
            continue
        root[n] = n
    for n in nodes:
        if n.op != "call_function" or is_view(n):
            continue
        if n.target is operator.getitem and n not in apart:
            root[find(n)] = find(n.args[0])
    for v in nodes:
        if v not in root or v.target is operator.getitem or not is_fusible(v):
            continue
        for inp in v.all_input_nodes:
            u = storage_of.get(inp)
            if u is None or u not in root or u.target is operator.getitem:
                continue
            if not is_fusible(u) or (u in phase_bw) != (v in phase_bw):
                continue
            if consumers[u] != {v}:
                continue
            ru, rv = find(u), find(v)
            if ru is not rv:
                root[ru] = rv
    for u in nodes:
        v = addmm_reader(u, consumers, phase_bw) if u in root else None
        if v is not None and v in root and find(u) is not find(v):
            root[find(u)] = find(v)
    return {n: find(n) for n in root}


def addmm_reader(u: fx.Node, consumers, phase_bw) -> fx.Node | None:
    """The ``add`` that Inductor's post-grad ``addmm`` pattern merges the
    ``mm`` ``u`` into, or None. The pattern (``addmm`` and
    ``is_valid_addmm_fusion`` in torch/_inductor/fx_passes/post_grad.py) is
    ``add(mm(a, b), c)`` in either order, the ``mm`` read only there and
    ``c`` a tensor of the same dtype that expands to the product's shape;
    on the CPU ``should_prefer_unfused_addmm`` never holds. Inductor then
    runs the product at the add, so ``a`` and ``b`` live until there and
    the product is never a buffer of its own: one group, at the add."""
    if u.target is not torch.ops.aten.mm.default or len(consumers[u]) != 1:
        return None
    (v,) = consumers[u]
    if not isinstance(v, fx.Node) or v.target is not torch.ops.aten.add.Tensor:
        return None
    if v.kwargs.get("alpha", 1) != 1 or list(v.args[:2]).count(u) != 1:
        return None
    other = v.args[1] if v.args[0] is u else v.args[0]
    vals = [getattr(x, "meta", {}).get("val") for x in (other, u, *u.args)]
    if not all(isinstance(x, torch.Tensor) for x in vals):
        return None
    if len({x.dtype for x in vals}) != 1 or (u in phase_bw) != (v in phase_bw):
        return None
    try:
        shape = torch.broadcast_shapes(vals[0].shape, vals[1].shape)
    except RuntimeError:
        return None
    return v if tuple(shape) == tuple(vals[1].shape) else None


def _consumers(nodes, storage_of):
    """Storage node -> the non-view nodes (and the output) that read it."""
    cons = {n: set() for n in nodes}
    for n in nodes:
        if n.op == "call_function" and is_view(n):
            continue
        if n.op == "call_function" and n.target is operator.getitem:
            continue
        for inp in n.all_input_nodes:
            s = storage_of.get(inp)
            if s is not None:
                cons[s].add(n)
    return cons


def _storage_map(nodes):
    storage_of = {}
    for n in nodes:
        if n.op == "placeholder":
            storage_of[n] = n
        elif n.op == "call_function":
            if is_view(n):
                base = n.args[0] if n.target is operator.getitem else (
                    n.all_input_nodes[0] if n.all_input_nodes else None)
                storage_of[n] = storage_of.get(base, n) if base is not None else n
            else:
                storage_of[n] = n
    return storage_of


def merge_common_subexpressions(joint_module: fx.GraphModule,
                                num_fwd_outputs: int) -> None:
    """Merges repeated computations of the joint graph (PyTorch's own CSE
    pass, run as its min-cut partitioner runs it, when
    ``torch._functorch.config.cse`` is on: the same call and the same rule
    for the key as ``min_cut_rematerialization_partition`` in
    ``torch/_functorch/partitioners.py``, torch 2.15, which this mirrors so
    that both partitioners see one graph).

    Autograd's decompositions recompute forward values in the backward
    (layer norm's backward computes ``x - mean`` and its product with
    ``rsqrt`` again); without merging, the lowered graph holds both copies
    and Inductor's backward allocates the duplicates (ViT: +0.58 MB of
    measured peak with the same saved set). A node the backward's outputs
    depend on is never merged with one they do not, so that merging cannot
    make a forward-only value a saved one."""
    from torch._functorch import config as functorch_config
    from torch._functorch.compile_utils import fx_graph_cse
    from torch._functorch.partitioners import _extract_fwd_bwd_outputs

    if not functorch_config.cse:
        return
    _, bwd_outs, _, _ = _extract_fwd_bwd_outputs(
        joint_module, num_fwd_outputs=num_fwd_outputs)
    needed = set()
    stack = [o for o in bwd_outs if isinstance(o, fx.Node)]
    while stack:
        n = stack.pop()
        if n not in needed:
            needed.add(n)
            stack.extend(n.all_input_nodes)
    joint_module.graph = fx_graph_cse(
        joint_module.graph, extra_node_key=lambda n: n in needed)
    joint_module.recompile()


def lower_joint_graph(gm: fx.GraphModule, num_fwd_outputs: int,
                      cost, count_gradients: bool = False) -> Lowered:
    """Groups the joint graph's nodes and prices them with ``cost``;
    ``count_gradients``: parameter gradients count (module docstring)."""
    from torch._functorch.partitioners import _extract_fwd_bwd_outputs

    nodes = list(gm.graph.nodes)
    fwd_outs, bwd_outs, _, _ = _extract_fwd_bwd_outputs(
        gm, num_fwd_outputs=num_fwd_outputs)
    tangents = {n for n in nodes
                if n.op == "placeholder" and "tangents" in str(n.target)}
    phase_bw = set(tangents)
    for n in nodes:
        if n.op == "call_function" and any(
                i in phase_bw for i in n.all_input_nodes):
            phase_bw.add(n)
    storage_of = _storage_map(nodes)
    consumers = _consumers(nodes, storage_of)
    bwd_out_set = {o for o in bwd_outs if o is not None}
    # Gradients by storage (the graph may return a view of one, t(mm)),
    # whether or not the backward also reads them.
    gradients = {storage_of.get(o, o) for o in bwd_out_set
                 if isinstance(o, fx.Node)} & set(consumers)
    apart = ({n for n in gradients if n.target is operator.getitem}
             if count_gradients else set())
    root = _union_find_groups(nodes, storage_of, consumers, phase_bw, apart)

    members = {}
    for n in nodes:
        if n in root:
            members.setdefault(root[n], []).append(n)
    # A group is named after its last member; an FX node -> its group name.
    name_of_root = {r: ms[-1].name for r, ms in members.items()}
    group_of = {}
    for n in nodes:
        s = storage_of.get(n)
        if s is not None and s in root:
            group_of[n] = name_of_root[root[s]]
    skipped = []
    groups = {}
    for r, ms in members.items():
        name = name_of_root[r]
        phase = "backward" if any(m in phase_bw for m in ms) else "forward"
        g = Group(name=name, members=ms, phase=phase)
        mset = set(ms)
        for m in ms:
            readers = consumers.get(m, set())
            if any(c not in mset for c in readers):
                g.outputs.append(m)
        ins = []
        for m in ms:
            for inp in m.all_input_nodes:
                s = storage_of.get(inp)
                if s in tangents:
                    g.reads_tangent = True
                if s is None or s in mset or s.op == "placeholder":
                    continue
                gname = group_of[s]
                if gname != name and gname not in ins:
                    ins.append(gname)
        g.inputs = ins
        g.bytes = sum(tensor_bytes(o) for o in g.outputs if count_gradients
                      or not _only_graph_output_reads(o, consumers,
                                                      bwd_out_set))
        cost.price(g, storage_of)
        groups[name] = g
    loss_inputs = []
    for o in fwd_outs:
        if isinstance(o, fx.Node) and o in group_of:
            gname = group_of[o]
            if groups[gname].phase == "forward" and gname not in loss_inputs:
                loss_inputs.append(gname)
    _inline_cheap_forward(groups)
    dropped = _drop_unread_cheap(groups, set(loss_inputs))
    if dropped:
        skipped.append(f"{dropped} cheap forward group(s) only the backward "
                       f"reads are left to the backward's fused kernels")
    ordered = _topo_order(groups, {n.name: i for i, n in enumerate(nodes)})
    for g in ordered.values():
        if g.phase == "backward" and g.reads_tangent:
            g.inputs.append("loss")
    if count_gradients:
        _hold_gradients(ordered, gradients)
    if not loss_inputs:
        skipped.append("no forward output is an activation; the loss node "
                       "reads nothing")
    return Lowered(groups=ordered, group_of=group_of, storage_of=storage_of,
                   fwd_outputs=list(fwd_outs), bwd_outputs=list(bwd_outs),
                   loss_inputs=loss_inputs, skipped=skipped)


def is_cheap(g: Group) -> bool:
    """A forward group Inductor recomputes inside its backward readers'
    kernels: pointwise only (or reading only graph inputs), no FLOPs."""
    if g.phase != "forward" or g.flops > 0:
        return False
    if not g.inputs:
        return True
    return all(isinstance(m.target, torch._ops.OpOverload)
               and torch.Tag.pointwise in m.target.tags
               for m in g.members if m.op == "call_function"
               and not is_view(m) and m.target is not operator.getitem)


#: An input of a cheap group is large when it holds at least this share of
#: the group's own bytes (layer norm's mean and rsqrt are not, next to x).
LARGE_INPUT_SHARE = 1 / 8


def _inline_cheap_forward(groups: dict) -> None:
    """A backward group that reads an inlinable cheap forward group reads
    that group's inputs instead (transitively): the split recomputes the
    pointwise chain in the backward, fused into the reader, so it is never
    saved and never resident there. A non-fusible reader (a matmul) needs
    it written out: its bytes become the reader's workspace, its time the
    reader's.

    Inlinable: cheap, and reading at most one large input (after
    expansion; :data:`LARGE_INPUT_SHARE`). GELU's pieces, a normalisation
    from x, mean and rsqrt are; a residual add of two activations is not:
    inlining it would force both its inputs to be kept or recomputed in
    its place, where saving its one output may be cheaper. Such a group
    stays a node the planner may save or recompute."""
    memo = {}

    def expand(name):
        if name not in memo:
            memo[name] = [name]
            g = groups[name]
            if is_cheap(g):
                ins = []
                for i in g.inputs:
                    ins += [j for j in expand(i) if j not in ins]
                large = [j for j in ins if groups[j].bytes > 0 and
                         groups[j].bytes >= g.bytes * LARGE_INPUT_SHARE]
                if len(large) <= 1:
                    memo[name] = ins
                    g.inlined = True
        return memo[name]

    def inlinable(name):
        return expand(name) != [name]

    for g in groups.values():
        if g.phase != "backward":
            continue
        new = []
        for i in g.inputs:
            if i in groups and inlinable(i):
                if not all(is_fusible(m) for m in g.members
                           if m.op == "call_function" and not is_view(m)
                           and m.target is not operator.getitem):
                    g.workspace += groups[i].bytes
                    g.time += groups[i].time
            for j in expand(i):
                if j not in new:
                    new.append(j)
        g.inputs = new


def _drop_unread_cheap(groups: dict, keep: set) -> int:
    """Removes cheap forward groups nothing reads any more (after
    inlining); returns how many."""
    dropped = 0
    while True:
        read = {i for g in groups.values() for i in g.inputs}
        dead = [n for n, g in groups.items() if is_cheap(g)
                and n not in read and n not in keep]
        if not dead:
            return dropped
        for n in dead:
            del groups[n]
        dropped += len(dead)


def _hold_gradients(groups: dict, gradients: set) -> None:
    """The last backward group reads every group that computes a parameter
    gradient (or input gradient: a graph output of the backward), so that
    the gradients stay resident to the end of the step."""
    names = list(groups)
    last = groups[names[-1]]
    if last.phase != "backward":
        return
    for name in names[:-1]:
        g = groups[name]
        if g.phase == "backward" and any(o in gradients for o in g.outputs) \
                and name not in last.inputs:
            last.inputs.append(name)


def _only_graph_output_reads(node, consumers, bwd_out_set):
    """A backward output (parameter gradient) read by nothing else."""
    readers = consumers.get(node, set())
    return node in bwd_out_set and all(c.op == "output" for c in readers)


def _topo_order(groups: dict, position: dict) -> dict:
    """Groups in a topological order: forward first, then by graph position."""
    indeg = {n: 0 for n in groups}
    users = {n: [] for n in groups}
    for g in groups.values():
        for i in g.inputs:
            indeg[g.name] += 1
            users[i].append(g.name)

    def key(name):
        g = groups[name]
        return (g.phase != "forward",
                min(position[m.name] for m in g.members), name)

    heap = [key(n) for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    out = {}
    while heap:
        _, _, name = heapq.heappop(heap)
        out[name] = groups[name]
        for u in users[name]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(heap, key(u))
    if len(out) != len(groups):
        raise RuntimeError("remat_torch: the fused group graph has a cycle "
                           "(a bug in the fusion rule)")
    return out
