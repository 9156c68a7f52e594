"""`remat emit --target torchtitan` against the real torchtitan: the emitted
setting is a value of torchtitan's current config interface (the
Trainer.Config field activation_checkpoint: FullAC.Config() or None; the
TOML [activation_checkpoint] mode/selective_ac_option form is gone), and the
policy it builds, applied to a model's `layers`, recomputes each block once
(counted) with gradients equal to a plain run. A plan that checkpoints some
layers only is not expressible: torchtitan's selective mode is per-op."""

import copy
import tempfile
import unittest

from trainer_helpers import REMAT_BINARY, emit, write_schedule

try:
    import torch
    import torchtitan
    from torchtitan.distributed.activation_checkpoint import FullAC
    from torchtitan.trainer import Trainer
except ImportError as e:  # reported as a skip by run_module.py
    torchtitan = None
    IMPORT_ERROR = str(e)


def titan_version():
    from importlib.metadata import version
    return version("torchtitan")


class TinyModel(torch.nn.Module if torchtitan else object):
    """A model with torchtitan's shape: blocks in model.layers."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.layers = torch.nn.ModuleDict({
            str(i): torch.nn.Sequential(torch.nn.Linear(8, 8),
                                        torch.nn.Tanh())
            for i in range(3)})

    def forward(self, x):
        for block in self.layers.values():
            x = block(x)
        return x


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class TorchTitanTest(unittest.TestCase):
    def setUp(self):
        if torchtitan is None:
            self.skipTest("torchtitan does not import: " + IMPORT_ERROR)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_full_ac(self):
        # Every layer (h.0, h.1, h.2) checkpointed on its own: FullAC.
        sched, _ = write_schedule(self.tmp.name, [
            (0, 1, False), (1, 3, True), (3, 5, True), (5, 7, True),
            (7, 8, False)])
        doc = emit(sched, "torchtitan")
        self.assertEqual(doc["target_version"],
                         "torchtitan " + titan_version())
        self.assertTrue(doc["exact"])
        snippet = doc["plan"]["snippet"]
        self.assertNotIn("selective_ac_option", snippet)
        ns = {}
        exec(snippet, ns)
        config = Trainer.Config(activation_checkpoint=ns[
            "activation_checkpoint"])
        self.assertIsInstance(config.activation_checkpoint, FullAC.Config)
        model = TinyModel()
        plain = copy.deepcopy(model)
        config.activation_checkpoint.build().apply(model)
        counts = [0, 0, 0]
        # Hooks on each block's Linear: the CheckpointWrapper's own hooks
        # fire once, the wrapped block's modules run again in the backward.
        for i, block in enumerate(model.layers.values()):
            self.assertEqual(type(block).__name__, "CheckpointWrapper")
            linear = next(m for m in block.modules()
                          if isinstance(m, torch.nn.Linear))
            linear.register_forward_pre_hook(
                lambda m, a, i=i: counts.__setitem__(i, counts[i] + 1))
        x = torch.randn(4, 8, requires_grad=True)
        model(x).sum().backward()
        plain(x.detach()).sum().backward()
        # Each block: its forward, then its recomputation (FullAC runs the
        # wrapped block again, early_stop=False).
        self.assertEqual(counts, [2, 2, 2])
        got = [p.grad for p in model.parameters()]
        want = [p.grad for p in plain.parameters()]
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertTrue(torch.equal(g, w))

    def test_none(self):
        sched, _ = write_schedule(self.tmp.name, [(0, 8, False)])
        doc = emit(sched, "torchtitan")
        self.assertTrue(doc["exact"])
        ns = {}
        exec(doc["plan"]["snippet"], ns)
        self.assertIsNone(Trainer.Config(
            activation_checkpoint=ns["activation_checkpoint"])
            .activation_checkpoint)

    def test_some_layers_not_expressible(self):
        # Only h.1: torchtitan 0.3.0 has no per-layer or every-N option.
        sched, _ = write_schedule(self.tmp.name, [
            (0, 3, False), (3, 5, True), (5, 8, False)])
        doc = emit(sched, "torchtitan")
        self.assertFalse(doc["exact"])
        self.assertIn("FullAC", doc["not_exact_reason"])
        self.assertIn(doc["plan"]["config"]["mode"], ("none", "full"))
        self.assertIsNotNone(doc["nearest"]["cost"])


if __name__ == "__main__":
    unittest.main()
