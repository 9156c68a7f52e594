"""remat's ``torch.compile`` backend: Inductor with
:class:`~remat_torch.partitioner.RematPartitioner` as its joint-graph
partitioner, compiled under Inductor's fusion memory guard, without
Inductor's layout optimization and without its buffer reuse.

The guard: remat's plan fixes what is live when, and a fusion that moves a
kernel's write forward (Inductor's horizontal fusion of kernels that share
a read) holds that buffer longer, which the plan cannot see. Inductor can
refuse fusions that raise the peak of its own estimated memory timeline of
a graph; the backend asks it to refuse every such fusion
(docs/compiler-pass.md, "Inductor's fusion and the measured peak").

The layout: on a graph with convolutions Inductor's layout optimization
converts the weights to channels-last in the forward and saves the
converted copies for the backward, values that no partition chooses and no
plan sees (docs/compiler-pass.md, "Inductor's weight copies").

The reuse: Inductor's generated code keeps a dead buffer instead of
freeing it when a later buffer of the same size can take its storage, so
the buffer stays allocated from its last reader to that later kernel. It
allows this when its own estimate of the graph's peak does not rise, an
estimate of one graph that does not see what lies outside it (the
gradients, the forward's saved values); the plan frees the value at its
last reader (docs/compiler-pass.md, "Inductor's buffer reuse").
"""

from __future__ import annotations

import math
import numbers

from .partition_cost import calibrate
from .partitioner import RematPartitioner

#: How much a fusion may raise the peak of Inductor's estimated memory
#: timeline of a graph, as a fraction of that peak
#: (``torch._inductor.config.fusion_memory_timeline_peak_memory_pct_threshold``).
#: On diffusers' U-Net unguarded fusion raised the measured step peak of
#: remat's plan at 59.2% from 7,145,240 to 10,869,912 B (PyTorch's own 20%
#: plan: 6,984,864 to 9,843,360 B).
FUSION_PEAK_GUARD = 0.0

_GUARD_KEY = "fusion_memory_timeline_peak_memory_pct_threshold"

#: Inductor's layout optimization (``torch._inductor.config.
#: layout_optimization``, on by default) in remat's compiles. Off: on
#: timm's ResNet-18 (CPU) the compiled forward saves 43,979,520 B of
#: channels-last weight copies with it on and none with it off; remat's
#: plan at 60% measured 73,575,336 B on and 50,067,880 B off
#: (test_partitioner's LayoutTest, which prints both). In the fifth side
#: by side (docs/compiler-pass-2026-12-07-layout/) PyTorch's dp at 20%
#: measured 79,034,672 B and 130.0 ms under Inductor's defaults and
#: 50,080,048 B and 85.1 ms under remat's settings (this and the guard).
LAYOUT_OPTIMIZATION = False

_LAYOUT_KEY = "layout_optimization"

#: Inductor's buffer reuse (``torch._inductor.config.allow_buffer_reuse``,
#: on by default) in remat's compiles. Off: each buffer is freed after its
#: last reader, as the plan assumes. On timm's ViT (4 blocks, CPU) remat's
#: store-all plan measured 10,755,776 B with it on and 9,614,576 B off
#: (test_partitioner's BufferReuseTest prints both): a dead 798,720 B MLP
#: gradient kept through the attention backward for the next block's.
BUFFER_REUSE = False

_REUSE_KEY = "allow_buffer_reuse"


def has_fusion_guard() -> bool:
    """Whether this torch's Inductor has the fusion memory guard."""
    from torch._inductor import config as inductor_config
    return hasattr(inductor_config, _GUARD_KEY)


def check_guard(fusion_peak_guard) -> None:
    """Raises ValueError naming ``fusion_peak_guard`` unless it is None or a
    finite real number at least 0 (a bool is not a number here)."""
    if fusion_peak_guard is None:
        return
    ok = (isinstance(fusion_peak_guard, numbers.Real)
          and not isinstance(fusion_peak_guard, bool)
          and math.isfinite(fusion_peak_guard) and fusion_peak_guard >= 0)
    if not ok:
        raise ValueError(f"fusion_peak_guard must be None or a finite "
                         f"number at least 0 (got {fusion_peak_guard!r})")


