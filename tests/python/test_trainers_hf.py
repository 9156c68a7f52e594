"""`remat emit --target hf` against the real transformers package: the
emitted snippet runs unchanged on GPT-2, Llama, BERT and ViT models built
from small configs (random weights, nothing downloaded); it finds the
model's own layers (their module paths are checked); the layers that run
twice are the ones the schedule recomputes (counted from the op list); the
gradients equal a run without checkpointing."""

import copy
import json
import os
import tempfile
import unittest

from trainer_helpers import (REMAT_BINARY, emit, recomputed_layers,
                             write_schedule)

try:
    import torch
    import transformers
    from transformers.modeling_layers import GradientCheckpointingLayer
except ImportError as e:  # reported as a skip by run_module.py
    transformers = None
    IMPORT_ERROR = str(e)


def models():
    """name -> (model, inputs, the module paths of its 3 layers)."""
    t = transformers
    ids = torch.randint(0, 64, (2, 8))
    small = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                 num_hidden_layers=3)
    return {
        "gpt2": (t.GPT2LMHeadModel(t.GPT2Config(
            n_layer=3, n_embd=32, n_head=2, vocab_size=64, n_positions=16,
            bos_token_id=0, eos_token_id=0)), {"input_ids": ids},
            ["transformer.h.%d" % i for i in range(3)]),
        "llama": (t.LlamaForCausalLM(t.LlamaConfig(
            vocab_size=64, num_key_value_heads=2, bos_token_id=0,
            eos_token_id=0, pad_token_id=0, **small)), {"input_ids": ids},
            ["model.layers.%d" % i for i in range(3)]),
        "bert": (t.BertModel(t.BertConfig(vocab_size=64, **small)),
                 {"input_ids": ids},
                 ["encoder.layer.%d" % i for i in range(3)]),
        # transformers 5.x's ViTModel holds its layers at layers.N (4.x:
        # encoder.layer.N).
        "vit": (t.ViTModel(t.ViTConfig(image_size=16, patch_size=4,
                                       **small)),
                {"pixel_values": torch.randn(2, 3, 16, 16)},
                ["layers.%d" % i for i in range(3)]),
    }


def output_sum(out):
    return (out.logits if hasattr(out, "logits")
            else out.last_hidden_state).sum()


def layer_runs(model, inputs):
    """Runs forward and backward; returns, per layer, how many calls each
    of its submodules started (the layer's own hooks do not fire when
    transformers' checkpoint recomputes its forward), and the gradients."""
    layers = [m for m in model.modules()
              if isinstance(m, GradientCheckpointingLayer)]
    counts = [dict() for _ in layers]
    handles = []
    for i, layer in enumerate(layers):
        for name, sub in layer.named_modules():
            if sub is layer:
                continue

            def hook(mod, args, i=i, name=name):
                counts[i][name] = counts[i].get(name, 0) + 1
            handles.append(sub.register_forward_pre_hook(hook))
    torch.manual_seed(7)
    output_sum(model(**inputs)).backward()
    for h in handles:
        h.remove()
    grads = [p.grad.clone() for p in model.parameters()
             if p.grad is not None]
    return counts, grads


