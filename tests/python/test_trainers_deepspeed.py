"""`remat emit --target deepspeed` against the real DeepSpeed on CPU: the
emitted PipelineModule arguments build a one-stage pipeline over one entry
per remat stage (embedding and head included, as DeepSpeed chunks them),
each stage runs as often as the schedule says (counted from its op list),
the embedding gets its gradient and all gradients equal a plain run; the
ds_config section goes through DeepSpeed's own parsers."""

import importlib
import json
import os
import tempfile
import unittest

from trainer_helpers import (REMAT_BINARY, emit, forward_counts,
                             write_schedule)

try:
    import torch
    import deepspeed
    from deepspeed.runtime.activation_checkpointing.config import (
        DeepSpeedActivationCheckpointingConfig)
    from deepspeed.runtime.config import get_pipeline_config
except ImportError as e:  # reported as a skip by run_module.py
    deepspeed = None
    IMPORT_ERROR = str(e)

# tests/data/emit_layers.json's stage kinds; the test's layer classes are
# named after them, so checkpointable_layers (remat kinds) are class names.
KINDS = ["embedding", "attention", "mlp", "attention", "mlp", "attention",
         "mlp", "linear"]


def make_layers():
    """One module per stage: an embedding (ids -> vectors), then
    Linear+tanh blocks whose classes are named after the stage kinds."""
    torch.manual_seed(3)
    classes = {}
    layers = []
    for kind in KINDS:
        if kind == "embedding":
            layers.append(type("embedding", (torch.nn.Embedding,), {})(16, 8))
            continue
        if kind not in classes:
            classes[kind] = type(kind, (torch.nn.Module,), {
                "__init__": lambda self: (torch.nn.Module.__init__(self),
                                          setattr(self, "lin",
                                                  torch.nn.Linear(8, 8)))[0],
                "forward": lambda self, x: torch.tanh(self.lin(x))})
        layers.append(classes[kind]())
    return layers


def counted(layers):
    counts = [0] * len(layers)
    handles = [m.register_forward_pre_hook(
        lambda mod, args, i=i: counts.__setitem__(i, counts[i] + 1))
        for i, m in enumerate(layers)]
    return counts, handles


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class DeepSpeedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if deepspeed is None:
            return
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29532",
                          RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
        # On CPU, DeepSpeed's communication backend JIT-compiles a
        # shared-memory allreduce op (about 100 s on 2 cores) that a
        # one-process run never calls: not built here.
        importlib.import_module("deepspeed.comm.torch").build_shm_op = (
            lambda: None)
        deepspeed.init_distributed(dist_backend="gloo",
                                   auto_mpi_discovery=False)

    def setUp(self):
        if deepspeed is None:
            self.skipTest("deepspeed does not import: " + IMPORT_ERROR)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def run_plan(self, segments, interval, classes):
        sched, ops = write_schedule(self.tmp.name, segments)
        doc = emit(sched, "deepspeed")
        self.assertEqual(doc["target_version"],
                         "deepspeed " + deepspeed.__version__)
        self.assertTrue(doc["exact"])
        config = doc["plan"]["config"]
        self.assertEqual(config["activation_checkpoint_interval"], interval)
        self.assertEqual(config["checkpointable_layers"], classes)
        # The ds_config section through DeepSpeed's parsers.
        ds = config["ds_config"]
        act = DeepSpeedActivationCheckpointingConfig(ds)
        self.assertFalse(act.cpu_checkpointing)
        self.assertFalse(act.partition_activations)
        # The offload variant, merged into the same ds_config, through the
        # same parser: only cpu_checkpointing changes.
        off = config.get("offload")
        self.assertEqual(off is not None, interval > 0)
        if off:
            merged = json.loads(json.dumps(ds))
            merged["activation_checkpointing"].update(
                off["ds_config"]["activation_checkpointing"])
            act_off = DeepSpeedActivationCheckpointingConfig(merged)
            self.assertTrue(act_off.cpu_checkpointing)
            self.assertFalse(act_off.partition_activations)
            self.assertFalse(off["simulated"])
        pipe = get_pipeline_config(ds)
        self.assertEqual(pipe["activation_checkpoint_interval"], interval)
        self.assertIs(pipe["use_reentrant"], False)
        # The snippet, run as it is on one pipeline stage.
        layers = make_layers()
        ns = {"layers": layers, "num_stages": 1}
        exec(doc["plan"]["snippet"], ns)
        model = ns["model"]
        # DeepSpeed's PipelineEngine (deepspeed.initialize) computes which
        # chunks are checkpointable before the first forward; without the
        # engine PipelineModule.forward runs no chunk at all. Its public
        # set_checkpoint_interval does the same computation.
        model.set_checkpoint_interval(
            get_pipeline_config(ds)["activation_checkpoint_interval"])
        plain = make_layers()
        ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
        counts, handles = counted(layers)
        model(ids).sum().backward()
        for h in handles:
            h.remove()
        y = ids
        for m in plain:
            y = m(y)
        y.sum().backward()
        self.assertEqual(counts, forward_counts(ops))
        self.assertIsNotNone(layers[0].weight.grad)
        for a, b in zip(layers, plain):
            for p, q in zip(a.parameters(), b.parameters()):
                self.assertTrue(torch.equal(p.grad, q.grad))
        return counts

    def test_interval_2_transformer_classes(self):
        # Chunks range(0, 8, 2): [0,2) embed+h.0.attn, [2,4), [4,6),
        # [6,8) h.2.mlp+head. checkpointable_layers = the transformer
        # stages' classes (attention, mlp): the chunks holding embedding or
        # linear are not checkpointed.
        counts = self.run_plan([(0, 2, False), (2, 4, True), (4, 6, True),
                                (6, 8, False)], 2, ["attention", "mlp"])
        self.assertEqual(counts, [1, 1, 2, 2, 2, 2, 1, 1])

    def test_every_stage_with_embedding(self):
        # Interval 1, every chunk checkpointed, the embedding too (None):
        # with non_reentrant_checkpoint the embedding still gets its
        # gradient (DeepSpeed issue #688 is the reentrant checkpoint's).
        counts = self.run_plan([(i, i + 1, True) for i in range(8)], 1, None)
        self.assertEqual(counts, [2] * 8)


if __name__ == "__main__":
    unittest.main()
