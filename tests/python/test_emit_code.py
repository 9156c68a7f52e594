"""The Python code that `remat emit` prints is valid Python and encodes the
plan: the pytorch target's selective-activation-checkpointing policy, run
against a stub of torch.utils.checkpoint that records each block's decision
and each checkpoint call (and, in test_sac_code_runs_on_real_torch, on torch
2.x itself, gradients compared), and the JAX target's nested jax.checkpoint
code, run under a stand-in with jax.checkpoint's recomputation order to count
stage calls (test_trainers_jax.py runs the single-level and graph forms on
the real JAX)."""

import enum
import os
import sys
import tempfile
import types
import unittest
from unittest import mock

from remat_helpers import REMAT_BINARY, SOURCE_DIR, read_json, run_remat
import torch
import torch.utils.checkpoint

LAYERS_MODEL = os.path.join(SOURCE_DIR, "tests", "data", "emit_layers.json")
# tests/data/emit_layers.json: embed, h.N.attn and h.N.mlp for N < 3, head.
STAGES = ["embed", "h.0.attn", "h.0.mlp", "h.1.attn", "h.1.mlp", "h.2.attn",
          "h.2.mlp", "head"]


class Policy(enum.Enum):
    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3


def stub_checkpoint_module(calls):
    """torch.utils.checkpoint with the torch >= 2.4 names the code imports;
    checkpoint runs the function plainly and records its region."""
    stub = types.ModuleType("torch.utils.checkpoint")
    stub.CheckpointPolicy = Policy

    def create(policy_fn):
        return ("sac", policy_fn)

    def checkpoint(fn, x, use_reentrant=True, context_fn=None):
        calls.append((fn, use_reentrant, context_fn()))
        return fn(x)

    stub.create_selective_checkpoint_contexts = create
    stub.checkpoint = checkpoint
    return stub


class Probe(torch.nn.Module):
    """A block that asks the policy about an aten.mm run inside it."""

    def __init__(self, name, seen, ns):
        super().__init__()
        self.name, self.seen, self.ns = name, seen, ns

    def forward(self, x):
        self.seen[self.name] = self.ns["policy_fn"](
            None, torch.ops.aten.mm.default)
        return x + 1


