"""Exporting a model that is not a chain (a U-Net) as a graph-form remat
model file, one node per block.

:func:`discover_graph` picks the nodes: the root's children in the order the
forward calls them, with every ``ModuleList`` child expanded into its
elements (diffusers' ``down_blocks.0``, ``mid_block``, ``up_blocks.1``,
...). A parameterless child that reads no other node's output (diffusers'
``time_proj``, the sinusoidal timestep features) is not a node: its output,
like the model's inputs, is an external tensor. One forward with hooks
records each node's real arguments; an edge u -> v means v reads a tensor
u returned (the same tensor object, or the same storage), so the skip
connections of a U-Net (the residuals each down block returns and an up
block concatenates) are edges. With ``fine=True`` a block's ``ModuleList``
elements are the nodes instead (diffusers' resnets, attentions, down- and
upsamplers); the recording run records autograd history, so that a tensor
made between nodes (``torch.cat`` of a skip) leads back to the nodes it was
made from.

:func:`export_graph` measures each node on its recorded arguments:

- ``bytes``: what the node keeps until its backward, its outputs included:
  the storages autograd saves during a recording forward (through
  ``saved_tensors_hooks``), without parameters, buffers, external tensors
  and the node's inputs (they belong to their producers), plus every output
  storage. This is the convention of the bundled U-Net models
  (docs/models.md): at block granularity, a block's internal tensors have
  no nodes of their own. With ``split=True`` a block that saves tensors
  besides its outputs is two nodes, ``<block>#internals`` (the saved
  tensors, the forward's time) and ``<block>`` (its outputs, time 0), so
  that a plan can keep the output and recompute the internals, as
  torch.utils.checkpoint on the block does.
- ``time``: median forward time without recording; the backward node's
  time is the measured backward of the node's outputs.
- The backward is written out (phase ``backward``, named ``g.<node>``):
  ``g.v`` reads the gradients of v's users (or the loss), and v and those
  of v's inputs whose storages v's autograd saves (seen by the same hooks);
  an output no backward saves (a projection's, copied by the reshape after
  it) is then freed after its last forward reader, as autograd frees it.
  Its bytes are the gradients of v's inputs that come from nodes. The
  loss node reads the last node; its bytes are the gradient of that
  node's output.
"""

import collections
import statistics
import time

import torch
from torch import nn

from .chainexport import autocast_context
from .export import _split_at, _storage
from .memtimeline import _BACKWARD_MARK, profiled_timeline
from .models import DiscoveryError, output_tensor


def _flat(obj, out):
    if torch.is_tensor(obj):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flat(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flat(o, out)
    elif hasattr(obj, "to_tuple"):
        _flat(obj.to_tuple(), out)
    return out


def _map(obj, fn):
    """``obj`` with every tensor t replaced by fn(t)."""
    if torch.is_tensor(obj):
        return fn(obj)
    if isinstance(obj, tuple):
        return tuple(_map(o, fn) for o in obj)
    if isinstance(obj, list):
        return [_map(o, fn) for o in obj]
    if isinstance(obj, dict):
        return {k: _map(v, fn) for k, v in obj.items()}
    return obj


class Node:
    """A node: its module path, module, recorded call and producers."""

    def __init__(self, name, module):
        self.name, self.module = name, module
        self.args, self.kwargs, self.out = (), {}, None
        self.inputs = []  # node names, in first-use order
        self.calls = 0


class GraphModel:
    """Nodes in call order, the model, its inputs and its loss."""

    def __init__(self, model, nodes, inputs, loss_fn, out):
        self.model, self.nodes, self.inputs = model, nodes, inputs
        self.loss_fn, self.out = loss_fn, out

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)


def _candidates(model, fine=False):
    cands = []
    for name, child in model.named_children():
        if isinstance(child, nn.ModuleList):
            for i, m in child.named_children():
                cands += _expand("%s.%s" % (name, i), m, fine)
        else:
            cands += _expand(name, child, fine)
    return cands


