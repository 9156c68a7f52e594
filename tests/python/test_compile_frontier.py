"""The side by side's runner (remat_torch.compile_frontier): interleaved
timing, which variants run under the fusion guard and at PyTorch's bytes,
and usage errors. Its report is tested in test_frontier_report."""

import unittest

import remat_helpers  # noqa: F401 - sets up paths like the other tests

try:
    import torch  # noqa: F401 - compile_frontier imports it
    HAVE = True
except ImportError:  # pragma: no cover
    HAVE = False


@unittest.skipUnless(HAVE, "torch not installed")
class InterleavedTimingTest(unittest.TestCase):
    def test_rounds_interleave_and_a_failing_run_is_reported(self):
        from remat_torch.compile_frontier import _time_interleaved
        calls = []

        def ok():
            calls.append("ok")

        def breaks_on_third_call():
            calls.append("bad")
            if calls.count("bad") == 3:
                raise RuntimeError("boom\nsecond line")
        results = _time_interleaved([ok, breaks_on_third_call], repeats=4)
        # One untimed round and 4 timed ones: ok runs 5 times; the other
        # runs in rounds 0, 1 and 2 and is dropped after raising in round 2.
        # Round r starts at variant r * 2 // 5: rounds 0-2 at the first
        # (r = 0, 1, 2 give 0, 0, 0), rounds 3 and 4 at the second.
        self.assertEqual(calls[:6], ["ok", "bad"] * 3)
        self.assertEqual(calls.count("ok"), 5)
        self.assertEqual(calls.count("bad"), 3)
        median, fastest, rounds = results[0]
        self.assertLessEqual(fastest, median)
        self.assertEqual(len(rounds), 4)  # the timed rounds, in order
        self.assertEqual(min(rounds), fastest)
        self.assertEqual(results[1], "boom")

    def test_no_variant_is_always_last(self):
        from remat_torch.compile_frontier import _time_interleaved
        order = []
        runs = [lambda i=i: order.append(i) for i in range(3)]
        _time_interleaved(runs, repeats=5)
        # 6 rounds of 3; round r starts at r * 3 // 6 = 0, 0, 1, 1, 2, 2.
        rounds = [order[3 * r:3 * r + 3] for r in range(6)]
        self.assertEqual(rounds, [[0, 1, 2], [0, 1, 2], [1, 2, 0],
                                  [1, 2, 0], [2, 0, 1], [2, 0, 1]])


@unittest.skipUnless(HAVE, "torch not installed")
class VariantsTest(unittest.TestCase):
    """Which compiles run under remat's Inductor settings (the fusion
    guard but with ``none``, layout optimization and buffer reuse off but
    with ``inductor``): remat's always; PyTorch's a second time, named
    ``-guarded``, under the same settings whenever there are any."""

    def _variants(self, guard, at_pytorch=True, layout="remat", **kw):
        from remat_torch import compile_frontier as cf
        from remat_torch.partition_cost import calibrate
        return cf._variants([0.5], ["dp", "greedy"], guard, calibrate(),
                            cf._RecordingMinCut(calibrate()), at_pytorch,
                            layout, **kw)

    def test_count_gradients_reaches_every_remat_row(self):
        for flag in (False, True):
            with self.subTest(count_gradients=flag):
                got = [f.partitioner.count_gradients
                       for p, _, f in self._variants("both",
                                                     count_gradients=flag)
                       if p.startswith("remat")]
                # remat at 0.5 and 1.0, at each solver's bytes at 0.5.
                self.assertEqual(got, [flag] * 4)

    def test_both(self):
        got = [(p, b, bool(f.inductor_patches))
               for p, b, f in self._variants("both")]
        # 0.5 gets both solvers, 1.0 (PyTorch's default) dp only: 3 per
        # setting; remat at 0.5 and 1.0, and at the bytes each solver's
        # choice at 0.5 reaches (at 1.0 PyTorch saves everything: remat's
        # 1.0 row), guarded.
        self.assertEqual([(p, b) for p, b, _ in got], [
            ("pytorch-dp", 0.5), ("pytorch-greedy", 0.5), ("pytorch-dp", 1.0),
            ("pytorch-dp-guarded", 0.5), ("pytorch-greedy-guarded", 0.5),
            ("pytorch-dp-guarded", 1.0), ("remat", 0.5), ("remat", 1.0),
            ("remat-at-pytorch", 0.5), ("remat-at-pytorch-greedy", 0.5)])
        self.assertEqual([g for _, _, g in got],
                         [False] * 3 + [True] * 3 + [True] * 4)
        refs = [(f.partitioner.budget_reference, f.partitioner.reference_solver)
                for p, _, f in self._variants("both") if p.startswith("remat")]
        self.assertEqual(refs, [("store_all", None), ("store_all", None),
                                ("pytorch", "dp"), ("pytorch", "greedy")])

    def test_none(self):
        got = self._variants("none", at_pytorch=False, layout="inductor",
                             reuse="inductor")
        self.assertEqual([p for p, _, _ in got], ["pytorch-dp",
                         "pytorch-greedy", "pytorch-dp", "remat", "remat"])
        self.assertEqual([f.inductor_patches for _, _, f in got], [{}] * 5)

    def test_guarded_rows_share_remats_settings(self):
        guard = "fusion_memory_timeline_peak_memory_pct_threshold"
        layout, reuse = "layout_optimization", "allow_buffer_reuse"
        for args, want in (
                (("both", "remat", "remat"),
                 {guard: 0.0, layout: False, reuse: False}),
                (("both", "inductor", "remat"), {guard: 0.0, reuse: False}),
                (("both", "remat", "inductor"), {guard: 0.0, layout: False}),
                (("none", "remat", "remat"), {layout: False, reuse: False})):
            with self.subTest(args=args):
                got = self._variants(args[0], at_pytorch=False,
                                     layout=args[1], reuse=args[2])
                patches = {p: f.inductor_patches for p, _, f in got}
                self.assertEqual(patches["remat"], want)
                self.assertEqual(patches["pytorch-dp-guarded"], want)
                self.assertEqual(patches["pytorch-dp"], {})


@unittest.skipUnless(HAVE, "torch not installed")
class UsageErrorTest(unittest.TestCase):
    """Bad arguments exit 2 with the bad value named, before any compile
    and before the output folder is made."""

    def _usage(self, *argv):
        import contextlib
        import io
        import os
        import tempfile
        from remat_torch.compile_frontier import main
        out = os.path.join(tempfile.mkdtemp(), "out")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), \
                self.assertRaises(SystemExit) as ctx:
            main(["--out", out, *argv])
        self.assertEqual(ctx.exception.code, 2)
        self.assertFalse(os.path.exists(out))
        return err.getvalue()

    def test_unknown_model(self):
        self.assertIn("--models: unknown llama", self._usage(
            "--models", "gpt2,llama"))

    def test_unknown_setting_choice(self):
        for flag in ("--layout", "--buffer-reuse"):
            with self.subTest(flag=flag):
                err = self._usage(flag, "off")
                self.assertIn(flag, err)
                self.assertIn("'off'", err)

    def test_unknown_solver(self):
        self.assertIn("--solvers: unknown knap", self._usage(
            "--solvers", "knap"))

    def test_budget_outside_zero_one(self):
        self.assertIn("'1.5' is not a fraction", self._usage(
            "--budgets", "0.5,1.5"))
        self.assertIn("'x' is not a fraction", self._usage("--budgets", "x"))

    def test_repeats_below_one(self):
        self.assertIn("got 0", self._usage("--repeats", "0"))


if __name__ == "__main__":
    unittest.main()
