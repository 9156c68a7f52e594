"""Full-size costs without memory (remat_torch.fullsize, on the meta
device) against hand-derived byte counts, (the fidelity meter's
tests are in test_memtimeline.py)."""

import json
import os
import tempfile
import unittest

import torch

from remat_helpers import REMAT_BINARY, run_remat
from remat_torch import fullsize, write_model

torch.set_num_threads(1)


class MetaExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A small Llama on the meta device: s 32, b 2, h 64, a 4 heads (as
        # many kv heads), f 128, 2 layers, vocab 100, bf16.
        cls.s, cls.b, cls.h, cls.a, cls.f = 32, 2, 64, 4, 128
        made = fullsize.llama7b(seq=cls.s, batch=cls.b, hidden_size=cls.h,
                                intermediate_size=cls.f,
                                num_attention_heads=cls.a,
                                num_key_value_heads=cls.a,
                                num_hidden_layers=2, vocab_size=100)
        cls.doc = fullsize.export_meta(made, "llama-meta")

    def test_names_and_output_bytes(self):
        names = [l["name"] for l in self.doc["layers"]]
        self.assertEqual(names, ["model.embed_tokens", "model.layers.0",
                                 "model.layers.1", "model.norm", "lm_head"])
        s, b, h = self.s, self.b, self.h
        # bf16 hidden states 2sbh; logits 2sbV with V = 100.
        self.assertEqual([l["output_bytes"] for l in self.doc["layers"]],
                         [2 * s * b * h] * 4 + [2 * s * b * 100])

    def test_decoder_layer_saved_bytes(self):
        s, b, h, a, f = self.s, self.b, self.h, self.a, self.f
        # transformers' LlamaRMSNorm upcasts: it saves the fp32 input (4sbh),
        # 1/rms (4sb), the bf16 normalised tensor (2sbh) and its output
        # (2sbh), twice per layer: 2(8sbh + 4sb). Attention: Q and K after
        # RoPE and V (6sbh), the flash kernel's fp32 logsumexp (4asb), its
        # output O = o_proj's input (2sbh). MLP: gate and up outputs, SiLU
        # output, product (8sbf). The layer output 2sbh. Total 26sbh + 8sbf
        # + 8sb + 4asb.
        expect = 26 * s * b * h + 8 * s * b * f + 8 * s * b + 4 * a * s * b
        layer = self.doc["layers"][1]
        self.assertEqual(layer["saved_bytes"], expect)

    def test_times_from_flops(self):
        s, b, h, f = self.s, self.b, self.h, self.f
        # Forward FLOPs of a layer: q, k, v, o projections 4 * 2sbh^2, MLP
        # 3 * 2sbhf, attention scores and values 2 * 2 s^2 b h (the flash
        # kernel's count, causal or not); at 300 TFLOP/s = 3e11 FLOP per ms.
        flops = 8 * s * b * h * h + 6 * s * b * h * f + 4 * s * s * b * h
        self.assertAlmostEqual(self.doc["layers"][1]["fwd_time"],
                               flops / 3e11, places=9)


class MetaUNetTest(unittest.TestCase):
    def test_sd21_blocks_at_latent_8(self):
        # SD 2.1's U-Net on the meta device at 8x8 latents, batch 1, bf16.
        made = fullsize.sd21_unet(latent=8, batch=1)
        doc = fullsize.export_meta_graph(made, "sd21-8")
        nodes = {n["name"]: n for n in doc["graph"]["nodes"]}
        # conv_in's output: 320 channels x 8 x 8, 2 bytes = 40960; the
        # final SiLU keeps its output, the same shape.
        self.assertEqual(nodes["conv_in"]["bytes"], 320 * 64 * 2)
        self.assertEqual(nodes["conv_act"]["bytes"], 320 * 64 * 2)
        # Skip connections: up_blocks.3 (the last level) reads conv_in's
        # output and the two outputs of down_blocks.0's resnet+attention
        # pairs.
        self.assertIn("conv_in", nodes["up_blocks.3"]["inputs"])
        self.assertIn("down_blocks.0", nodes["up_blocks.3"]["inputs"])
        # conv_in: 2 x (4 x 9) x 320 FLOPs per output position (64 of
        # them) = 1474560 FLOPs at 3e11 per ms.
        self.assertAlmostEqual(nodes["conv_in"]["time"],
                               2 * 36 * 320 * 64 / 3e11, places=12)
        if REMAT_BINARY:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "sd.json")
                write_model(doc, path)
                code, _, err = run_remat("inspect", path)
                self.assertEqual(code, 0, err)


class OpGraphTest(unittest.TestCase):
    def test_gpt2_operators(self):
        from remat_torch import zoo
        from remat_torch.opgraph import export_ops
        m = zoo.build("gpt2")
        doc = export_ops(m["model"], m["inputs"], "gpt2-ops")
        nodes = {n["name"]: n for n in doc["graph"]["nodes"]}
        # The token embedding: 2 x 16 tokens x width 32, fp32 = 4096 bytes.
        self.assertEqual(nodes["embedding"]["bytes"], 4096)
        # The first c_attn projection (addmm): 32 rows x 32 in x 96 out,
        # 2 * 32 * 32 * 96 = 196608 FLOPs at 3e11 FLOP per ms.
        self.assertAlmostEqual(nodes["addmm"]["time"], 196608 / 3e11,
                               places=12)
        # A view aliases its input: no bytes of its own.
        self.assertEqual(nodes["view"]["bytes"], 0)
        self.assertEqual(nodes["loss"]["phase"], "loss")
        if REMAT_BINARY:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "ops.json")
                write_model(doc, path)
                code, _, err = run_remat("plan", path, "--strategy", "none")
                self.assertEqual(code, 0, err)


    def test_cli_falls_back_to_operators(self):
        # A model without a layer stack: export-model writes the op graph.
        from remat_torch.__main__ import main
        factory = (
            "import torch\nfrom torch import nn\n"
            "class Odd(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)\n"
            "    def forward(self, x):\n"
            "        return self.b(torch.relu(self.a(x))) + x\n"
            "def build():\n"
            "    return {'model': Odd(), 'inputs': {'x': torch.ones(4, 8)},\n"
            "            'loss_fn': lambda y: y.pow(2).mean()}\n")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "odd.py")
            with open(path, "w", encoding="utf-8") as f:
                f.write(factory)
            out = os.path.join(tmp, "odd.json")
            self.assertEqual(main(["export-model", "--factory",
                                   path + ":build", "-o", out]), 0)
            with open(out, encoding="utf-8") as f:
                nodes = json.load(f)["graph"]["nodes"]
        # linear, relu, linear, add; then the loss. Each output is 4 x 8
        # fp32 = 128 bytes.
        self.assertEqual([n["kind"] for n in nodes],
                         ["linear", "relu", "linear", "add", "loss"])
        self.assertEqual([n["bytes"] for n in nodes[:4]], [128] * 4)


if __name__ == "__main__":
    unittest.main()