def _lists(block):
    return [(n, c) for n, c in block.named_children()
            if isinstance(c, nn.ModuleList)]


def _expand(name, block, fine):
    """``block`` as one node, or (``fine``) the elements of its
    ``ModuleList`` children (a diffusers block's resnets, attentions,
    down/upsamplers) when it has any. With ``fine=2`` such an element that
    itself holds a ``ModuleList`` (a diffusers transformer and its
    ``transformer_blocks``) is replaced by all of its children, the lists'
    elements in place of the lists (``norm``, ``proj_in``,
    ``transformer_blocks.0``, ``proj_out``)."""
    lists = _lists(block) if fine else []
    if not lists:
        return [(name, block)]
    out = []
    for n, c in lists:
        for i, m in c.named_children():
            path = "%s.%s.%s" % (name, n, i)
            out += _children(path, m) if fine == 2 and _lists(m) else \
                [(path, m)]
    return out


def _children(name, block):
    out = []
    for n, c in block.named_children():
        if isinstance(c, nn.ModuleList):
            out += [("%s.%s.%s" % (name, n, i), m)
                    for i, m in c.named_children()]
        else:
            out.append(("%s.%s" % (name, n), c))
    return out


def _record(model, inputs, cands, autocast=None):
    nodes = {id(m): Node(n, m) for n, m in cands}
    order, handles = [], []

    def post(mod, args, kwargs, out):
        node = nodes[id(mod)]
        node.calls += 1
        node.args, node.kwargs, node.out = args, kwargs, out
        order.append(node)

    for _, m in cands:
        handles.append(m.register_forward_hook(post, with_kwargs=True))
    first = next(iter(_flat(inputs, [])))
    try:
        # Recording, so that a node's input made by glue code between
        # nodes (torch.cat of a skip) leads back to its producers.
        with torch.enable_grad(), torch.random.fork_rng(), \
                autocast_context(first.device.type, autocast):
            torch.manual_seed(0)
            out = model(**inputs)
    finally:
        for h in handles:
            h.remove()
    twice = [n.name for n in order if n.calls > 1]
    if twice:
        raise DiscoveryError("modules called more than once per forward: "
                             "%s" % sorted(set(twice)))
    return order, out


def _glue_producers(t, by_fn, limit=64):
    """Nodes whose outputs reach ``t`` through operations outside every
    node (its autograd history, stopping at node outputs)."""
    found, stack, seen = [], [t.grad_fn], set()
    while stack and len(seen) < limit:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        if id(fn) in by_fn:
            found.append(by_fn[id(fn)])
            continue
        stack.extend(f for f, _ in fn.next_functions)
    return found


def discover_graph(model, inputs, loss_fn, autocast=None, fine=False):
    """The block graph of ``model`` on the batch ``inputs`` (a dict of
    forward keyword arguments); see the module doc. With ``autocast`` the
    recording run is under ``torch.autocast``, so each block's recorded
    inputs have the dtypes of a mixed-precision run. ``fine``: a block
    with ``ModuleList`` children (diffusers' down, mid and up blocks) is
    replaced by their elements (its ResNet blocks, transformers and
    resamplers); tensors the block's own code makes between them (the
    concatenation with a skip) become inputs of the node that reads them,
    with edges from the nodes whose outputs they are made of. ``fine=2``
    goes one level further into elements that hold lists themselves
    (diffusers' transformers: their norm, projections and each of their
    ``transformer_blocks``), the granularity of
    ``enable_gradient_checkpointing()``."""
    order, out = _record(model, inputs, _candidates(model, fine), autocast)
    producers, by_storage, by_fn, nodes = {}, {}, {}, []
    for node in order:
        ins = []
        node.glue = []
        for t in _flat([node.args, node.kwargs], []):
            src = producers.get(id(t)) or by_storage.get(_storage(t)[0])
            srcs = [src] if src is not None else []
            if not srcs and t.grad_fn is not None:
                srcs = _glue_producers(t, by_fn)
                if srcs:
                    node.glue.append(t)
            for src in srcs:
                if src not in ins:
                    ins.append(src)
        has_params = any(True for _ in node.module.parameters())
        if not ins and not has_params:
            continue  # an external feature, e.g. sinusoidal time features
        node.inputs = ins
        nodes.append(node)
        for t in _flat(node.out, []):
            producers[id(t)] = node.name
            by_storage.setdefault(_storage(t)[0], node.name)
            if t.grad_fn is not None:
                by_fn[id(t.grad_fn)] = node.name
    last = nodes[-1]
    if output_tensor(out) is not output_tensor(last.out) and not torch.equal(
            output_tensor(out), output_tensor(last.out)):
        raise DiscoveryError("the model's output is not the output of its "
                             "last block %s" % last.name)
    return GraphModel(model, nodes, inputs, loss_fn, out)