class FakeJax(types.ModuleType):
    """jax.checkpoint's recomputation order, for counting stage calls: a
    region called while recording is run without recording and put on the
    tape; backward replays the tape in reverse, running each region again
    with a tape of its own and differentiating that."""

    def __init__(self):
        super().__init__("jax")
        self.count = {}
        self.tape = None

    def layer(self, i):
        def f(params, x):
            self.count[i] = self.count.get(i, 0) + 1
            return x + 1
        return f

    def checkpoint(self, fn):
        def wrapped(params, x):
            outer, self.tape = self.tape, None
            y = fn(params, x)
            self.tape = outer
            if outer is not None:
                outer.append((fn, params, x))
            return y
        return wrapped

    def backward(self, tape):
        for fn, params, x in reversed(tape):
            self.tape = []
            fn(params, x)
            inner, self.tape = self.tape, None
            self.backward(inner)

    def grad(self, fn, params, x):
        self.tape = []
        fn(params, x)
        tape, self.tape = self.tape, None
        self.backward(tape)


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class EmitCodeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def emit(self, target, *strategy):
        sched = os.path.join(self.tmp.name, "s.json")
        code, _, err = run_remat("plan", LAYERS_MODEL, "--strategy",
                                 *strategy, "-o", sched)
        self.assertEqual(code, 0, err)
        out = os.path.join(self.tmp.name, "emit.json")
        args = ["emit", sched, "--target", target, "--model", LAYERS_MODEL,
                "-o", out]
        if target != "pytorch":
            args.append("--json")
        code, _, err = run_remat(*args)
        self.assertEqual(code, 0, err)
        return read_json(out)

    def run_sac(self, sac):
        """Executes the SAC code against the stub; returns the decision per
        block and the checkpoint calls."""
        compile(sac["code"], "sac.py", "exec")
        calls, seen, ns = [], {}, {}
        stub = stub_checkpoint_module(calls)
        with mock.patch.dict(sys.modules, {"torch.utils.checkpoint": stub}):
            exec(sac["code"], ns)
        pairs = [(n, Probe(n, seen, ns)) for n in STAGES]
        ns["blocks"] = [m for _, m in pairs]
        ns["track_blocks"](pairs)
        out = ns["forward"](torch.zeros(2))
        # Every block ran once, plainly or inside a checkpoint.
        self.assertTrue(torch.equal(out, torch.full((2,), len(STAGES) * 1.0)))
        return seen, calls, ns

    def test_sac_policy_recomputes_the_mlp_blocks_only(self):
        # selective --kinds mlp: each h.N.mlp recomputed, the rest stored. A
        # layer is split, so the regions are whole layers h.0, h.1, h.2 and
        # the policy saves attn's ops inside them.
        doc = self.emit("pytorch", "selective", "--kinds", "mlp")
        sac = doc["selective_ac"]
        self.assertEqual(sac["torch_min_version"], "2.4")
        self.assertTrue(sac["exact"])
        self.assertEqual(sac["recomputed_layers"],
                         ["h.0.mlp", "h.1.mlp", "h.2.mlp"])
        self.assertEqual([(r["begin"], r["end"]) for r in sac["regions"]],
                         [(1, 3), (3, 5), (5, 7)])
        self.assertIn("create_selective_checkpoint_contexts", sac["code"])
        seen, calls, ns = self.run_sac(sac)
        want = {n: Policy.PREFER_RECOMPUTE if n.endswith(".mlp")
                else Policy.MUST_SAVE for n in STAGES}
        self.assertEqual(seen, want)
        self.assertEqual(len(calls), 3)
        for _, use_reentrant, ctx in calls:
            self.assertFalse(use_reentrant)
            self.assertEqual(ctx, ("sac", ns["policy_fn"]))
        # An op listed in ALWAYS_SAVE is saved even in a recomputed block.
        ns["ALWAYS_SAVE"].add(torch.ops.aten.mm.default)
        ns["_running"].append("h.0.mlp")
        self.assertEqual(ns["policy_fn"](None, torch.ops.aten.mm.default),
                         Policy.MUST_SAVE)
        self.assertEqual(ns["_running"], ["h.0.mlp"])

    def test_sac_regions_that_merge_are_not_exact(self):
        # every --k 2 over 8 stages: segments [0,2) [2,4) [4,6) [6,8), all
        # checkpointed. Widened to layers: [0,3) (embed + h.0), [2,5) ...
        # overlap and merge into one region, which recomputes several
        # segments together.
        sac = self.emit("pytorch", "every", "--k", "2")["selective_ac"]
        self.assertFalse(sac["exact"])
        self.assertIn("checkpointed segments", sac["not_exact_reason"])
        seen, _, _ = self.run_sac(sac)
        self.assertTrue(all(d == Policy.PREFER_RECOMPUTE
                            for d in seen.values()))

    def test_jax_nested_code_recomputes_as_the_schedule(self):
        # revolve --slots 2 recomputes at several levels. The emitted code,
        # run under a stand-in for jax.checkpoint with its semantics (the
        # forward runs a region without recording it; the backward runs it
        # again, recording, and differentiates it, inner regions the same
        # way), calls each stage as often as the schedule computes it.
        doc = self.emit("jax", "revolve", "--slots", "2")
        self.assertTrue(doc["multi_level"])
        self.assertTrue(doc["exact"])
        code = doc["plan"]["snippet"]
        compile(code, "jax_plan.py", "exec")
        fake = FakeJax()
        ns = {}
        with mock.patch.dict(sys.modules, {"jax": fake}):
            exec(code, ns)
        ns["layers"] = [fake.layer(i) for i in range(len(STAGES))]
        fake.grad(ns["forward"], [None] * len(STAGES), 0)
        self.assertEqual([fake.count[i] for i in range(len(STAGES))],
                         [layer["forward_count"] for layer in doc["layers"]])
        self.assertGreater(max(fake.count.values()), 2)

    @unittest.skipUnless(
        hasattr(torch.utils.checkpoint, "create_selective_checkpoint_contexts"),
        "torch %s has no selective activation checkpointing (needs 2.4)"
        % torch.__version__)
    def test_sac_code_runs_on_real_torch(self):
        doc = self.emit("pytorch", "selective", "--kinds", "mlp")
        ns = {}
        exec(doc["selective_ac"]["code"], ns)
        torch.manual_seed(0)
        pairs = [(n, torch.nn.Sequential(torch.nn.Linear(4, 4),
                                         torch.nn.Tanh())) for n in STAGES]
        ns["blocks"] = [m for _, m in pairs]
        ns["track_blocks"](pairs)
        x = torch.randn(3, 4)
        ns["forward"](x).sum().backward()
        got = [p.grad.clone() for _, m in pairs for p in m.parameters()]
        for _, m in pairs:
            m.zero_grad(set_to_none=True)
        y = x
        for _, m in pairs:
            y = m(y)
        y.sum().backward()
        want = [p.grad for _, m in pairs for p in m.parameters()]
        for g, w in zip(got, want):
            self.assertTrue(torch.allclose(g, w))


if __name__ == "__main__":
    unittest.main()
