"""remat_torch's executor and the C++ simulator give the same verdicts.

The C++ side keeps the residency rules of spec 3a in one replay engine
(planner/ChainReplay.h) that the simulator, the emit analysis and the
runtime executor share. The Python executor (``run_schedule``) cannot share
that code, so this module holds it to the simulator, called as
``remat simulate`` (a separate process the Python code does not control):

- on the simulator's golden invalid schedules (tests/golden/invalid, written
  for tests/data/hand.json), on plans the CLI makes, and on seeded random
  mutations of those plans (an op dropped, doubled, swapped with the next,
  given another kind or another layer), the two reject the same schedules
  at the same op index, or both as incomplete;
- on the schedules both accept, each block runs once per forward op the
  list has for it (counted by forward hooks), the simulator's
  forward_recomputations is that total minus L, and the gradients are a
  plain run's.

Messages may be worded differently; the op index may not.
"""

import glob
import json
import os
import random
import re
import tempfile
import unittest

import torch

from remat_helpers import REMAT_BINARY, SOURCE_DIR, run_remat
from remat_torch import ForwardCounter, ScheduleError, plain_run, run_schedule

HAND = os.path.join(SOURCE_DIR, "tests", "data", "hand.json")
CHAIN4 = os.path.join(SOURCE_DIR, "tests", "data", "chain4.json")
INVALID = os.path.join(SOURCE_DIR, "tests", "golden", "invalid")
KINDS = ["F_ck", "F_n", "F_all", "B"]


def verdict(message):
    """("op", k) for an error about op k, ("incomplete",) for a schedule
    that ends without y_0."""
    m = re.match(r"(?:op |ops\[)(\d+)[\] :(]", message)
    if m:
        return ("op", int(m.group(1)))
    if "incomplete" in message:
        return ("incomplete",)
    return ("unexpected", message)


def schedule_file(directory, ops, n):
    path = os.path.join(directory, "s%d.json" % n)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"format": "remat-schedule", "version": 1,
                   "model": "any", "model_sha256": "a" * 64,
                   "strategy": "handmade", "budget_bytes": None,
                   "predicted": {"peak_bytes": 0, "time": 0,
                                 "baseline_time": 0,
                                 "baseline_peak_bytes": 0, "overhead": 0,
                                 "forward_recomputations": 0},
                   "ops": ops}, f)
    return path


def simulator_verdict(model, path):
    """The simulator's verdict on a schedule file, and its forward
    recomputations when valid."""
    code, out, err = run_remat("simulate", model, path, "--force", "--json")
    if code == 2:  # refused while loading, e.g. a layer out of range
        return verdict(err.replace("remat: error: %s: " % path, "")), None
    report = json.loads(out)
    if report["valid"]:
        return ("ok",), report["simulated"]["forward_recomputations"]
    return verdict(report["error"]), None


def blocks_of(num_layers):
    torch.manual_seed(0)
    return torch.nn.Sequential(*[
        torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())
        for _ in range(num_layers)])


def loss_fn(h):
    return (h * h).sum()


def mutants(ops, rng, count, num_layers):
    """``count`` seeded single-edit variants of ``ops``."""
    out = []
    for _ in range(count):
        m = [dict(op) for op in ops]
        k = rng.randrange(len(m))
        edit = rng.randrange(5)
        if edit == 0:
            del m[k]
        elif edit == 1:
            m.insert(k, dict(m[k]))
        elif edit == 2 and k + 1 < len(m):
            m[k], m[k + 1] = m[k + 1], m[k]
        elif m[k]["op"] != "loss":
            if edit == 3:
                m[k]["op"] = rng.choice(KINDS)
            else:
                m[k]["layer"] = rng.randrange(num_layers + 1)
        out.append(m)
    return out


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class ScheduleRulesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.n = 0

    def tearDown(self):
        self.tmp.cleanup()

    def python_verdict(self, ops, num_layers):
        blocks = blocks_of(num_layers)
        x0 = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))
        with ForwardCounter(blocks) as calls:
            try:
                run_schedule(blocks, ops, x0, loss_fn)
            except ScheduleError as e:
                return verdict(str(e)), None, None
        grads = [p.grad.clone() for p in blocks.parameters()]
        for p in blocks.parameters():
            p.grad = None
        plain_run(blocks, x0, loss_fn)
        same = all(torch.allclose(a, p.grad, rtol=1e-6, atol=1e-7)
                   for a, p in zip(grads, blocks.parameters()))
        return ("ok",), calls.counts, same

    def agree(self, model, ops, num_layers):
        """Checks one op list; returns the simulator's verdict kind."""
        self.n += 1
        path = schedule_file(self.tmp.name, ops, self.n)
        want, recomputations = simulator_verdict(model, path)
        got, counts, same = self.python_verdict(ops, num_layers)
        self.assertNotEqual(want[0], "unexpected", want)
        self.assertEqual(got, want, ops)
        if want == ("ok",):
            fwd = [sum(1 for op in ops if op["op"] in KINDS[:3]
                       and op["layer"] == i) for i in range(num_layers)]
            self.assertEqual(counts, fwd, ops)
            self.assertEqual(sum(counts) - num_layers, recomputations, ops)
            self.assertTrue(same, ops)
        return want[0]

    def test_golden_invalid_schedules(self):
        files = sorted(glob.glob(os.path.join(INVALID, "*.json")))
        self.assertEqual(len(files), 11)
        for path in files:
            with self.subTest(os.path.basename(path)):
                with open(path, encoding="utf-8") as f:
                    ops = json.load(f)["ops"]
                self.assertNotEqual(self.agree(HAND, ops, 3), "ok")

    def test_plans_and_their_mutants(self):
        # Plans of the hand chain (3 stages) and of chain4 (4 stages), then
        # 25 seeded mutants of each; every verdict must occur often.
        rng = random.Random(16)
        seen = {"ok": 0, "op": 0, "incomplete": 0}
        for model, layers in ((HAND, 3), (CHAIN4, 4)):
            for args in (["none"], ["sequential", "--segments", "2"],
                         ["every", "--k", "2"], ["revolve", "--slots", "2"],
                         ["chen"]):
                code, out, err = run_remat("plan", model, "--strategy", *args)
                self.assertEqual(code, 0, err)
                # Without the stage names, which the loader checks against
                # the layers a mutant changes.
                ops = [{k: v for k, v in op.items() if k != "name"}
                       for op in json.loads(out)["ops"]]
                with self.subTest(model=model, plan=args):
                    seen[self.agree(model, ops, layers)] += 1
                    for m in mutants(ops, rng, 25, layers):
                        seen[self.agree(model, m, layers)] += 1
        self.assertGreater(seen["ok"], 20, seen)
        self.assertGreater(seen["op"], 100, seen)
        self.assertGreater(seen["incomplete"], 2, seen)


if __name__ == "__main__":
    unittest.main()
