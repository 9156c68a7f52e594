"""Which cheap forward groups the lowering inlines into the backward
(remat_torch.partition_lower, issue 15).

Three small models, each traced by torch.compile to its real joint graph
(AOTAutograd, CPU), lowered as the partitioner lowers it:

- GELU between two linears: the GELU group reads one activation (the first
  linear's output), so it is inlined: no backward group reads it, the
  backward reads the linear's group instead;
- a residual add of two linears' outputs, read by a third linear (whose
  weight gradient needs the sum): the add reads two activations as large as
  itself, so it stays a group the backward reads, and the planner may save
  it; with every input counted small (``LARGE_INPUT_SHARE`` above any
  size, the negative control) it is inlined like GELU;
- a linear, layer norm, a linear: the normalised output reads the first
  linear's output and the statistics (mean and variance, 1/32 of its size
  each), so it is inlined and the backward reads the statistics' group.
"""

import operator
import unittest

import remat_helpers  # noqa: F401 - sets up paths like the other tests

try:
    import torch
    HAVE = True
except ImportError:  # pragma: no cover
    HAVE = False


def _lowered(model, x):
    """The lowering of the model's joint graph (fixed cost constants: the
    test reads groups, not times)."""
    from torch._functorch.partitioners import (
        min_cut_rematerialization_partition)
    from torch._inductor import config as inductor_config
    from torch._inductor.custom_graph_pass import CustomPartitionerFn
    from remat_torch.partition_cost import CostModel
    from remat_torch.partition_lower import (lower_joint_graph,
                                             merge_common_subexpressions)
    out = {}

    class Capture(CustomPartitionerFn):
        def __call__(self, gm, joint_inputs, **kwargs):
            n = kwargs["num_fwd_outputs"]
            merge_common_subexpressions(gm, n)
            cost = CostModel(1e10, 1e10, 1e-6, measure_workspace=False)
            out["lowered"] = lower_joint_graph(gm, n, cost)
            return min_cut_rematerialization_partition(gm, joint_inputs,
                                                       **kwargs)

        def uuid(self):
            return None
    torch._dynamo.reset()
    with inductor_config.patch(custom_partitioner_fn=Capture(),
                               fx_graph_cache=False):
        torch.compile(model, fullgraph=True)(x).backward()
    torch._dynamo.reset()
    return out["lowered"]


def _forward_node(lowered, packet):
    """The first forward FX node of an aten op packet (by name)."""
    for node, name in lowered.group_of.items():
        g = lowered.groups.get(name)
        target = getattr(node.target, "_overloadpacket", None)
        if g is not None and g.phase == "forward" and target is not None \
                and target.__name__ == packet:
            return node
    for node in lowered.group_of:  # a group the lowering dropped
        target = getattr(node.target, "_overloadpacket", None)
        if target is not None and target.__name__ == packet \
                and node.target is not operator.getitem:
            return node
    raise AssertionError(f"no forward {packet}")


def _backward_reads(lowered, name):
    return [g.name for g in lowered.groups.values()
            if g.phase == "backward" and name in g.inputs]


if HAVE:
    class _Gelu(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(16, 64), torch.nn.Linear(64, 16)

        def forward(self, x):
            return self.b(torch.nn.functional.gelu(self.a(x))).pow(2).sum()

    class _Residual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(16, 32), torch.nn.Linear(16, 32)
            self.c = torch.nn.Linear(32, 8)

        def forward(self, x):
            return self.c(self.a(x) + self.b(x)).pow(2).sum()

    class _Norm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = torch.nn.Linear(16, 32)
            self.norm, self.lin = torch.nn.LayerNorm(32), torch.nn.Linear(32, 8)

        def forward(self, x):
            return self.lin(self.norm(self.pre(x))).pow(2).sum()


@unittest.skipUnless(HAVE, "torch not installed")
class InliningTest(unittest.TestCase):
    def test_gelu_is_inlined(self):
        low = _lowered(_Gelu(), torch.randn(8, 16))
        gelu = low.group_of[_forward_node(low, "erf")]
        addmm = low.group_of[_forward_node(low, "addmm")]
        self.assertNotIn(gelu, [n for g in low.groups.values()
                                if g.phase == "backward" for n in g.inputs])
        self.assertTrue(_backward_reads(low, addmm))

    def test_residual_add_stays_a_group(self):
        low = _lowered(_Residual(), torch.randn(8, 16))
        add = low.group_of[_forward_node(low, "add")]
        self.assertIn(add, low.groups)
        self.assertFalse(low.groups[add].inlined)
        self.assertTrue(_backward_reads(low, add))

    def test_negative_control_residual_add_inlined_when_all_inputs_small(self):
        from remat_torch import partition_lower
        old = partition_lower.LARGE_INPUT_SHARE
        partition_lower.LARGE_INPUT_SHARE = float("inf")
        try:
            low = _lowered(_Residual(), torch.randn(8, 16))
        finally:
            partition_lower.LARGE_INPUT_SHARE = old
        add = low.group_of[_forward_node(low, "add")]
        self.assertFalse(_backward_reads(low, add))

    def test_layer_norm_output_is_inlined(self):
        low = _lowered(_Norm(), torch.randn(8, 16))
        # native_layer_norm decomposes to var_mean, rsqrt, sub, mul, add;
        # the normalised output (the affine add) is what the linear reads.
        stats = low.group_of[_forward_node(low, "var_mean")]
        norm_out = low.group_of[_forward_node(low, "rsqrt")]
        readers = {n for g in low.groups.values() if g.phase == "backward"
                   for n in g.inputs}
        self.assertIn(stats, readers)
        self.assertNotIn(norm_out, readers)


if __name__ == "__main__":
    unittest.main()
