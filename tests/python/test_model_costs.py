"""Full-size costs without memory (remat_torch.fullsize, on the meta
device) against hand-derived byte counts, and the fidelity meter
(remat_torch.fidelity.profiled_peak, PyTorch's memory timeline) against
allocations of known size."""

import json
import os
import tempfile
import unittest

import torch

from remat_helpers import REMAT_BINARY, run_remat
from remat_torch import fullsize, write_model
from remat_torch.fidelity import profiled_peak

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


class ProfiledPeakTest(unittest.TestCase):
    def test_known_allocations(self):
        n = 256 * 1024  # 1 MiB of float32

        def step():
            x = torch.ones(n)   # 1 MiB
            y = x * 2           # 1 MiB more: peak 2 MiB
            del x
            return y.sum()      # 4 bytes
        peak = profiled_peak(step)
        self.assertGreaterEqual(peak, 2 * 4 * n)
        self.assertLess(peak, 2 * 4 * n + 1024)

    def test_parameter_gradients_left_out_by_storage(self):
        # A 1024 x 1024 linear layer: its weight gradient (4 MiB) is made
        # by the backward and alive at the end; the activations are 8 KiB
        # (input and output rows). Told the model, the meter leaves the
        # weight and its gradient out: under 64 KiB. Not told, it counts
        # the gradient: at least 4 MiB more.
        torch.manual_seed(0)
        lin = torch.nn.Linear(1024, 1024)
        x = torch.randn(1, 1024)

        def step():
            lin.zero_grad(set_to_none=True)
            lin(x).sum().backward()
        step()
        with_model = profiled_peak(step, lin)
        without = profiled_peak(step)
        self.assertLess(with_model, 64 * 1024)
        self.assertGreaterEqual(without - with_model, 4 * 1024 * 1024)

    def test_sees_a_hidden_allocation(self):
        # Negative control of the meter: keeping one more 1 MiB tensor
        # raises the measured peak by 1 MiB.
        n = 256 * 1024
        kept = []

        def step(hide):
            x = torch.ones(n)
            if hide:
                kept.append(x * 3)
            return (x * 2).sum()
        base = profiled_peak(lambda: step(False))
        more = profiled_peak(lambda: step(True))
        self.assertEqual(more - base, 4 * n)


if __name__ == "__main__":
    unittest.main()
