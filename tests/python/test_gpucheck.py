"""remat_torch.gpucheck: the CPU path end to end (export, plan, plain and
scheduled steps, gradient check, results files), and the CUDA measurement
with torch.cuda's allocator statistics mocked (no GPU here)."""

import json
import os
import tempfile
import types
import unittest
from unittest import mock

from remat_helpers import REMAT_BINARY, read_json
import torch

from remat_torch import gpucheck


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class GpuCheckCpuTest(unittest.TestCase):
    def test_cpu_dry_run(self):
        with tempfile.TemporaryDirectory() as out:
            code = gpucheck.main(["--remat", REMAT_BINARY, "--out", out,
                                  "--device", "cpu", "--kwargs",
                                  '{"layers": 2}'])
            self.assertEqual(code, 0)
            result = read_json(os.path.join(out, "memory.json"))
            with open(os.path.join(out, "memory.txt"), encoding="utf-8") as f:
                table = f.read()
            rows = {r["plan"]: r for r in result["rows"]}
            # The GPT example with 2 layers: embed, h0, h1, head.
            model = read_json(os.path.join(out, "model.json"))
            self.assertEqual(len(model["layers"]), 4)
            self.assertEqual(set(rows), {"plain step", "none", "sqrt",
                                         "optimal-50%", "optimal-25%"})
            for label in ("none", "sqrt", "optimal-50%"):
                sched = read_json(os.path.join(out, "plan.%s.json" % label))
                self.assertEqual(rows[label]["predicted_peak_bytes"],
                                 sched["predicted"]["peak_bytes"])
                self.assertTrue(rows[label]["gradients_match"], label)
                self.assertIsNone(rows[label]["measured_peak_bytes"])
            self.assertEqual(rows["plain step"]["predicted_peak_bytes"],
                             rows["none"]["predicted_peak_bytes"])
            # The optimal budgets are fractions of the store-all peak, or,
            # below the least feasible budget, that budget.
            none = rows["none"]["predicted_peak_bytes"]
            half = read_json(os.path.join(out, "plan.optimal-50%.json"))
            if "least feasible" not in rows["optimal-50%"]["note"]:
                self.assertEqual(half["budget_bytes"], int(none * 0.5))
            self.assertLessEqual(rows["optimal-50%"]["predicted_peak_bytes"],
                                 none)
            self.assertIn("nothing measured", table)

    def test_cuda_rows_with_mocked_allocator_stats(self):
        # The CUDA branch of run_steps on a CPU model: every step "peaks"
        # 1000 B above its start, so each measured peak is 1000 B plus the
        # input's bytes (2 x 16 int64 token ids = 256 B) and the ratio is
        # that over the prediction.
        made = gpucheck.build_model(gpucheck.DEFAULT_FACTORY,
                                    torch.device("cpu"), {"layers": 1})[0]
        with tempfile.TemporaryDirectory() as out:
            model = os.path.join(out, "model.json")
            gpucheck.write_model(gpucheck.export_model(
                made["blocks"], made["input"], "m", loss_fn=made["loss_fn"],
                reps=1), model)
            plans = gpucheck.make_plans(REMAT_BINARY, model, out)
        fake = types.SimpleNamespace(type="cuda")
        with mock.patch.multiple(
                torch.cuda, synchronize=lambda d=None: None,
                empty_cache=lambda: None,
                reset_peak_memory_stats=lambda d=None: None,
                memory_allocated=lambda d=None: 0,
                max_memory_allocated=lambda d=None: 1000):
            rows = gpucheck.run_steps(made, plans, fake, 0)
        self.assertEqual(made["input"].numel() * 8, 256)
        for r in rows:
            if r["predicted_peak_bytes"] is None:
                continue
            self.assertEqual(r["measured_peak_bytes"], 1256)
            self.assertAlmostEqual(r["ratio"],
                                   1256 / r["predicted_peak_bytes"])
            self.assertTrue(r["gradients_match"], r["plan"])
        self.assertIn("1256", json.dumps(rows))

    def test_cuda_without_a_device_is_a_usage_error(self):
        if torch.cuda.is_available():
            self.skipTest("a CUDA device is present")
        with tempfile.TemporaryDirectory() as out:
            self.assertEqual(gpucheck.main(["--remat", REMAT_BINARY, "--out",
                                            out, "--device", "cuda"]), 2)


class MeasureTest(unittest.TestCase):
    def test_cuda_peak_is_the_rise_above_the_start(self):
        # Allocated 1000 B before the step; the allocator's peak during it
        # is 5096 B: the step's peak is 4096 B.
        calls = []
        fake = types.SimpleNamespace(type="cuda")
        with mock.patch.multiple(
                torch.cuda,
                synchronize=lambda d=None: calls.append("sync"),
                empty_cache=lambda: calls.append("empty"),
                reset_peak_memory_stats=lambda d=None: calls.append("reset"),
                memory_allocated=lambda d=None: 1000,
                max_memory_allocated=lambda d=None: 5096):
            peak = gpucheck.measure_step(lambda: calls.append("step"), fake)
        self.assertEqual(peak, 4096)
        self.assertLess(calls.index("reset"), calls.index("step"))
        self.assertEqual(calls[-1], "sync")

    def test_cpu_runs_the_step_and_measures_nothing(self):
        ran = []
        self.assertIsNone(gpucheck.measure_step(lambda: ran.append(1),
                                                torch.device("cpu")))
        self.assertEqual(ran, [1])

    def test_table_ratio(self):
        # measured 3 MiB against predicted 2 MiB: ratio 1.5.
        row = gpucheck._row("sqrt", 2 * 2**20, 3 * 2**20, True)
        self.assertEqual(row["ratio"], 1.5)
        text = gpucheck.format_table([row], types.SimpleNamespace(
            type="cuda"))
        self.assertIn("2.0 MiB        3.0 MiB   1.500 match", text)


if __name__ == "__main__":
    unittest.main()
