"""Exporting an unmodified model as a chain-form remat model file.

:func:`export_chain` cuts the model into stages with
:func:`remat_torch.models.discover_chain` (embeddings, each layer of the
stack, the tail modules; names are module paths) and measures each stage
with :func:`remat_torch.export_model` on the activations of the sample
batch. The tensors the prefix hands to every layer (attention masks, rotary
tables) are shared and, like parameters, not counted in any stage's saved
bytes.

``autocast`` (a dtype such as ``torch.bfloat16``) measures every stage and
the loss under ``torch.autocast`` on the batch's device, as a mixed
precision step runs: the forward under autocast, the backward outside it.
What autocast saves (low-precision copies of weights and activations)
differs from fp32, so a plan for an AMP run must come from an AMP export.
"""

import contextlib

import torch
from torch import nn

from .export import export_model
from .models import discover_chain


class _Autocast(nn.Module):
    def __init__(self, stage, dtype):
        super().__init__()
        self.stage, self.dtype, self.kind = stage, dtype, stage.kind

    def forward(self, x):
        with torch.autocast(x.device.type, dtype=self.dtype):
            return self.stage(x)


class _NoInputGrad(nn.Module):
    """The first stage as a step runs it when the model's input needs no
    gradient: the export's passes hand it a leaf that requires one, and
    without the detach its backward would compute the input's gradient (a
    transposed convolution for a ViT's patch embedding or a ResNet's stem),
    which no step computes."""

    def __init__(self, stage):
        super().__init__()
        self.stage, self.kind = stage, stage.kind

    def forward(self, x):
        return self.stage(x.detach())


def autocast_context(device, dtype):
    """``torch.autocast`` for ``dtype`` on ``device``, or a null context."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def _flat_tensors(obj, out):
    if torch.is_tensor(obj):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flat_tensors(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flat_tensors(o, out)
    return out


def export_chain(chain, name, reps=3, autocast=None, description="",
                 cpu_workspace=True, recording=True, recompute="checkpoint"):
    """Measures a :class:`~remat_torch.models.ChainModel` and returns a
    remat-model dict (chain form). Layer names are the stages' module
    paths; ``batch_size`` is the chain input's first dimension.
    ``cpu_workspace`` (default on): measure CPU workspaces with PyTorch's
    memory profiler (see :func:`remat_torch.export.profiled_workspaces`;
    off: 0, which under-predicts peaks during a layer's backward).
    ``recompute`` (default ``"checkpoint"``): ``fwd_time`` is what one more
    forward of the stage costs under torch.utils.checkpoint, ``bwd_time``
    the rest of the stage's share of a plain step (``"executor"``: under
    :func:`remat_torch.run_schedule`; None: the forward alone, recorded
    when ``recording``); see :mod:`remat_torch.export`.
    """
    blocks = chain.blocks()
    if blocks and not chain.x0.requires_grad:
        blocks[0] = (blocks[0][0], _NoInputGrad(blocks[0][1]))
    loss_fn = chain.loss_fn
    if autocast is not None:
        blocks = [(n, _Autocast(s, autocast)) for n, s in blocks]
        device = chain.x0.device

        def loss_fn(y):
            with autocast_context(device, autocast):
                return chain.loss_fn(y)

    def shared():
        others = [v for k, v in chain.inputs.items() if k != chain.input_key]
        return _flat_tensors([chain.ctx.args, chain.ctx.kwargs, others], [])

    desc = description or "%s exported by remat_torch (%s%s)" % (
        type(chain.model).__name__, chain.x0.device.type,
        ", autocast %s" % str(autocast).replace("torch.", "")
        if autocast is not None else "")
    doc = export_model(blocks, chain.x0, name, loss_fn=loss_fn, reps=reps,
                       description=desc, shared_tensors=shared,
                       cpu_workspace=cpu_workspace, recording=recording,
                       recompute=recompute)
    for p in chain.model.parameters():
        p.grad = None
    doc["batch_size"] = int(chain.x0.shape[0])
    # The model's own parameter count (tied weights once), not the stages'.
    nbytes = {p.data_ptr(): p.numel() * p.element_size()
              for p in chain.model.parameters()}
    doc["static_bytes"] = {"parameters": sum(nbytes.values()),
                           "gradients": sum(nbytes.values())}
    return _reorder(doc)


def _reorder(doc):
    keys = ["format", "version", "name", "description", "time_unit",
            "batch_size", "static_bytes", "input_bytes", "loss", "layers"]
    return {k: doc[k] for k in keys if k in doc}


def export(model, inputs, loss_fn, name, input_key=None, reps=3,
           autocast=None):
    """Discovers the chain of ``model`` and exports it in one call."""
    chain = discover_chain(model, inputs, loss_fn, input_key=input_key)
    return export_chain(chain, name, reps=reps, autocast=autocast)
