"""The side by side's report (remat_torch.frontier_report), on hand-made
rows whose answers are worked out below: which PyTorch points no remat
point beats, remat at PyTorch's bytes budget by budget, and the report
rendered again from a frontier.json (or refused, exit 2); every published
run's table in docs/ is what its raw rows render to."""

import json
import os
import tempfile
import unittest

import remat_helpers  # noqa: F401 - sets up paths like the other tests

try:
    import torch  # noqa: F401 - the remat_torch package imports it
    HAVE = True
except ImportError:  # pragma: no cover
    HAVE = False

def _row(partitioner, budget, peak, ms, mflop, **extra):
    return dict(model="m", partitioner=partitioner, budget=budget,
                peak_bytes=peak, step_ms=ms, recomputed_flops=mflop * 1e6,
                **extra)


def _report(**extra):
    """A partition report with the fields the table reads."""
    return dict(planned_peak=1, realised_peak=1, store_all_peak=2,
                realised_time_us=1.0, notes=[], **extra)


@unittest.skipUnless(HAVE, "torch not installed")
class DominanceTest(unittest.TestCase):
    def test_points_left_unbeaten(self):
        from remat_torch.frontier_report import dominance
        rows = [
            # PyTorch: A low peak, slow; B high peak, fast; C in between.
            _row("pytorch-dp", 0.2, 100, 50.0, 40),
            _row("pytorch-dp", 0.6, 120, 45.0, 10),
            _row("pytorch-dp", 1.0, 140, 40.0, 0),
            # remat D (95 B, 48 ms, 30 MFLOP) beats A on both (95 <= 100,
            # 48 <= 50, 30 <= 40) and not B (48 > 45 ms, 30 > 10 MFLOP).
            # remat E (130 B, 42 ms, 0 MFLOP) beats C on FLOPs (130 <= 140,
            # 0 <= 0), not on time (42 > 40), and cannot beat B (130 > 120).
            # Left: on time B and C, on FLOPs B.
            _row("remat", 0.2, 95, 48.0, 30),
            _row("remat", 1.0, 130, 42.0, 0),
            # An error row takes no part (it would beat everything).
            _row("remat", 0.5, 1, 1.0, 0, error="compile failed"),
        ]
        (entry,) = dominance(rows)
        self.assertEqual(entry["points"], 3)
        self.assertEqual([r["budget"] for r in entry["step_ms"]], [0.6, 1.0])
        self.assertEqual([r["budget"] for r in entry["recomputed_flops"]],
                         [0.6])

    def test_equal_counts_as_beaten(self):
        from remat_torch.frontier_report import dominance
        rows = [_row("pytorch-dp", 0.5, 100, 40.0, 5),
                _row("remat", 0.5, 100, 40.0, 5)]
        (entry,) = dominance(rows)
        self.assertEqual(entry["step_ms"], [])
        self.assertEqual(entry["recomputed_flops"], [])

    def test_remat_at_pytorch_rows_are_remat_points(self):
        from remat_torch.frontier_report import dominance
        # B (120 B, 45 ms, 10 MFLOP) is beaten only by the remat-at-pytorch
        # row (118 <= 120, 44 <= 45, 9 <= 10); the plain remat row (125 B)
        # is over its peak. Two PyTorch points, not three.
        rows = [_row("pytorch-dp", 0.6, 120, 45.0, 10),
                _row("pytorch-dp-guarded", 0.6, 119, 44.0, 10),
                _row("remat", 0.6, 125, 40.0, 0),
                _row("remat-at-pytorch", 0.6, 118, 44.0, 9)]
        (entry,) = dominance(rows)
        self.assertEqual(entry["points"], 2)
        self.assertEqual(entry["step_ms"], [])
        self.assertEqual(entry["recomputed_flops"], [])
        # Without it, both PyTorch points stand on both criteria.
        (entry,) = dominance(rows[:3])
        self.assertEqual(len(entry["step_ms"]), 2)
        self.assertEqual(len(entry["recomputed_flops"]), 2)


