"""`remat emit --target jax` on the real JAX (CPU): the emitted code runs
unchanged, and what JAX saves for the backward
(jax.ad_checkpoint.print_saved_residuals) is what the plan saves.

Each stage or node here is one multiplication whose backward needs only its
input, with its output tagged by checkpoint_name, so the residuals JAX keeps
name the stage inputs (chain) or node outputs (graph) it saved."""

import contextlib
import io
import json
import os
import re
import tempfile
import unittest

from remat_helpers import SOURCE_DIR, run_remat
from trainer_helpers import (LAYERS_MODEL, REMAT_BINARY, STAGES, emit,
                             forward_counts, write_schedule)

try:
    import jax
    import jax.numpy as jnp
    from jax.ad_checkpoint import checkpoint_name, print_saved_residuals
except ImportError as e:  # reported as a skip by run_module.py
    jax = None
    IMPORT_ERROR = str(e)

DIAMOND = os.path.join(SOURCE_DIR, "tests", "data", "diamond.json")


def residuals(f, *args):
    """(names of the tagged values JAX saves, other saved values that are
    not arguments) for the gradient of f."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_saved_residuals(f, *args)
    named, other = set(), []
    for line in out.getvalue().splitlines():
        m = re.search(r"named '([^']+)'", line)
        if m:
            named.add(m.group(1))
        elif "from the argument" not in line:
            other.append(line)
    return named, other


def stage(i):
    # x_{i+1} = x_i * x_i: its backward needs x_i, the stage's input.
    return lambda params, x: checkpoint_name(x * x, "x%d" % (i + 1))


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class JaxTest(unittest.TestCase):
    def setUp(self):
        if jax is None:
            self.skipTest("jax does not import: " + IMPORT_ERROR)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_chain_saves_the_plan_inputs(self):
        # [0,3) checkpointed (keeps x0, recomputes x1, x2), 3 stored,
        # [4,7) checkpointed (keeps x4), 7 stored. The plan keeps the input
        # of every stored stage and of every checkpointed segment:
        # x0, x3, x4, x7; x0 is the argument x.
        segments = [(0, 3, True), (3, 4, False), (4, 7, True), (7, 8, False)]
        sched, _ = write_schedule(self.tmp.name, segments)
        doc = emit(sched, "jax")
        self.assertTrue(doc["exact"])
        self.assertEqual(doc["target_version"], "jax " + jax.__version__)
        ns = {}
        exec(doc["plan"]["snippet"], ns)
        ns["layers"] = [stage(i) for i in range(len(STAGES))]
        params = [None] * len(STAGES)
        x = jnp.full((3,), 1.01, dtype=jnp.float32)
        named, other = residuals(
            lambda x: ns["forward"](params, x).sum(), x)
        self.assertEqual(named, {"x3", "x4", "x7"})
        self.assertEqual(other, [])
        g = jax.grad(lambda x: ns["forward"](params, x).sum())(x)
        want = jax.grad(lambda x: _plain(x).sum())(x)
        self.assertTrue(bool(jnp.array_equal(g, want)))

    def test_nested_plan_runs_and_saves_its_top_level(self):
        # remat's optimal plan of emit_layers.json at 50 B recomputes at
        # several levels in nested order (found by trying budgets): JAX runs
        # it as nested jax.checkpoint. Before the loss, the top level keeps
        # the input of each stored stage (F_all i) and of each region
        # (F_ck i), and nothing else; x0 is the argument. Read from the ops
        # here, not from remat's analysis.
        sched = os.path.join(self.tmp.name, "nested.json")
        code, _, err = run_remat("plan", LAYERS_MODEL, "--strategy",
                                 "optimal", "--budget", "50", "-o", sched)
        self.assertEqual(code, 0, err)
        doc = emit(sched, "jax")
        self.assertTrue(doc["exact"])
        self.assertTrue(doc["multi_level"])
        with open(sched, encoding="utf-8") as f:
            ops = json.load(f)["ops"]
        pre = ops[:next(k for k, o in enumerate(ops) if o["op"] == "loss")]
        want = {"x%d" % o["layer"] for o in pre
                if o["op"] in ("F_all", "F_ck") and o["layer"] > 0}
        counts = forward_counts(ops)
        self.assertGreater(max(counts), 2)  # truly multi-level
        ns = {}
        exec(doc["plan"]["snippet"], ns)
        ns["layers"] = [stage(i) for i in range(len(STAGES))]
        params = [None] * len(STAGES)
        x = jnp.full((3,), 1.01, dtype=jnp.float32)
        named, other = residuals(
            lambda x: ns["forward"](params, x).sum(), x)
        self.assertEqual(named, want)
        self.assertEqual(other, [])
        g = jax.grad(lambda x: ns["forward"](params, x).sum())(x)
        want_g = jax.grad(lambda x: _plain(x).sum())(x)
        self.assertTrue(bool(jnp.allclose(g, want_g, rtol=1e-6)))

    def test_graph_saves_the_named_outputs(self):
        # diamond.json: a, b(a), c(a), d(b, c). At 26 B the optimal plan
        # recomputes a and b and saves c and d.
        sched = os.path.join(self.tmp.name, "g.json")
        code, _, err = run_remat("plan", DIAMOND, "--strategy", "optimal",
                                 "--budget", "26", "-o", sched)
        self.assertEqual(code, 0, err)
        code, out, err = run_remat("emit", sched, "--target", "jax",
                                   "--model", DIAMOND, "--json")
        self.assertEqual(code, 0, err)
        import json
        doc = json.loads(out)
        saved = set(doc["plan"]["config"]["saved_names"])
        self.assertEqual(saved, {"c", "d"})

        def loss_fn(x):
            a = checkpoint_name(x * x, "a")
            b = checkpoint_name(a * a, "b")
            c = checkpoint_name(a * a * a, "c")
            d = checkpoint_name(b * c, "d")
            return d.sum()
        ns = {"loss_fn": loss_fn}
        exec(doc["plan"]["snippet"], ns)  # imports jax itself
        x = jnp.full((3,), 1.01, dtype=jnp.float32)
        named, other = residuals(ns["loss_fn"], x)
        # The backward needs a (for b and c), b and c (for d); d feeds
        # only the sum. JAX keeps the saved ones of these, c, and
        # recomputes a and b from x: nothing else is saved.
        self.assertEqual(named, saved & {"a", "b", "c"})
        self.assertEqual(other, [])
        self.assertTrue(bool(jnp.array_equal(jax.grad(ns["loss_fn"])(x),
                                              jax.grad(loss_fn)(x))))

        # The offload variant: the same names go to host memory. JAX's
        # residual list then names no device value and shows one host copy
        # (f32<host>) per saved value the backward needs (c, as above).
        off = doc["plan"]["config"]["offload"]
        self.assertEqual(off["kind"], "offload")
        self.assertFalse(off["simulated"])
        self.assertEqual(set(off["names_which_can_be_offloaded"]), saved)
        ns = {"loss_fn": loss_fn}
        exec(off["snippet"], ns)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            print_saved_residuals(ns["loss_fn"], x)
        lines = [l for l in out.getvalue().splitlines()
                 if "from the argument" not in l]
        self.assertEqual(len(lines), len(saved & {"a", "b", "c"}), lines)
        self.assertTrue(all("<host>" in l for l in lines), lines)
        self.assertTrue(bool(jnp.array_equal(jax.grad(ns["loss_fn"])(x),
                                              jax.grad(loss_fn)(x))))


def _plain(x):
    for i in range(len(STAGES)):
        x = stage(i)(None, x)
    return x


if __name__ == "__main__":
    unittest.main()