def check_switch(name: str, value) -> None:
    """Raises ValueError naming the setting ``name`` and ``value`` unless
    ``value`` is None or a bool."""
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{name} must be None, True or False "
                         f"(got {value!r})")


def inductor_patches(fusion_peak_guard, layout_optimization=None,
                     buffer_reuse=None) -> dict:
    """Inductor settings for a compile under ``fusion_peak_guard`` (checked
    by :func:`check_guard`; nothing for None or a torch without the
    setting, :func:`has_fusion_guard`), with ``layout_optimization`` and
    with ``buffer_reuse`` (each checked by :func:`check_switch`; nothing
    for None, Inductor's default)."""
    check_guard(fusion_peak_guard)
    check_switch("layout_optimization", layout_optimization)
    check_switch("buffer_reuse", buffer_reuse)
    out = {}
    if fusion_peak_guard is not None and has_fusion_guard():
        out[_GUARD_KEY] = float(fusion_peak_guard)
    if layout_optimization is not None:
        out[_LAYOUT_KEY] = layout_optimization
    if buffer_reuse is not None:
        out[_REUSE_KEY] = buffer_reuse
    return out


def inductor_backend(partitioner, patches: dict):
    """A backend that compiles with Inductor, ``partitioner`` as its
    ``custom_partitioner_fn`` and the settings ``patches``; the settings
    are in its ``inductor_patches`` attribute."""
    def backend(gm, example_inputs):
        from torch._inductor.compile_fx import compile_fx

        # compile_fx's config_patches, not a `with config.patch`: AOTAutograd
        # compiles the backward lazily, at the first backward call, outside
        # any `with` here (a patch there left the guard off the backward).
        return compile_fx(gm, example_inputs, config_patches={
            "custom_partitioner_fn": partitioner, "fx_graph_cache": False,
            **patches})
    backend.inductor_patches = dict(patches)
    return backend


def remat_backend(budget, on_infeasible: str = "raise",
                  fusion_peak_guard: float | None = FUSION_PEAK_GUARD,
                  layout_optimization: bool | None = LAYOUT_OPTIMIZATION,
                  buffer_reuse: bool | None = BUFFER_REUSE,
                  **options):
    """A ``torch.compile`` backend: Inductor with remat as its partitioner.

    ``budget`` in bytes (int) or as a fraction of the store-everything peak
    (float); with ``budget_reference="pytorch"`` a fraction is PyTorch's
    ``activation_memory_budget`` instead, and remat plans at the bytes
    PyTorch's choice there reaches in remat's model
    (:mod:`remat_torch.reference`). ``fusion_peak_guard``: how much Inductor's fusions may raise
    its estimated peak of a graph, as a fraction of it (see
    :data:`FUSION_PEAK_GUARD`; None leaves Inductor's default, which does
    not check; ValueError for anything but None or a finite number >= 0).
    ``layout_optimization``: Inductor's layout optimization on or off (see
    :data:`LAYOUT_OPTIMIZATION`; None leaves Inductor's default, on;
    ValueError for anything but None or a bool). ``buffer_reuse``:
    Inductor's buffer reuse on or off (see :data:`BUFFER_REUSE`; None, True
    and False as for the layout).
    The backend's ``partitioner`` attribute holds the
    :class:`RematPartitioner`, whose ``reports`` and ``graphs`` describe
    each compiled graph; ``inductor_patches`` the settings it compiles
    under.
    """
    patches = inductor_patches(fusion_peak_guard, layout_optimization,
                               buffer_reuse)
    # Calibrate now, not inside the compile (its worker threads load the CPU).
    options.setdefault("cost", calibrate())
    partitioner = RematPartitioner(budget, on_infeasible=on_infeasible,
                                   **options)
    backend = inductor_backend(partitioner, patches)
    backend.partitioner = partitioner
    return backend
