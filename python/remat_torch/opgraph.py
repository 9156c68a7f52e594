"""The fallback for any model: an op-level graph from ``torch.export``.

:func:`export_ops` traces the model with ``torch.export.export`` (non
strict) into an ATen graph and writes one forward node per operator that
returns tensors, in graph order:

- ``bytes``: the storage bytes of the operator's outputs, from the fake
  tensors' metadata that ``torch.export`` records (``node.meta["val"]``);
  an output that aliases an input's storage (a view) has 0 bytes;
- ``time``: the operator's FLOPs (``torch.utils.flop_counter`` on those
  fake tensors) at ``tflops`` TFLOP/s; operators without a FLOP formula
  (element-wise, memory-bound ones) get 0;
- ``inputs``: the operators whose outputs it reads; parameters, buffers
  and the model's inputs are external (uncounted, spec 3b);
- one ``loss`` node reads the model's output; the backward is derived by
  remat's loader (docs/model-format.md: g.v takes 2x v's time and v's
  bytes).

The graph says which tensors exist and how large they are, exactly; it is
coarse about time (no memory-bound costs) and about the backward (the
derivation rule, not the operators' real saved tensors). Plans for it are
op-level and are not applied by :func:`remat_torch.apply_plan`; it serves
to plan and compare when no layer structure is found.
"""

import torch
from torch.utils.flop_counter import FlopCounterMode


def _tensors(val):
    if isinstance(val, torch.Tensor):
        return [val]
    if isinstance(val, (tuple, list)):
        return [t for v in val for t in _tensors(v)]
    return []


def _key(t):
    return t.untyped_storage()._cdata


def _flops(node):
    def val(a):
        return a.meta.get("val") if isinstance(a, torch.fx.Node) else a
    args = torch.fx.node.map_arg(node.args, val)
    kwargs = torch.fx.node.map_arg(node.kwargs, val)
    fake = next((t for t in _tensors([args, list(kwargs.values())])
                 if hasattr(t, "fake_mode")), None)
    if fake is None:
        return 0
    try:
        with fake.fake_mode, FlopCounterMode(display=False) as counter:
            node.target(*args, **kwargs)
    except Exception:  # an operator the fake mode cannot replay
        return 0
    return counter.get_total_flops()


def export_ops(model, inputs, name, tflops=300.0):
    """A graph-form remat-model dict with one node per ATen operator of
    ``model(**inputs)`` (see the module doc)."""
    ep = torch.export.export(model, args=(), kwargs=inputs, strict=False)
    kept, nodes = {}, []
    for node in ep.graph.nodes:
        if node.op != "call_function":
            continue
        outs = _tensors(node.meta.get("val"))
        if not outs:
            continue
        ins = [a for a in node.all_input_nodes if a.name in kept]
        in_keys = {_key(t) for a in node.all_input_nodes
                   for t in _tensors(a.meta.get("val"))}
        nbytes = sum({_key(t): t.untyped_storage().nbytes()
                      for t in outs if _key(t) not in in_keys}.values())
        kept[node.name] = node
        nodes.append({"name": node.name,
                      "kind": str(node.target).split(".")[1]
                      if "." in str(node.target) else str(node.target),
                      "time": round(_flops(node) / (tflops * 1e9), 12),
                      "bytes": nbytes,
                      "inputs": [a.name for a in ins], "phase": "forward"})
    out_node = next(n for n in ep.graph.nodes if n.op == "output")
    results = [a for a in out_node.all_input_nodes if a.name in kept]
    nodes.append({"name": "loss", "kind": "loss", "time": 0, "bytes": 4,
                  "inputs": [results[0].name], "phase": "loss"})
    nparam = sum(p.numel() * p.element_size() for p in model.parameters())
    return {"format": "remat-model", "version": 1, "name": name,
            "description": "%s as an op-level graph (torch.export, %d "
            "operators): bytes from tensor metadata, times from FLOPs at %g "
            "TFLOP/s, backward derived" % (type(model).__name__,
                                           len(nodes) - 1, tflops),
            "time_unit": "ms",
            "static_bytes": {"parameters": nparam, "gradients": nparam},
            "graph": {"nodes": nodes}}