@unittest.skipUnless(HAVE, "torch not installed")
class PairedTest(unittest.TestCase):
    def test_budget_by_budget(self):
        from remat_torch.frontier_report import paired, paired_table
        rows = [_row("pytorch-dp", 0.4, 100, 10.0, 75),
                _row("pytorch-dp-guarded", 0.4, 98, 10.5, 75),
                _row("pytorch-dp", 0.6, 120, 9.0, 10),
                _row("remat", 0.4, 90, 9.0, 100),
                # At 0.4: 99 B, 9.5 ms. Against dp (100 B, 10.0 ms) both
                # lower: yes; against guarded (98 B, 10.5 ms) +1 B, -1.0
                # ms: time only. At 0.6 (125 B, 8.0 ms) against 120 B,
                # 9.0 ms: time only. The plain remat row pairs with nothing.
                _row("remat-at-pytorch", 0.4, 99, 9.5, 30),
                _row("remat-at-pytorch", 0.6, 125, 8.0, 0),
                # An error row takes no part.
                _row("pytorch-dp", 0.6, 1, 1.0, 0, error="compile failed")]
        got = [(p["pytorch"]["partitioner"], p["remat"]["budget"],
                p["peak_le"], p["time_le"]) for p in paired(rows)]
        self.assertEqual(got, [("pytorch-dp", 0.4, True, True),
                               ("pytorch-dp-guarded", 0.4, False, True),
                               ("pytorch-dp", 0.6, False, True)])
        text = paired_table(rows)
        self.assertEqual(text.count("| time only |"), 2)
        self.assertIn("| -1.00 (medians) | time only |", text)  # 9.5 - 10.5
        self.assertIn("| yes |", text)

    def test_each_solver_against_its_own_bytes(self):
        from remat_torch.frontier_report import paired
        # greedy's rows pair with remat at greedy's bytes, dp's with remat
        # at dp's; ilp has no remat row of its own and falls back to dp's.
        # Listed by budget: 0.4's three pairs before 0.6's.
        rows = [_row("pytorch-dp", 0.6, 120, 9.0, 10),
                _row("pytorch-greedy", 0.6, 130, 9.5, 12),
                _row("pytorch-dp", 0.4, 100, 10.0, 75),
                _row("pytorch-greedy", 0.4, 110, 11.0, 80),
                _row("pytorch-ilp-guarded", 0.4, 95, 10.0, 70),
                _row("remat-at-pytorch", 0.4, 99, 9.5, 30),
                _row("remat-at-pytorch-greedy", 0.4, 109, 9.0, 20),
                _row("remat-at-pytorch-greedy", 0.6, 125, 8.0, 0)]
        got = [(p["pytorch"]["partitioner"], p["pytorch"]["budget"],
                p["remat"]["partitioner"]) for p in paired(rows)]
        self.assertEqual(got, [
            ("pytorch-dp", 0.4, "remat-at-pytorch"),
            ("pytorch-greedy", 0.4, "remat-at-pytorch-greedy"),
            ("pytorch-ilp-guarded", 0.4, "remat-at-pytorch"),
            # dp at 0.6 has no remat-at-pytorch row: no pair.
            ("pytorch-greedy", 0.6, "remat-at-pytorch-greedy")])
        # 99 B against ilp's 95 B: the fallback pair is a peak miss.
        self.assertEqual([p["peak_le"] for p in paired(rows)],
                         [True, True, False, True])

    def test_rounds_are_paired(self):
        from remat_torch.frontier_report import paired, paired_table
        # Round by round remat is 10.0 - 9.5, 10.5 - 10.0 and 11.0 - 13.0
        # ms apart: +0.5, +0.5, -2.0, median +0.5 ms; faster in 1 round of 3
        # (the slow third round falls on both rows alike).
        rows = [_row("pytorch-dp", 0.4, 100, 10.0, 75,
                     step_ms_rounds=[9.5, 10.0, 13.0]),
                # Its median (12.0) would give +2.0 ms: the rounds decide.
                _row("remat-at-pytorch", 0.4, 99, 12.0, 30,
                     step_ms_rounds=[10.0, 10.5, 11.0])]
        (p,) = paired(rows)
        self.assertEqual((p["dt"], p["faster"], p["rounds"]), (0.5, 1, 3))
        self.assertFalse(p["time_le"])
        self.assertIn("| +0.50 (1 of 3) | peak only |", paired_table(rows))
        # Rounds of different counts (a run cut short) are not paired: the
        # medians decide, and the table says so.
        rows[1]["step_ms_rounds"] = [10.0, 10.5]
        (p,) = paired(rows)
        self.assertEqual((p["dt"], p["rounds"]), (2.0, 0))
        self.assertIn("| +2.00 (medians) | peak only |", paired_table(rows))


