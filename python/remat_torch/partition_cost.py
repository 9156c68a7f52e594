"""The cost model of lowered groups: FLOPs and bytes moved, calibrated.

time(group) = flops / F + bytes_moved / BW + launch, in microseconds, where

- flops is what ``torch.utils.flop_counter`` counts for the group's members
  (matmuls, convolutions, attention; pointwise ops count 0);
- bytes_moved is the group's boundary traffic: every distinct tensor it
  reads from outside (graph inputs included) plus every tensor it writes
  (its outputs; a fused interior is never written);
- F (FLOP/s), BW (bytes/s) and launch (s per kernel) are calibrated on this
  machine by :func:`calibrate`: a 512^3 float matmul for F, a 4M-element
  add for BW (3 x 16 MiB moved), a 1-element add for launch. Each is the
  fastest of several timed runs of the eager op (other processes on a
  shared machine only ever slow a run down).

Memory the tensors do not show: ``convolution_backward`` (an extern kernel
Inductor calls as is) allocates scratch while it computes (on CPU, the
oneDNN path reorders the weight, its gradient and, for small weights, the
activations: from 2 to several hundred times the weight's bytes). It is
measured, not modelled: :func:`measured_peak` runs each distinct
convolution backward of the graph once on real tensors of the fake
tensors' shapes and strides, under the profiler's allocation records, and
the group's workspace is that allocation peak less the group's bytes (the
outputs the model already counts). CPU graphs only: the profiler's CPU
allocation records are the meter, so a GPU graph gets no workspace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

_CALIBRATED = None


def _fastest_seconds(fn, repeats: int = 7) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return min(samples)  # contention on shared cores only slows a run


@dataclass
class CostModel:
    """FLOP/s, bytes/s and per-kernel launch seconds of this machine."""

    flops_per_s: float
    bytes_per_s: float
    launch_s: float
    #: Give convolution backward groups their measured workspace.
    measure_workspace: bool = True

    def describe(self) -> str:
        return (f"{self.flops_per_s / 1e9:.1f} GFLOP/s, "
                f"{self.bytes_per_s / 1e9:.2f} GB/s, "
                f"{self.launch_s * 1e6:.1f} us per kernel")

    def node_flops(self, node) -> float:
        """FLOPs of one FX node from its fake-tensor metadata (0 if unknown)."""
        target = node.target
        if not isinstance(target, torch._ops.OpOverload):
            return 0.0
        from torch.utils.flop_counter import flop_registry
        if target._overloadpacket not in flop_registry:
            return 0.0
        fake_mode = None
        for inp in node.all_input_nodes:
            v = inp.meta.get("val")
            if isinstance(v, torch.Tensor) and hasattr(v, "fake_mode"):
                fake_mode = v.fake_mode
                break
        if fake_mode is None:
            return 0.0

        def meta(a):
            if isinstance(a, torch.fx.Node):
                return a.meta.get("val")
            return a

        args = torch.fx.node.map_aggregate(node.args, meta)
        kwargs = torch.fx.node.map_aggregate(node.kwargs, meta)
        try:
            with fake_mode, FlopCounterMode(display=False) as counter:
                target(*args, **kwargs)
            return float(counter.get_total_flops())
        except Exception:  # noqa: BLE001 - an op the counter cannot replay
            return 0.0

    def price(self, group, storage_of) -> None:
        """Sets ``group.flops``, ``group.time`` (us) and ``group.kind``."""
        from .partition_lower import tensor_bytes
        mset = set(group.members)
        flops = 0.0
        read = set()
        for m in group.members:
            flops += self.node_flops(m)
            for inp in m.all_input_nodes:
                s = storage_of.get(inp)
                if s is not None and s not in mset:
                    read.add(s)
        moved = sum(tensor_bytes(s) for s in read)
        moved += sum(tensor_bytes(o) for o in group.outputs)
        group.flops = flops
        if self.measure_workspace:
            peak = sum(measured_peak(m) for m in group.members
                       if _packet_name(m) == "convolution_backward")
            group.workspace += max(0, peak - group.bytes)
        kernels = 1 if any(m.op == "call_function" for m in group.members) else 0
        seconds = (flops / self.flops_per_s + moved / self.bytes_per_s
                   + kernels * self.launch_s)
        group.time = seconds * 1e6
        group.kind = "matmul" if flops > 0 else "fused"


def calibrate(force: bool = False) -> CostModel:
    """Measures F, BW and launch once per process (about half a second)."""
    global _CALIBRATED
    if _CALIBRATED is not None and not force:
        return _CALIBRATED
    with torch.no_grad():
        a = torch.randn(512, 512)
        b = torch.randn(512, 512)
        t_mm = _fastest_seconds(lambda: torch.mm(a, b))
        x = torch.randn(4 * 1024 * 1024)
        y = torch.randn(4 * 1024 * 1024)
        t_add = _fastest_seconds(lambda: torch.add(x, y))
        s = torch.randn(1)
        t_small = _fastest_seconds(lambda: torch.add(s, s), repeats=51)
    flops = 2.0 * 512 ** 3 / max(t_mm, 1e-9)
    bandwidth = 3.0 * x.numel() * 4 / max(t_add, 1e-9)
    _CALIBRATED = CostModel(flops_per_s=flops, bytes_per_s=bandwidth,
                            launch_s=t_small)
    return _CALIBRATED


def allocation_peak(fn) -> tuple[int, int]:
    """(peak, final) bytes the CPU allocator held during fn() above its
    start, from the profiler's allocation records."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        fn()
    records = sorted((e.start_ns(), e.nbytes())
                     for e in p.profiler.kineto_results.events()
                     if e.name() == "[memory]")
    level = peak = 0
    for _, nbytes in records:
        level += nbytes
        peak = max(peak, level)
    return peak, level


_PEAKS = {}


def _packet_name(node) -> str:
    target = node.target
    if isinstance(target, torch._ops.OpOverload):
        return target._overloadpacket.__name__
    return ""


def measured_peak(node) -> int:
    """Allocation peak (outputs included) of the node's op run once on real
    tensors shaped and strided as its fake tensors (0 when an input is not a
    CPU tensor the replay can build). Cached per signature."""
    def real(a):
        if isinstance(a, torch.fx.Node):
            v = a.meta.get("val")
            if not isinstance(v, torch.Tensor) or v.device.type != "cpu":
                raise TypeError("not a CPU tensor")  # the meter sees CPU only
            return torch.empty_strided(tuple(v.shape), tuple(v.stride()),
                                       dtype=v.dtype).normal_()
        return a

    def key(a):
        if isinstance(a, torch.fx.Node):
            v = a.meta.get("val")
            return (tuple(v.shape), tuple(v.stride()), str(v.dtype)) \
                if isinstance(v, torch.Tensor) else None
        return repr(a)
    sig = (str(node.target), tuple(key(a) for a in node.args))
    if sig in _PEAKS:
        return _PEAKS[sig]
    from torch._subclasses.fake_tensor import unset_fake_temporarily
    out = []
    # The partitioner runs under the compile's fake mode: real tensors here.
    with unset_fake_temporarily(), torch.no_grad():
        try:
            args = [real(a) for a in node.args]
        except TypeError:
            _PEAKS[sig] = 0
            return 0
        out.append(node.target(*args))  # warm: first-call allocations
        out.clear()
        _PEAKS[sig], _ = allocation_peak(
            lambda: out.append(node.target(*args)))
    return _PEAKS[sig]
