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

This is an estimate, not a measurement of the compiled kernels; the
side-by-side (``remat_torch.compile_frontier``) measures the real steps.
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
