"""`remat emit --target megatron` against the real megatron-core: the
emitted settings are accepted by megatron-core's own TransformerConfig (its
__post_init__ validates the recompute fields), the Megatron-LM flags spell
the same fields, and a TransformerBlock built with them (on CPU; its forward
needs CUDA buffers, so it is not run) recomputes what the plan says: the MLP
of every layer for a selective plan, nothing else. A model that is not a
transformer stack is reported as not expressible."""

import os
import re
import tempfile
import unittest

from remat_helpers import run_remat, SOURCE_DIR
from trainer_helpers import REMAT_BINARY, emit, write_schedule

try:
    import torch
    import megatron.core
    from megatron.core.transformer.transformer_config import TransformerConfig
except ImportError as e:  # reported as a skip by run_module.py
    megatron = None
    IMPORT_ERROR = str(e)


def flags_to_fields(snippet):
    """The Megatron-LM argument line of the snippet as TransformerConfig
    fields: --recompute-modules mlp moe -> recompute_modules=[mlp, moe]."""
    line = next(l for l in snippet.splitlines() if l.startswith("--"))
    fields, key = {}, None
    for tok in line.split():
        if tok.startswith("--"):
            key = tok[2:].replace("-", "_")
            fields[key] = []
        else:
            fields[key].append(tok)
    out = {}
    for k, v in fields.items():
        v = [int(x) if re.fullmatch(r"\d+", x) else x for x in v]
        out[k] = v if k == "recompute_modules" else v[0]
    return out


def small_config(**recompute):
    return TransformerConfig(num_layers=3, hidden_size=32,
                             num_attention_heads=2,
                             use_cpu_initialization=True, **recompute)


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class MegatronTest(unittest.TestCase):
    def setUp(self):
        if megatron is None:
            self.skipTest("megatron-core does not import: " + IMPORT_ERROR)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def settings(self, segments):
        sched, _ = write_schedule(self.tmp.name, segments)
        doc = emit(sched, "megatron")
        self.assertEqual(doc["target_version"],
                         "megatron-core " + megatron.core.__version__)
        return doc

    def test_selective_mlp_plan(self):
        # h.N.mlp (stages 2, 4, 6) each recomputed from its input, the rest
        # stored: --recompute-granularity selective --recompute-modules mlp,
        # no method, no layer count (remat used to emit full/block here).
        doc = self.settings([(0, 2, False), (2, 3, True), (3, 4, False),
                             (4, 5, True), (5, 6, False), (6, 7, True),
                             (7, 8, False)])
        self.assertTrue(doc["exact"])
        config = doc["plan"]["config"]
        self.assertEqual(config, {"recompute_granularity": "selective",
                                  "recompute_modules": ["mlp"]})
        self.assertEqual(flags_to_fields(doc["plan"]["snippet"]), config)
        tc = small_config(**config)
        self.assertEqual(tc.recompute_modules, ["mlp"])
        self.assertIsNone(tc.recompute_num_layers)
        self.check_block(tc, mlp=True)

    def test_uniform_plan(self):
        # Each layer checkpointed on its own: full, uniform, 1 layer.
        doc = self.settings([(0, 1, False), (1, 3, True), (3, 5, True),
                             (5, 7, True), (7, 8, False)])
        self.assertTrue(doc["exact"])
        config = doc["plan"]["config"]
        self.assertEqual(config, {"recompute_granularity": "full",
                                  "recompute_method": "uniform",
                                  "recompute_num_layers": 1})
        self.assertEqual(flags_to_fields(doc["plan"]["snippet"]), config)
        small_config(**config)

    def check_block(self, tc, mlp):
        """Builds megatron's TransformerBlock (local layer spec) on CPU and
        reads which submodules its layers recompute."""
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29531",
                          RANK="0", WORLD_SIZE="1")
        from megatron.core import parallel_state
        from megatron.core.models.gpt.gpt_layer_specs import (
            get_gpt_layer_local_spec)
        from megatron.core.transformer.transformer_block import (
            TransformerBlock)
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group("gloo", rank=0,
                                                 world_size=1)
        if not parallel_state.model_parallel_is_initialized():
            parallel_state.initialize_model_parallel(1, 1)
        block = TransformerBlock(tc, get_gpt_layer_local_spec())
        self.assertEqual(len(block.layers), 3)
        for layer in block.layers:
            self.assertEqual(layer.recompute_mlp, mlp)
            self.assertFalse(layer.recompute_input_layernorm)
            self.assertFalse(layer.recompute_pre_mlp_layernorm)
            self.assertFalse(layer.self_attention.checkpoint_core_attention)

    def test_resnet_is_not_expressible(self):
        # resnet-1001: stem, bottleneck blocks, head; no transformer layer.
        model = os.path.join(SOURCE_DIR, "data", "models", "resnet-1001.json")
        sched = os.path.join(self.tmp.name, "resnet.json")
        code, _, err = run_remat("plan", model, "--strategy", "sqrt", "-o",
                                 sched)
        self.assertEqual(code, 0, err)
        code, out, err = run_remat("emit", sched, "--target", "megatron",
                                   "--model", model)
        self.assertEqual(code, 0, err)
        self.assertIn("not a transformer stack", out)
        self.assertIn("megatron settings (not expressible)", out)
        self.assertNotIn("exact:    yes", out)
        self.assertNotIn("--recompute", out)


if __name__ == "__main__":
    unittest.main()