def times_run(counts, plain_counts):
    """How often each layer ran, relative to a plain run: the most calls of
    any of its submodules over that submodule's calls without checkpointing
    (a submodule may run twice per forward, as ViT's dropout does)."""
    return [max(c.get(k, 0) // n for k, n in p.items())
            for c, p in zip(counts, plain_counts)]


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class HfTest(unittest.TestCase):
    def setUp(self):
        if transformers is None:
            self.skipTest("transformers does not import: " + IMPORT_ERROR)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, segments, want_every_n):
        sched, ops = write_schedule(self.tmp.name, segments)
        doc = emit(sched, "hf")
        self.assertTrue(doc["exact"])
        self.assertEqual(doc["target_version"],
                         "transformers " + transformers.__version__)
        self.assertEqual(doc["plan"]["config"]["every_n_layers"],
                         want_every_n)
        want = recomputed_layers(ops)
        self.assertEqual(doc["plan"]["config"]["checkpointed_layers"], want)
        for name, (model, inputs, paths) in models().items():
            with self.subTest(model=name):
                # Dropout off, so that both runs are the same arithmetic and
                # the gradients compare bitwise (RNG replay under
                # checkpointing is torch's, tested in test_apply).
                for mod in model.modules():
                    if isinstance(mod, torch.nn.Dropout):
                        mod.p = 0.0
                model.train()
                plain = copy.deepcopy(model)
                ns = {"model": model}
                exec(doc["plan"]["snippet"], ns)
                own = {id(m): n for n, m in model.named_modules()}
                self.assertEqual([own[id(m)] for m in ns["layers"]], paths)
                counts, grads = layer_runs(model, inputs)
                base, want_grads = layer_runs(plain, inputs)
                self.assertEqual(times_run(counts, base),
                                 [2 if i in want else 1 for i in range(3)])
                self.assertEqual(len(grads), len(want_grads))
                for g, w in zip(grads, want_grads):
                    self.assertTrue(torch.equal(g, w))

    def test_layers_0_and_2_every_n_layers(self):
        # h.0 (stages 1-2) and h.2 (stages 5-6) checkpointed: layers 0 and 2,
        # which is every_n_layers=2 (layer_index % 2 == 0).
        self.check([(0, 1, False), (1, 3, True), (3, 5, False), (5, 7, True),
                    (7, 8, False)], 2)

    def test_layer_1_explicit_set(self):
        # Only h.1 (stages 3-4): no every_n_layers gives it; the snippet sets
        # each layer's gradient_checkpointing flag.
        self.check([(0, 3, False), (3, 5, True), (5, 8, False)], None)


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class HfExportedModelTest(unittest.TestCase):
    """The whole path on an unmodified model: remat_torch exports a
    transformers Llama (stages named by module path: model.embed_tokens,
    model.layers.N, model.norm, lm_head), remat plans it and emits hf; the
    snippet, run on that very model, must find its 6 decoder layers (not
    the 9 stages) and flag each one the plan recomputes."""

    def setUp(self):
        if transformers is None:
            self.skipTest("transformers does not import: " + IMPORT_ERROR)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_snippet_counts_the_models_layers(self):
        from remat_helpers import run_remat
        from remat_torch import discover_chain, export_chain, write_model
        from remat_torch import zoo
        m = zoo.build("llama", layers=6)
        chain = discover_chain(m["model"], m["inputs"], m["loss_fn"])
        path = os.path.join(self.tmp.name, "llama.json")
        write_model(export_chain(chain, "llama", reps=1), path)
        sched = os.path.join(self.tmp.name, "s.json")
        # Recompute every decoder layer, nothing else: what
        # gradient_checkpointing_enable() does.
        code, _, err = run_remat("plan", path, "--strategy", "selective",
                                 "--kinds", "LlamaDecoderLayer", "-o", sched)
        self.assertEqual(code, 0, err)
        code, out, err = run_remat("emit", sched, "--target", "hf",
                                   "--model", path, "--json")
        self.assertEqual(code, 0, err)
        doc = json.loads(out)
        self.assertTrue(doc["exact"], doc.get("not_exact_reason"))
        self.assertEqual(doc["plan"]["config"]["checkpointed_layers"],
                         list(range(6)))
        model = m["model"]
        ns = {"model": model}
        exec(doc["plan"]["snippet"], ns)  # its assert counts the layers
        own = {id(mod): n for n, mod in model.named_modules()}
        self.assertEqual([own[id(mod)] for mod in ns["layers"]],
                         ["model.layers.%d" % i for i in range(6)])
        self.assertTrue(all(mod.gradient_checkpointing
                            for mod in ns["layers"]))


if __name__ == "__main__":
    unittest.main()
