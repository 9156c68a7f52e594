"""Which cheap forward groups the lowering inlines into the backward, and
which products join an add's group as Inductor's ``addmm``
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

AddmmTest: a model whose logits go through its embedding's weight (GPT-2's
tying) has one ``mm`` read only by an ``add`` in its backward, and the
lowering's count of such pairs must equal the ``addmm`` count in
Inductor's own post-grad backward (one; none without the tying).
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
    _compile_once(model, x, custom_partitioner_fn=Capture())
    return out["lowered"]


def _compile_once(model, x, **patches):
    """One compiled step (forward and backward) of ``model`` on ``x`` under
    the Inductor settings ``patches``, no cache, between dynamo resets."""
    from torch._inductor import config as inductor_config
    torch._dynamo.reset()
    with inductor_config.patch(fx_graph_cache=False, **patches):
        torch.compile(model, fullgraph=True)(x).backward()
    torch._dynamo.reset()


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


if HAVE:
    class _Tied(torch.nn.Module):
        """Logits through the embedding's own weight (GPT-2's tying): the
        weight's gradient adds the projection's ``mm`` to the embedding's
        gradient. ``tied=False`` (the negative control) projects with a
        weight of its own."""

        def __init__(self, tied=True):
            super().__init__()
            self.emb = torch.nn.Embedding(64, 16)
            self.lin = torch.nn.Linear(16, 16)
            self.out = (self.emb.weight if tied else
                        torch.nn.Parameter(torch.randn(64, 16)))

        def forward(self, ids):
            h = self.lin(self.emb(ids))
            return (h @ self.out.t()).logsumexp(-1).sum()


def _inductor_backward_addmms(model, x):
    """How many ``addmm`` Inductor's post-grad passes leave in the
    compiled backward (the graph with tangents), read by a custom post
    pass: the meter of AddmmTest, which the lowering does not control."""
    from torch._inductor.custom_graph_pass import CustomGraphPass
    counts = []

    class Count(CustomGraphPass):
        def __call__(self, graph):
            if any("tangents" in str(n.target) for n in graph.nodes
                   if n.op == "placeholder"):
                counts.append(sum(
                    1 for n in graph.nodes
                    if n.target is torch.ops.aten.addmm.default))

        def uuid(self):
            return None
    _compile_once(model, x, post_grad_custom_post_pass=Count())
    return counts


@unittest.skipUnless(HAVE, "torch not installed")
class AddmmTest(unittest.TestCase):
    """A product read only by an add joins the add's group, as Inductor
    rewrites the pair to ``addmm`` at the add (partition_lower.
    addmm_reader); Inductor's own post-grad backward is the count to
    match."""

    def _merged(self, low):
        return [g for g in low.groups.values() if g.phase == "backward"
                and any(m.target is torch.ops.aten.mm.default
                        for m in g.members)
                and any(m.target is torch.ops.aten.add.Tensor
                        for m in g.members)]

    def test_tied_weight_gradient_is_one_group_at_the_add(self):
        ids = torch.randint(0, 64, (4, 8))
        low = _lowered(_Tied(), ids)
        merged = self._merged(low)
        self.assertEqual([len(merged)], _inductor_backward_addmms(
            _Tied(), ids))
        self.assertEqual(len(merged), 1)
        # The group reads the mm's operands (the logits gradient among
        # them), so the model keeps them until the add.
        (mm,) = [m for m in merged[0].members
                 if m.target is torch.ops.aten.mm.default]
        operands = {low.group_of[a] for a in mm.all_input_nodes
                    if a in low.group_of}
        self.assertTrue(operands)
        self.assertLessEqual(operands, set(merged[0].inputs))
        self.assertIn("backward",
                      {low.groups[g].phase for g in operands})

    def test_negative_control_untied_has_no_pair(self):
        ids = torch.randint(0, 64, (4, 8))
        low = _lowered(_Tied(tied=False), ids)
        self.assertEqual([len(self._merged(low))],
                         _inductor_backward_addmms(_Tied(tied=False), ids))
        self.assertEqual(self._merged(low), [])


@unittest.skipUnless(HAVE, "torch not installed")
class AddmmRuleCheckScriptTest(unittest.TestCase):
    """scripts/addmm-rule-check.py, behind the docs' claim that the rule
    changes only GPT-2's lowering among the side by side's models: bad
    arguments exit 2; on GPT-2 the groups it merges away are as many as
    the ``addmm`` of Inductor's own post-grad GPT-2 backward."""

    def _run(self, *args):
        import os
        import subprocess
        import sys
        env = dict(os.environ, OMP_NUM_THREADS="1",
                   PYTHONPATH=os.path.join(remat_helpers.SOURCE_DIR,
                                           "python"))
        script = os.path.join(remat_helpers.SOURCE_DIR, "scripts",
                              "addmm-rule-check.py")
        return subprocess.run([sys.executable, script, *args], env=env,
                              capture_output=True, text=True, timeout=600)

    def test_bad_model_exits_2(self):
        res = self._run("gpt2", "bert")
        self.assertEqual(res.returncode, 2)
        self.assertIn("bert", res.stderr)
        self.assertEqual(res.stdout, "")

    def test_gpt2(self):
        import json
        from remat_torch import compile_frontier as cf
        res = self._run("gpt2")
        self.assertEqual(res.returncode, 0, res.stderr[-2000:])
        (row,) = [json.loads(x) for x in res.stdout.splitlines()]
        step, (ids,) = cf.MODELS["gpt2"]()
        (addmms,) = _inductor_backward_addmms(step, ids)
        self.assertFalse(row["identical"])
        self.assertEqual(len(row["merged_away"]), addmms)
        self.assertEqual(row["nodes_without_rule"] - row["nodes_with_rule"],
                         addmms)


if __name__ == "__main__":
    unittest.main()
