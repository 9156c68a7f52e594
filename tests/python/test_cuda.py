"""remat_torch on a CUDA device: export measures workspaces, and scheduled
runs (with RNG replay on the device) match plain runs. Skipped visibly when
torch sees no CUDA device (no GPU on the machine)."""

import unittest

import torch

from remat_helpers import load_example, quadratic_ops, segment_ops
from remat_torch import export_model
from remat_torch.__main__ import compare_runs

GPT = load_example("gpt")


@unittest.skipUnless(torch.cuda.is_available(), "no CUDA device for torch")
class CudaTest(unittest.TestCase):
    def test_export_on_cuda(self):
        made = GPT.build(layers=2, device="cuda")
        doc = export_model(made["blocks"], made["input"], "gpt-cuda",
                           loss_fn=made["loss_fn"], reps=2)
        self.assertIn("cuda", doc["description"])
        for layer in doc["layers"]:
            self.assertGreaterEqual(layer["fwd_workspace"], 0)
            self.assertGreaterEqual(layer["saved_bytes"],
                                    layer["output_bytes"])

    def test_schedules_match_plain_runs_on_cuda(self):
        for ops in (segment_ops(6, [(0, 2, True), (2, 6, False)]),
                    quadratic_ops(6)):
            r = compare_runs(GPT.build(layers=4, dropout=0.2, device="cuda"),
                             ops, seed=11)
            self.assertTrue(r["allclose"], r)
            self.assertEqual(r["forward_calls"], r["schedule_forward_calls"])


if __name__ == "__main__":
    unittest.main()
