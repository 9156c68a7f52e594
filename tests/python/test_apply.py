"""remat_torch.apply: scheduled runs against plain runs."""

import unittest

import torch

from remat_helpers import (load_example, quadratic_ops, reference_grads,
                           segment_ops)
from remat_torch import (ForwardCounter, ScheduleError, checkpoint_segments,
                         load_plan, plain_run, run_schedule,
                         schedule_forward_counts)
from remat_torch.__main__ import compare_runs

GPT = load_example("gpt")
LAYERS = 4  # transformer blocks; the chain has LAYERS + 2 stages


def store_all(n):
    return segment_ops(n, [(0, n, False)])


class ApplyTest(unittest.TestCase):
    def check(self, ops, expected_counts):
        made = GPT.build(layers=LAYERS, dropout=0.1)
        r = compare_runs(made, ops, seed=3)
        self.assertTrue(r["bit_exact"], r)
        self.assertEqual(r["loss"], r["plain_loss"])
        self.assertEqual(r["forward_calls"], expected_counts)
        self.assertEqual(r["schedule_forward_calls"], expected_counts)

    def test_store_all_runs_every_block_once(self):
        self.check(store_all(LAYERS + 2), [1] * (LAYERS + 2))

    def test_single_level_segments(self):
        # 6 stages: [0,2) stored, [2,5) checkpointed, [5,6) checkpointed;
        # checkpointed stages run twice (forward, then recompute).
        segs = [(0, 2, False), (2, 5, True), (5, 6, True)]
        self.check(segment_ops(6, segs), [1, 1, 2, 2, 2, 2])

    def test_multi_level_recomputation(self):
        # Stage i runs L + 1 - i times with L = 6 (see quadratic_ops).
        self.check(quadratic_ops(6), [7, 6, 5, 4, 3, 2])

    def test_rng_replay_is_what_makes_dropout_match(self):
        # Without replaying the RNG, recomputed dropout masks differ, so the
        # gradients must differ from the plain run.
        made = GPT.build(layers=LAYERS, dropout=0.5)
        blocks, x0, loss_fn = made["blocks"], made["input"], made["loss_fn"]
        ref = reference_grads(blocks, x0, loss_fn, seed=1)
        torch.manual_seed(1)
        run_schedule(blocks, quadratic_ops(6), x0, loss_fn,
                     preserve_rng_state=False)
        same = all(torch.equal(a, p.grad)
                   for a, p in zip(ref, blocks.parameters()))
        self.assertFalse(same)

    def test_checkpoint_segments_wrapper(self):
        made = GPT.build(layers=LAYERS, dropout=0.1)
        blocks, x0, loss_fn = made["blocks"], made["input"], made["loss_fn"]
        ref = reference_grads(blocks, x0, loss_fn, seed=5)
        segs = [{"begin": 0, "end": 1, "checkpointed": False},
                {"begin": 1, "end": 3, "checkpointed": True},
                {"begin": 3, "end": 6, "checkpointed": True}]
        wrapped = checkpoint_segments(blocks, segs)
        torch.manual_seed(5)
        with ForwardCounter(blocks) as calls:
            loss_fn(wrapped(x0)).backward()
        self.assertEqual(calls.counts, [1, 2, 2, 2, 2, 2])
        for a, p in zip(ref, blocks.parameters()):
            self.assertTrue(torch.allclose(a, p.grad, rtol=1e-5, atol=1e-7))

    def test_input_grad_off_skips_the_first_blocks_input_gradient(self):
        # A float input: by default B_0 makes y_0 (the input's gradient);
        # with input_grad=False the first block's backward gets no input
        # gradient to compute (its full backward hook sees grad_input None)
        # and every parameter gradient is unchanged.
        torch.manual_seed(0)
        blocks = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                     torch.nn.Linear(8, 4))
        x0 = torch.randn(3, 8)

        def loss_fn(y):
            return (y * y).sum()
        ref = reference_grads(blocks, x0, loss_fn, seed=0)
        _, ref_x = plain_run(blocks, x0, loss_fn)
        for p in blocks.parameters():
            p.grad = None
        seen = []
        blocks[0].register_full_backward_hook(
            lambda m, gin, gout: seen.append(gin[0] is not None))
        for input_grad, ops in [(True, store_all(3)), (False, store_all(3)),
                                (False, quadratic_ops(3))]:
            seen.clear()
            _, gx = run_schedule(blocks, ops, x0, loss_fn,
                                 input_grad=input_grad)
            self.assertEqual(seen[-1], input_grad)
            if input_grad:
                self.assertTrue(torch.allclose(gx, ref_x))
            else:
                self.assertIsNone(gx)
            for a, p in zip(ref, blocks.parameters()):
                self.assertTrue(torch.allclose(a, p.grad, rtol=1e-6,
                                               atol=1e-7))
                p.grad = None

    def test_missing_tensor_is_reported(self):
        made = GPT.build(layers=LAYERS)
        ops = [{"op": "F_n", "layer": 0}, {"op": "F_all", "layer": 0}]
        with self.assertRaisesRegex(ScheduleError, "x_0 is not resident"):
            run_schedule(made["blocks"], ops, made["input"], made["loss_fn"])

    def test_incomplete_schedule_is_reported(self):
        made = GPT.build(layers=LAYERS)
        ops = store_all(LAYERS + 2)[:-1]  # no B for stage 0
        with self.assertRaisesRegex(ScheduleError, "incomplete"):
            run_schedule(made["blocks"], ops, made["input"], made["loss_fn"])

    def test_load_plan_rejects_graph_and_unknown(self):
        with self.assertRaisesRegex(ScheduleError, "chain"):
            load_plan({"format": "remat-schedule",
                       "ops": [{"op": "compute", "node": "a"}]})
        with self.assertRaisesRegex(ScheduleError, "format"):
            load_plan({"format": "x", "ops": []})

    def test_schedule_forward_counts(self):
        ops = segment_ops(3, [(0, 1, False), (1, 3, True)])
        self.assertEqual(schedule_forward_counts(ops, 3), [1, 2, 2])


