"""remat_torch: export PyTorch block stacks as remat models and run remat
schedules on them.

A *chain model* here is an ordered list of blocks (``nn.Sequential``, an
``nn.ModuleList`` or a list of ``(name, module)`` pairs) where block i maps
activation x_i to x_{i+1}, plus a loss function of the last activation. This
is the chain form of remat's model file (spec section 2).

- :func:`export_model` measures each block (forward and backward time, output
  bytes, bytes saved for the backward, CUDA workspace) and returns a
  ``remat-model`` document.
- :func:`run_schedule` executes a chain-dialect op list (spec section 3a)
  literally, with multi-level recomputation and the RNG state of each block
  replayed, so gradients equal a plain run's.
- :func:`checkpoint_segments` wraps plain segment plans with
  ``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)``.
- :class:`ForwardCounter` counts forward calls per block.

Unmodified models (transformers, diffusers, timm): :func:`discover_chain` /
:func:`export_chain` and :func:`discover_graph` / :func:`export_graph`
export them, :func:`apply_plan` applies a plan to them (:mod:`.zoo` builds
small ones from their configs).

``python3 -m remat_torch.gpucheck`` compares remat's predicted peaks with
``torch.cuda.max_memory_allocated`` on a GPU (:mod:`remat_torch.gpucheck`).
"""

from .apply import (
    ForwardCounter,
    ScheduleError,
    checkpoint_segments,
    load_plan,
    plain_run,
    run_schedule,
    schedule_forward_counts,
)
from .applyplan import AppliedPlan, apply_plan
from .blocks import as_blocks
from .chainexport import export_chain
from .export import export_model, write_model
from .graphexport import discover_graph, export_graph
from .models import DiscoveryError, discover_chain


def remat_backend(budget, **options):
    """torch.compile backend with remat as Inductor's partitioner
    (:mod:`remat_torch.backend`, docs/compiler-pass.md)."""
    from .backend import remat_backend as _backend
    return _backend(budget, **options)


__all__ = [
    "AppliedPlan",
    "DiscoveryError",
    "ForwardCounter",
    "apply_plan",
    "discover_chain",
    "discover_graph",
    "export_chain",
    "export_graph",
    "ScheduleError",
    "as_blocks",
    "checkpoint_segments",
    "export_model",
    "load_plan",
    "plain_run",
    "remat_backend",
    "run_schedule",
    "schedule_forward_counts",
    "write_model",
]

__version__ = "0.1.0"