@unittest.skipUnless(HAVE, "torch not installed")
class RenderTest(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.out = self._dir.name

    def tearDown(self):
        self._dir.cleanup()

    def _main(self, *argv, rows=None, text=None):
        """main(argv) with stderr and stdout captured; writes
        frontier.json first from ``rows`` or ``text``."""
        import contextlib
        import io
        from remat_torch.frontier_report import main
        if rows is not None:
            text = json.dumps({"rows": rows})
        if text is not None:
            with open(os.path.join(self.out, "frontier.json"), "w") as f:
                f.write(text)
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(list(argv))
        return rc, err.getvalue(), out.getvalue()

    def test_rerenders_from_frontier_json(self):
        rows = [_row("pytorch-dp", 0.4, 100, 10.0, 75),
                _row("remat-at-pytorch", 0.4, 99, 9.5, 30, remat=[{
                    "planned_peak": 90, "realised_peak": 90,
                    "store_all_peak": 120, "realised_time_us": 9000.0,
                    "notes": [], "reference": {
                        "solver": "dp", "peak_bytes": 90,
                        "time": 9100.0}}]),
                # A model whose every row failed: named in the table, no SVG.
                dict(model="x", partitioner="remat", budget=0.5,
                     error="compile failed")]
        self.assertEqual(self._main(self.out, rows=rows)[0], 0)
        with open(os.path.join(self.out, "frontier.md")) as f:
            md = f.read()
        self.assertIn("Budget by budget", md)
        self.assertIn("| m | 40% | dp |", md)
        self.assertIn("PyTorch dp's set in remat's model", md)
        self.assertIn("| x | remat | 50% | — | — | — | — | compile failed |",
                      md)
        self.assertTrue(os.path.exists(os.path.join(
            self.out, "frontier-m-step_ms.svg")))
        self.assertFalse(os.path.exists(os.path.join(
            self.out, "frontier-x-step_ms.svg")))

    def test_published_tables_are_their_rows(self):
        """Each docs/**/frontier.md is its frontier.json rendered by this
        report, byte for byte: a table edited by hand, or rows changed
        without rendering again, fail here. (The SVGs are not compared:
        their style changed after the first runs.)"""
        import glob
        import shutil
        docs = os.path.join(remat_helpers.SOURCE_DIR, "docs")
        found = sorted(glob.glob(os.path.join(docs, "**", "frontier.json"),
                                 recursive=True))
        self.assertGreaterEqual(len(found), 10)
        for path in found:
            with self.subTest(run=os.path.relpath(path, docs)):
                for name in os.listdir(self.out):
                    os.remove(os.path.join(self.out, name))
                shutil.copy(path, self.out)
                self.assertEqual(self._main(self.out)[0], 0)
                with open(os.path.join(self.out, "frontier.md")) as f:
                    fresh = f.read()
                with open(os.path.join(os.path.dirname(path),
                                       "frontier.md")) as f:
                    self.assertEqual(f.read(), fresh)

    def test_help_is_exit_0(self):
        rc, err, out = self._main("--help")
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("frontier.json", out)

    def test_missing_or_bad_json_is_exit_2(self):
        bad = [("no file", None, "No such file"),
               ("truncated", '{"rows": ', "frontier.json"),
               ("rows not a list", '{"rows": {}}', "no list of rows"),
               ("a row without its peak",
                json.dumps({"rows": [dict(model="m", partitioner="remat",
                                          budget=0.5, step_ms=1.0,
                                          recomputed_flops=0.0)]}),
                "row 0 (m, remat): 'peak_bytes'"),
               ("a remat row without its reports",
                json.dumps({"rows": [_row("remat", 0.5, 1, 1.0, 0)]}),
                "no 'remat' list"),
               ("rounds that are not numbers",
                json.dumps({"rows": [_row("pytorch-dp", 0.5, 1, 1.0, 0,
                                          step_ms_rounds=[1.0, "x"])]}),
                "row 0 (m, pytorch-dp): 'step_ms_rounds' not a list"),
               ("a report without its planned peak",
                json.dumps({"rows": [_row("remat", 0.5, 1, 1.0, 0,
                                          remat=[{"notes": []}])]}),
                "report 0: 'planned_peak' missing"),
               ("a reference without its peak",
                json.dumps({"rows": [_row("remat-at-pytorch", 0.5, 1, 1.0, 0,
                                          remat=[_report(reference={
                                              "solver": "dp"})])]}),
                "report 0: 'reference' without")]
        for what, text, says in bad:
            with self.subTest(what):
                rc, err, _ = self._main(self.out, text=text)
                self.assertEqual(rc, 2)
                self.assertIn(says, err)
        self.assertEqual(self._main()[0], 2)  # no DIR
        self.assertFalse(os.path.exists(os.path.join(self.out,
                                                     "frontier.md")))


if __name__ == "__main__":
    unittest.main()
