"""`remat emit --target pytorch` on torch 2.x: the emitted single-level code
(torch.utils.checkpoint.checkpoint, use_reentrant=False), its
checkpoint_sequential form and its selective-activation-checkpointing policy
run unchanged; each block runs as often as the schedule computes it
(counted from the op list) and the gradients equal a plain run, bitwise."""

import json
import os
import tempfile
import unittest

from remat_helpers import run_remat
from trainer_helpers import (LAYERS_MODEL, REMAT_BINARY, STAGES, emit,
                             forward_counts, write_schedule)

import torch

# Executions of each block's first op, a custom op: under selective
# checkpointing an op whose policy is MUST_SAVE is served from SAC's cache
# in the recomputation, one with PREFER_RECOMPUTE runs again.
TICKS = {}


@torch.library.custom_op("remat_test::tick", mutates_args=())
def tick(x: torch.Tensor, i: int) -> torch.Tensor:
    TICKS[i] = TICKS.get(i, 0) + 1
    return x.clone()


@tick.register_fake
def _(x, i):
    return torch.empty_like(x)


tick.register_autograd(lambda ctx, grad: (grad, None))


class TickBlock(torch.nn.Module):
    def __init__(self, i):
        super().__init__()
        self.i = i
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, x):
        return torch.tanh(self.lin(tick(x, self.i)))


def make_blocks():
    torch.manual_seed(11)
    return [torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh())
            for _ in STAGES]


def run(forward, blocks):
    """Forward calls started per block, and the gradients."""
    counts = [0] * len(blocks)
    handles = [b.register_forward_pre_hook(
        lambda m, a, i=i: counts.__setitem__(i, counts[i] + 1))
        for i, b in enumerate(blocks)]
    torch.manual_seed(2)
    x = torch.randn(4, 8)
    forward(x).sum().backward()
    for h in handles:
        h.remove()
    return counts, [p.grad for b in blocks for p in b.parameters()]


def plain_grads():
    blocks = make_blocks()

    def forward(x):
        for b in blocks:
            x = b(x)
        return x
    return run(forward, blocks)[1]


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class PyTorchTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def check_code(self, segments):
        sched, ops = write_schedule(self.tmp.name, segments)
        doc = emit(sched, "pytorch")
        self.assertEqual(doc["target_version"],
                         "torch " + torch.__version__.split("+")[0])
        code = doc["torch_plan"]["torch_checkpoint"]["code"]
        blocks = make_blocks()
        ns = {"blocks": blocks}
        exec(code, ns)
        counts, grads = run(ns["forward"], blocks)
        self.assertEqual(counts, forward_counts(ops))
        for g, w in zip(grads, plain_grads()):
            self.assertTrue(torch.equal(g, w))
        return doc, code, ops

    def test_segments(self):
        # 0 stored, [1,3) checkpointed, [3,5) stored, [5,8) checkpointed.
        self.check_code([(0, 1, False), (1, 3, True), (3, 5, False),
                         (5, 8, True)])

    def test_checkpoint_sequential(self):
        # checkpoint_sequential(blocks, 2): floor(8/2) = 4-block segments,
        # the first checkpointed, the last (remainder) run plainly.
        doc, code, ops = self.check_code([(0, 4, True), (4, 8, False)])
        self.assertEqual(
            doc["torch_plan"]["torch_checkpoint"]["checkpoint_sequential"],
            {"segments": 2})
        line = next(l for l in code.splitlines()
                    if "checkpoint_sequential(" in l)
        call = line.lstrip("# ")
        blocks = make_blocks()
        counts, grads = run(lambda x: eval(call, {
            "torch": torch, "blocks": torch.nn.Sequential(*blocks),
            "x": x}), blocks)
        self.assertEqual(counts, forward_counts(ops))
        for g, w in zip(grads, plain_grads()):
            self.assertTrue(torch.equal(g, w))

    def test_selective_ac_policy(self):
        # selective --kinds mlp: each h.N.mlp recomputed, the rest stored.
        # The SAC code checkpoints layers h.N (attn + mlp) with a policy
        # that recomputes the mlp block's ops and saves the attn block's.
        sched = os.path.join(self.tmp.name, "sel.json")
        code, _, err = run_remat("plan", LAYERS_MODEL, "--strategy",
                                 "selective", "--kinds", "mlp", "-o", sched)
        self.assertEqual(code, 0, err)
        with open(sched, encoding="utf-8") as f:
            ops = json.load(f)["ops"]
        sac = emit(sched, "pytorch")["torch_plan"]["selective_ac"]
        self.assertTrue(sac["exact"])
        ns = {}
        exec(sac["code"], ns)
        torch.manual_seed(4)
        blocks = [TickBlock(i) for i in range(len(STAGES))]
        ns["blocks"] = blocks
        ns["track_blocks"](list(zip(STAGES, blocks)))
        TICKS.clear()
        x = torch.randn(4, 8)
        ns["forward"](x).sum().backward()
        self.assertEqual([TICKS[i] for i in range(len(STAGES))],
                         forward_counts(ops))
        got = [p.grad.clone() for b in blocks for p in b.parameters()]
        for b in blocks:
            b.zero_grad(set_to_none=True)
        y = x
        for b in blocks:
            y = b(y)
        y.sum().backward()
        for g, b in zip(got, [p.grad for b in blocks
                              for p in b.parameters()]):
            self.assertTrue(torch.equal(g, b))


if __name__ == "__main__":
    unittest.main()