class _View(torch.nn.Module):
    def forward(self, x):
        return x.view(x.shape)  # shares x's storage, saves nothing


class FreesInputTest(unittest.TestCase):
    """The executor frees x_L's share of x̄_L once the loss has run when the
    last stage's backward does not read its output (spec 3a frees_input),
    and keeps it when it does; gradients equal the plain step's."""

    def _run(self, head, ops, loss_fn=None):
        from remat_torch.apply import _Interpreter, plain_run
        torch.manual_seed(0)
        blocks = [torch.nn.Linear(16, 16), head]
        x0 = torch.randn(4, 16)
        target = torch.zeros(4, dtype=torch.long)

        def cross_entropy(y):
            return torch.nn.functional.cross_entropy(y, target)
        loss_fn = loss_fn or cross_entropy
        run = _Interpreter(blocks, x0, loss_fn, True)
        sizes = []
        for k, op in enumerate(ops):
            {"loss": run.loss_op, "B": run.backward}.get(
                op["op"], run.forward)(k, op)
            if op["op"] == "loss" or (op["op"] == "F_all" and
                                      op["layer"] == 1):
                if 2 in run.bar:
                    sizes.append(run.bar[2][1].untyped_storage().nbytes())
        ref = plain_run(blocks, x0, loss_fn)[1]
        torch.testing.assert_close(run.grads[0], ref)
        return sizes

    def test_linear_head(self):
        # Logits 4 x 32 floats = 512 bytes, held until the loss, then gone.
        ops = [{"op": "F_all", "layer": 0}, {"op": "F_all", "layer": 1},
               {"op": "loss"}, {"op": "B", "layer": 1},
               {"op": "B", "layer": 0}]
        self.assertEqual(self._run(torch.nn.Linear(16, 32), ops), [512, 0])
        # Recorded after the loss: freed at once.
        ops = [{"op": "F_ck", "layer": 0}, {"op": "F_ck", "layer": 1},
               {"op": "loss"}, {"op": "F_all", "layer": 1},
               {"op": "B", "layer": 1}, {"op": "F_all", "layer": 0},
               {"op": "B", "layer": 0}]
        self.assertEqual(self._run(torch.nn.Linear(16, 32), ops), [0])

    def test_kept_when_read_later(self):
        # A loss that saves its input (pow), and a head whose output is a
        # view of its input (x_1's storage, which B 0 reads): nothing is
        # freed early, and the gradients stay equal (they would not if the
        # storage went).
        store_all = [{"op": "F_all", "layer": 0}, {"op": "F_all", "layer": 1},
                     {"op": "loss"}, {"op": "B", "layer": 1},
                     {"op": "B", "layer": 0}]
        self.assertEqual(self._run(torch.nn.Linear(16, 32), store_all,
                                   lambda y: y.pow(2).sum()), [512, 512])
        self.assertEqual(self._run(_View(), store_all), [256, 256])
        plain = [{"op": "F_ck", "layer": 0}, {"op": "F_ck", "layer": 1},
                 {"op": "loss"}, {"op": "F_all", "layer": 1},
                 {"op": "B", "layer": 1}, {"op": "F_all", "layer": 0},
                 {"op": "B", "layer": 0}]
        self.assertEqual(self._run(_View(), plain), [256])

    def test_head_that_saves_its_output(self):
        # 4 x 16 floats = 256 bytes, which sigmoid's backward reads.
        ops = [{"op": "F_all", "layer": 0}, {"op": "F_all", "layer": 1},
               {"op": "loss"}, {"op": "B", "layer": 1},
               {"op": "B", "layer": 0}]
        self.assertEqual(self._run(torch.nn.Sigmoid(), ops), [256, 256])


if __name__ == "__main__":
    unittest.main()