def _median_ms(fn, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _static_ptrs(model, graph):
    ptrs = {_storage(t)[0] for t in list(model.parameters())
            + list(model.buffers())}
    produced = set()
    for n in graph.nodes:
        produced |= {_storage(t)[0] for t in _flat(n.out, [])}
    for t in _flat(graph.inputs, []):
        ptrs.add(_storage(t)[0])
    glue = set()
    for n in graph.nodes:
        glue |= {_storage(t)[0] for t in getattr(n, "glue", [])}
    for n in graph.nodes:  # external tensors: read but made by no node
        for t in _flat([n.args, n.kwargs], []):
            if _storage(t)[0] not in produced | glue:
                ptrs.add(_storage(t)[0])
    return ptrs, produced | glue


def _bytes_of(tensors):
    seen = {}
    for t in tensors:
        ptr, nbytes = _storage(t)
        seen[ptr] = nbytes
    return sum(seen.values())


#: What :func:`_measure` finds: forward and backward ms, kept, output and
#: input-gradient bytes, (forward peak, backward rise) bytes or (0, 0)
#: without ``workspaces`` (see :func:`_profiled_rises`), the storages
#: (data pointers) autograd saves, the node's inputs included, and whether
#: it saves one of the node's own outputs.
Measured = collections.namedtuple(
    "Measured", "fwd bwd kept out_bytes in_grad rises saved saves_output")


def _measure(node, produced, static, reps, autocast=None, workspaces=False):
    """A :data:`Measured` of ``node`` on its recorded arguments."""
    def leaf(t):
        if _storage(t)[0] in produced and t.is_floating_point():
            return t.detach().requires_grad_(True)
        return t.detach()

    def call(args, kwargs):
        first = next(iter(_flat([args, kwargs], [])), None)
        device = first.device.type if first is not None else "cpu"
        with autocast_context(device, autocast):
            return node.module(*args, **kwargs)

    with torch.no_grad():
        call(node.args, node.kwargs)
        fwd = _median_ms(lambda: call(node.args, node.kwargs), reps)
    args, kwargs = _map(node.args, leaf), _map(node.kwargs, leaf)
    leaves = [t for t in _flat([args, kwargs], []) if t.requires_grad]
    # The node's inputs belong to their producers, except a tensor made
    # between nodes (a concatenation), which the reading node keeps.
    glue = {_storage(t)[0] for t in getattr(node, "glue", [])}
    skip = static | {_storage(t)[0] for t in leaves} - glue
    seen, saved = {}, set()

    def pack(t):
        ptr, nbytes = _storage(t)
        saved.add(ptr)
        if ptr not in skip:
            seen[ptr] = nbytes
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = call(args, kwargs)
    outs = [t for t in _flat(out, []) if t.requires_grad]
    for t in _flat(out, []):
        ptr, nbytes = _storage(t)
        seen[ptr] = nbytes
    grads = [torch.ones_like(t) for t in outs]
    start = time.perf_counter()
    if outs:
        torch.autograd.backward(outs, grads)
    bwd = (time.perf_counter() - start) * 1000.0
    out_bytes = _bytes_of(_flat(out, []))
    in_grad = _bytes_of(leaves)
    saves_output = any(_storage(t)[0] in saved for t in _flat(out, []))
    for p in node.module.parameters():
        p.grad = None
    del out, outs, grads
    if not workspaces:
        return Measured(fwd, bwd, sum(seen.values()), out_bytes, in_grad,
                        (0, 0), frozenset(saved), saves_output)
    rises = _profiled_rises(lambda: call(_map(node.args, leaf),
                                         _map(node.kwargs, leaf)),
                            node.module)
    for p in node.module.parameters():
        p.grad = None
    return Measured(fwd, bwd, sum(seen.values()), out_bytes, in_grad, rises,
                    frozenset(saved), saves_output)


def _profiled_rises(forward, module):
    """(forward peak, backward rise) of one recording ``forward()`` then
    its backward, by PyTorch's memory timeline less ``module``'s own
    tensors, told apart by storage (memtimeline.py; its parameter gradients
    must still be alive when this returns): the forward's highest
    bytes above its start, and the backward's highest above its start less
    the output gradients it is given (ones, made inside the backward's
    range so that the forward's peak does not hold them)."""
    given = [0]

    def step():
        with torch.enable_grad():
            outs = [t for t in _flat(forward(), []) if t.requires_grad]
        if outs:
            with torch.profiler.record_function(_BACKWARD_MARK):
                grads = [torch.ones_like(t) for t in outs]
                given[0] = _bytes_of(grads)
                torch.autograd.backward(outs, grads)
    times, totals, _, mark = profiled_timeline(step, torch.device("cpu"),
                                               module)
    if not totals or mark is None:
        return max(totals, default=0), 0
    before, during = _split_at(times, totals, mark)
    start = before[-1] if before else 0
    return (max(before, default=0),
            max(during, default=start) - start - given[0])


#: Suffix of the node that holds a block's internal saved tensors when
#: :func:`export_graph` splits them from its outputs (``split=True``).
INTERNALS = "#internals"


def export_graph(graph, name, reps=3, description="", autocast=None,
                 split=False, workspaces=True):
    """Measures a :class:`GraphModel`; returns a graph-form remat-model
    dict with explicit backward nodes (see the module doc). ``autocast``
    (e.g. ``torch.bfloat16``): each block's forward runs under
    ``torch.autocast``, its backward outside it, as a mixed-precision step
    runs. ``split``: a block that saves tensors besides its outputs becomes
    two nodes, ``<block>#internals`` (the forward's time, the saved tensors'
    bytes, the block's inputs) and ``<block>`` (time 0, the output bytes,
    reading the first), and its backward reads the first (and the second
    where the block saves its own output); so a plan can keep a
    block's output and recompute its internals, what
    torch.utils.checkpoint on the block does. ``workspaces`` (CPU, by
    PyTorch's memory profiler): a forward node's ``workspace`` is its
    recording forward's peak above the bytes the node is charged (the
    internals' node is charged the whole peak less its own bytes), a
    backward node's the backward's rise above its start less its input
    gradients, so that each op's peak in the graph accounting is the
    profiled one; without, 0."""
    static, produced = _static_ptrs(graph.model, graph)
    outs = {n.name: {_storage(t)[0] for t in _flat(n.out, [])}
            for n in graph.nodes}
    fwd_nodes, measured = [], {}
    for node in graph.nodes:
        m = _measure(node, produced, static, reps, autocast, workspaces)
        # The recorded outputs of the inputs are the measured call's
        # arguments (leaf() keeps their storages); the node's own outputs
        # are new in that call.
        reads = [node.name] * m.saves_output + [
            u for u in node.inputs if outs[u] & m.saved]
        measured[node.name] = (m.bwd, m.in_grad,
                               max(0, m.rises[1] - m.in_grad), reads)
        fwd_nodes += _forward_entries(node, m, split)
    y = output_tensor(graph.nodes[-1].out).detach().float() \
        .requires_grad_(True)
    start = time.perf_counter()
    graph.loss_fn(y).backward()
    loss_ms = (time.perf_counter() - start) * 1000.0
    first = next(t for t in _flat(graph.inputs, []))
    desc = description or "%s exported by remat_torch as a block graph " \
        "(%s%s)" % (type(graph.model).__name__, first.device.type,
                    ", autocast %s" % str(autocast).replace("torch.", "")
                    if autocast else "")
    return graph_document(graph, name, fwd_nodes, measured, loss_ms, desc)


def _forward_entries(node, m, split):
    """The forward node of ``node`` measured as ``m``, or (``split``, when
    it saves tensors besides its outputs) its internals and output nodes."""
    kind = type(node.module).__name__
    peak = m.rises[0]
    inner = m.kept - m.out_bytes if split else 0
    if inner <= 0:
        return [{"name": node.name, "kind": kind, "time": round(m.fwd, 6),
                 "bytes": m.kept, "workspace": max(0, peak - m.kept),
                 "inputs": list(node.inputs), "phase": "forward"}]
    return [{"name": node.name + INTERNALS, "kind": kind,
             "time": round(m.fwd, 6), "bytes": inner,
             "workspace": max(0, peak - inner),
             "inputs": list(node.inputs), "phase": "forward"},
            {"name": node.name, "kind": kind, "time": 0,
             "bytes": m.out_bytes, "inputs": [node.name + INTERNALS],
             "phase": "forward"}]


def graph_document(graph, name, fwd_nodes, backward, loss_time,
                   description):
    """The remat-model dict of a block graph: the forward nodes, a loss
    node, and one backward node per forward node; ``backward`` maps a
    node's name to (backward time, bytes of its input gradients, workspace
    bytes, the nodes of the node and its inputs whose outputs its backward
    reads, or None for all of them)."""
    last = graph.nodes[-1]
    y = output_tensor(last.out)
    nodes = fwd_nodes + [{"name": "loss", "kind": "loss",
                          "time": round(loss_time, 9),
                          "bytes": y.numel() * 4, "inputs": [last.name],
                          "phase": "loss"}]
    users = {n.name: [] for n in graph.nodes}
    for n in graph.nodes:
        for u in n.inputs:
            users[u].append(n.name)
    users[last.name].append("loss")
    split = {n["name"][:-len(INTERNALS)] for n in fwd_nodes
             if n["name"].endswith(INTERNALS)}
    for node in reversed(graph.nodes):
        bwd, in_grad, ws, reads = backward[node.name]
        if reads is None:
            reads = [node.name] + list(node.inputs)
        ins = ["loss" if u == "loss" else "g." + u for u in users[node.name]]
        own = [u for u in [node.name] if u in reads] + (
            [node.name + INTERNALS] if node.name in split else [])
        nodes.append({"name": "g." + node.name, "kind": "backward",
                      "time": round(bwd, 9), "bytes": in_grad,
                      "workspace": ws,
                      "inputs": ins + own + [u for u in node.inputs
                                             if u in reads],
                      "phase": "backward"})
    nbytes = {_storage(p)[0]: p.numel() * p.element_size()
              for p in graph.model.parameters()}
    first = next(t for t in _flat(graph.inputs, []))
    return {"format": "remat-model", "version": 1, "name": name,
            "description": description, "time_unit": "ms",
            "batch_size": int(first.shape[0]),
            "static_bytes": {"parameters": sum(nbytes.values()),
                             "gradients": sum(nbytes.values())},
            "graph": {"nodes": nodes}}
