"""remat as torch.compile's partitioner (remat_torch.partitioner, issue 15).

A 2-layer GPT-2 (transformers, random weights) trains for three SGD steps
under ``torch.compile(backend=remat_backend(budget=BYTES))`` on CPU. The
checks use the real packages as the reference:

- losses and every parameter gradient equal an eager copy's (float32,
  compile tolerance);
- the values the compiled forward returns for the backward, and the
  backward's inputs, are exactly the realised saved set, which the test
  recomputes from the schedule by its own replay (groups resident when the
  loss runs and read by a later compute);
- when the realised plan is the plan's own saved set (variant 0), that set
  is the plan's (from the planner's ops); planned with
  ``--recompute-once-in-backward`` (the default), the realised schedule is
  the planner's own ops, so its simulated peak is the planned one;
- the budget binds: the plan recomputes something, and remat's simulation of
  the realised schedule is within the byte budget.

Negative check: a budget below the least feasible one fails the compile with
RematBudgetError, naming a least budget above the one asked for.
"""

import copy
import os
import unittest

import remat_helpers  # noqa: F401 - sets up paths like the other tests

try:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    HAVE = True
except ImportError:  # pragma: no cover
    HAVE = False

BUDGET_BYTES = 480_000  # store-all of the lowered graph: 602,368 B; least 336,384 B


def _model():
    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=256,
                     n_positions=64, resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(cfg)


class _Step(torch.nn.Module if HAVE else object):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        logits = self.model(input_ids=ids).logits
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1),
                                                 ids.flatten())


def _resident_at_loss_and_read_later(ops, inputs):
    """The test's own replay of a graph-dialect schedule."""
    resident, at = set(), None
    for i, op in enumerate(ops):
        if op["op"] == "compute":
            resident.add(op["node"])
            if op["node"] == "loss":
                at = i
                break
        else:
            resident.discard(op["node"])
    # Read after the loss before any recomputation of it: the value kept
    # from the forward.
    later, recomputed = set(), set()
    for op in ops[at + 1:]:
        if op["op"] == "compute":
            later.update(i for i in inputs.get(op["node"], [])
                         if i not in recomputed)
            recomputed.add(op["node"])
    return {n for n in resident if n in later and n != "loss"}


@unittest.skipUnless(HAVE, "torch/transformers not installed")
class PartitionerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from remat_torch import remat_backend
        cls.files = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                 f"remat-partitioner-test-{os.getpid()}")
        torch._dynamo.reset()
        cls.eager = _Step(_model())
        cls.compiled_model = copy.deepcopy(cls.eager)
        cls.backend = remat_backend(BUDGET_BYTES, keep_files=cls.files)
        cls.compiled = torch.compile(cls.compiled_model, backend=cls.backend,
                                     fullgraph=True)
        torch.manual_seed(1)
        cls.batches = [torch.randint(0, 256, (2, 32)) for _ in range(3)]
        cls.losses, cls.grads = [], []
        for step in (cls.eager, cls.compiled):
            opt = torch.optim.SGD(step.parameters(), lr=0.1)
            losses, grads = [], []
            for ids in cls.batches:
                opt.zero_grad(set_to_none=True)
                loss = step(ids)
                loss.backward()
                losses.append(loss.item())
                grads.append([p.grad.clone() for p in step.parameters()])
                opt.step()
            cls.losses.append(losses)
            cls.grads.append(grads)

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.files, ignore_errors=True)
        torch._dynamo.reset()

    def test_losses_and_gradients_equal_eager(self):
        for a, b in zip(*self.losses):
            self.assertAlmostEqual(a, b, delta=1e-4 * max(1.0, abs(a)))
        for ga, gb in zip(*self.grads):
            for a, b in zip(ga, gb):
                torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-5)
        # Training moved: the third loss differs from the first.
        self.assertNotAlmostEqual(self.losses[0][0], self.losses[0][2],
                                  places=4)

    def test_one_graph_partitioned_under_the_byte_budget(self):
        reports = self.backend.partitioner.reports
        self.assertEqual(len(reports), 1)
        r = reports[0]
        self.assertEqual(r.budget_bytes, BUDGET_BYTES)
        self.assertLess(BUDGET_BYTES, r.store_all_peak)
        self.assertLessEqual(r.realised_peak, BUDGET_BYTES, r.notes)
        # The budget binds, so something is recomputed in the backward.
        self.assertGreater(len(r.recomputed_groups), 0)

    def test_saved_values_are_the_planned_ones(self):
        r = self.backend.partitioner.reports[0]
        fw, bw = self.backend.partitioner.graphs[0]
        (fw_out,) = [n for n in fw.graph.nodes if n.op == "output"]
        returned = [a.name for a in fw_out.args[0][1:]
                    if isinstance(a, torch.fx.Node)]  # [0] is the loss
        bw_inputs = [n.name for n in bw.graph.nodes if n.op == "placeholder"
                     and not n.name.startswith("tangents")]
        self.assertEqual(sorted(returned), sorted(r.saved_values))
        self.assertEqual(sorted(bw_inputs), sorted(r.saved_values))
        with open(os.path.join(r.workdir, "joint0.json")) as f:
            import json
            nodes = json.load(f)["graph"]["nodes"]
        inputs = {n["name"]: n["inputs"] for n in nodes}
        expected = _resident_at_loss_and_read_later(r.realised_ops, inputs)
        saved_groups = {r.group_of[n] for n in r.saved_values
                        if not n.startswith("primals")}
        self.assertEqual(saved_groups, expected)
        if r.variant == 0:
            # The plan's saved set, less what PyTorch's extraction dropped
            # because its backward recomputes it from graph inputs.
            planned = _resident_at_loss_and_read_later(r.plan_ops, inputs)
            self.assertEqual(saved_groups, planned - set(r.dropped_groups))
            self.assertLessEqual(set(r.dropped_groups), planned)
        if not r.dropped_groups:
            # The split's class: what runs is what was planned.
            self.assertEqual(r.realised_ops, r.plan_ops)
            self.assertEqual(r.realised_peak, r.planned_peak)
        # Every saved activation is an output of its group's FX nodes.
        self.assertTrue(all(n in r.group_of for n in r.saved_values
                            if not n.startswith("primals")))

    def test_too_small_budget_names_the_least(self):
        from remat_torch.partitioner import RematBudgetError, remat_backend
        torch._dynamo.reset()
        step = _Step(_model())
        backend = remat_backend(1000)
        compiled = torch.compile(step, backend=backend, fullgraph=True)
        with self.assertRaises(Exception) as ctx:
            compiled(self.batches[0])
        err = ctx.exception
        while err is not None and not isinstance(err, RematBudgetError):
            err = err.__cause__ or err.__context__
        self.assertIsInstance(err, RematBudgetError)
        self.assertIn("smallest feasible budget", str(err))
        self.assertGreater(err.least_bytes, 1000)
        torch._dynamo.reset()


if __name__ == "__main__":
    unittest.main()
