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
- a linear, layer norm, a linear: the normalisation reads the first
  linear's output and the statistics (1/32 of its size each), so it is
  inlined and the backward reads the statistics' group; with every input
  counted large (``LARGE_INPUT_SHARE`` 0, the negative control) it stays
  a group the backward reads.
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


class _share:
    """Sets partition_lower.LARGE_INPUT_SHARE for a block."""

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        from remat_torch import partition_lower
        self.old = partition_lower.LARGE_INPUT_SHARE
        partition_lower.LARGE_INPUT_SHARE = self.value

    def __exit__(self, *exc):
        from remat_torch import partition_lower
        partition_lower.LARGE_INPUT_SHARE = self.old


def _forward_nodes(lowered, packet):
    """Every forward FX node of an aten op packet, in graph order."""
    nodes = [n for n in lowered.group_of
             if getattr(getattr(n.target, "_overloadpacket", None),
                        "__name__", None) == packet
             and lowered.groups.get(lowered.group_of[n]) is not None
             and lowered.groups[lowered.group_of[n]].phase == "forward"]
    return sorted(nodes, key=lambda n: list(n.graph.nodes).index(n))


def _last(lowered, packet):
    return _forward_nodes(lowered, packet)[-1]


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
            self.norm = torch.nn.LayerNorm(32)
            self.lin = torch.nn.Linear(32, 8)

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
        with _share(float("inf")):
            low = _lowered(_Residual(), torch.randn(8, 16))
        add = low.group_of[_forward_node(low, "add")]
        self.assertFalse(_backward_reads(low, add))
        # Inlined, not lost: the backward reads both addends instead.
        addends = {low.group_of[n] for n in _forward_nodes(low, "addmm")
                   if low.group_of[n] in low.groups}
        readers = {n for g in low.groups.values() if g.phase == "backward"
                   for n in g.inputs}
        self.assertEqual(len(addends), 3)  # a, b and c
        self.assertLessEqual(addends - {low.group_of[_last(low, "addmm")]},
                             readers)

    def test_layer_norm_output_is_inlined(self):
        # The normalisation (x - mean) * rsqrt reads the first linear's
        # output (8 x 32 floats, 1,024 B, as large as itself) and the
        # statistics (8 floats, 32 B each, under 1/8 of it): one large
        # input, so it is inlined and the backward reads x and the
        # statistics' group.
        low = _lowered(_Norm(), torch.randn(8, 16))
        norm = low.group_of[_forward_node(low, "sub")]
        stats = low.group_of[_forward_node(low, "var_mean")]
        readers = {n for g in low.groups.values() if g.phase == "backward"
                   for n in g.inputs}
        self.assertIn(stats, readers)
        self.assertNotIn(norm, readers)

    def test_negative_control_layer_norm_kept_when_every_input_large(self):
        with _share(0.0):
            low = _lowered(_Norm(), torch.randn(8, 16))
        norm = low.group_of[_forward_node(low, "sub")]
        self.assertTrue(_backward_reads(low, norm))

if __name__ == "__main__":
    unittest.main()
