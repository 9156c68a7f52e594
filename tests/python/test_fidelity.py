"""Tests of remat_torch.fidelity's predicted overhead for executor rows: a
plan made on one export is simulated on another export of the same model
(other times, same bytes), and its overhead is taken against that export's
own plain step, not the first's."""

import json
import os
import tempfile
import unittest

from remat_helpers import REMAT_BINARY, read_json, run_remat
from remat_torch.fidelity import simulated_overhead

L = 4


def uniform_model(fwd, bwd):
    """L equal stages of 1 KiB activations; the loss costs nothing."""
    return {"format": "remat-model", "version": 1, "name": "uniform",
            "time_unit": "ms", "input_bytes": 1024,
            "layers": [{"name": "s%d" % i, "kind": "block",
                        "fwd_time": fwd, "bwd_time": bwd,
                        "output_bytes": 1024, "saved_bytes": 2048}
                       for i in range(L)]}


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class SimulatedOverheadTest(unittest.TestCase):
    def test_overhead_is_against_the_other_exports_plain_step(self):
        with tempfile.TemporaryDirectory() as tmp:
            a = os.path.join(tmp, "a.json")
            b = os.path.join(tmp, "b.json")
            sched = os.path.join(tmp, "plan.json")
            with open(a, "w") as f:
                json.dump(uniform_model(1.0, 2.0), f)
            with open(b, "w") as f:
                json.dump(uniform_model(3.0, 2.0), f)
            code, _, err = run_remat("plan", a, "--strategy", "sqrt",
                                     "-o", sched)
            self.assertEqual(code, 0, err)
            recomputed = read_json(sched)["predicted"][
                "forward_recomputations"]
            self.assertGreater(recomputed, 0)
            # On b each recomputation costs b's forward, 3 ms, over b's
            # plain step of L * (3 + 2) = 20 ms. Against a's plain step
            # (L * 3 = 12 ms) the same simulated time would read
            # (20 + 3 R) / 12 - 1.
            want = recomputed * 3.0 / (L * 5.0)
            self.assertAlmostEqual(simulated_overhead(REMAT_BINARY, b, sched),
                                   want, places=4)


if __name__ == "__main__":
    unittest.main()
