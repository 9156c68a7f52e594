"""Real models in: unmodified transformers, diffusers and timm models,
exported (chain or block graph), planned by the remat CLI and applied with
remat_torch.apply_plan. Gradients must equal a plain step's and every
stage must run as often as the plan says, counted by a meter that does not
go through remat_torch (model_helpers.LeafCallCounter)."""

import json
import os
import re
import tempfile
import unittest

import torch

from model_helpers import (LeafCallCounter, chain_leaves, grads_of,
                           graph_leaves, plain_step, plan_counts, zero)
from remat_helpers import REMAT_BINARY, read_json, run_remat
from remat_torch import (ScheduleError, apply_plan, discover_chain,
                         discover_graph, export_chain, export_graph,
                         write_model, zoo)
from remat_torch.graphexport import INTERNALS
from remat_torch.models import find_layer_stack
from remat_torch.seedcmp import (_every_layer_predicted,
                                 every_layer_schedule, runnable)

torch.set_num_threads(1)


def tensors_in(obj):
    """The tensors in a module's output (a tensor, tuple or dict-like)."""
    if torch.is_tensor(obj):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in tensors_in(o)]
    return []


def least_budget(model):
    """The least feasible budget remat names on exit 3 (budget 1 byte)."""
    code, _, err = run_remat("plan", model, "--strategy", "optimal",
                             "--budget", "1")
    assert code == 3, err
    return int(re.search(r"smallest feasible budget.*?\((\d+) bytes\)",
                         err).group(1))


class DiscoveryTest(unittest.TestCase):
    def test_gpt2_stages_are_module_paths(self):
        m = zoo.build("gpt2")
        chain = discover_chain(m["model"], m["inputs"], m["loss_fn"])
        # GPT2LMHeadModel: transformer.{wte, wpe, drop, h.0-3, ln_f},
        # lm_head. The prefix is named by its first module with parameters.
        self.assertEqual(chain.names(),
                         ["transformer.wte"]
                         + ["transformer.h.%d" % i for i in range(4)]
                         + ["transformer.ln_f", "lm_head"])
        for name in chain.names():
            m["model"].get_submodule(name)  # every name addresses a module

    def test_stack_without_gradient_checkpointing_layers(self):
        # timm's ResNet: the 8 BasicBlocks of layer1..layer4 (2 each), found
        # as the most numerous class inside Sequential containers.
        m = zoo.build("timm-resnet")
        names = [p for p, _ in find_layer_stack(m["model"])]
        self.assertEqual(names, ["layer%d.%d" % (i, j) for i in range(1, 5)
                                 for j in range(2)])

    def test_unet_skip_connections_are_edges(self):
        # Tiny U-Net: 2 levels, 1 resnet per down level, 2 per up level.
        # down_blocks.0 returns (resnet+attn output, downsample output),
        # down_blocks.1 (resnet output); with conv_in's output the residual
        # stack is [conv_in, d0.a, d0.down, d1.r]. up_blocks.0 pops the last
        # two (d1.r, d0.down), up_blocks.1 the first two (d0.a, conv_in).
        m = zoo.build("unet")
        graph = discover_graph(m["model"], m["inputs"], m["loss_fn"])
        edges = {n.name: sorted(n.inputs) for n in graph.nodes}
        self.assertEqual(edges["up_blocks.0"],
                         ["down_blocks.0", "down_blocks.1", "mid_block",
                          "time_embedding"])
        self.assertEqual(edges["up_blocks.1"],
                         ["conv_in", "down_blocks.0", "time_embedding",
                          "up_blocks.0"])
        self.assertNotIn("time_proj", edges)  # parameterless, no node input

    def test_unet_fine_graph_edges_through_concatenations(self):
        # fine=True: the blocks' ResNet blocks, transformers and resamplers
        # are the nodes. An up ResNet block reads torch.cat(h, skip), made
        # by the block's own code: its edges lead to the nodes whose outputs
        # were concatenated. up_blocks.0.resnets.0 concatenates mid_block's
        # last ResNet output with the last skip, down_blocks.1.resnets.0;
        # up_blocks.1.resnets.1 its attentions.0 output with conv_in's.
        m = zoo.build("unet")
        graph = discover_graph(m["model"], m["inputs"], m["loss_fn"],
                               fine=True)
        edges = {n.name: sorted(n.inputs) for n in graph.nodes}
        self.assertEqual(edges["up_blocks.0.resnets.0"],
                         ["down_blocks.1.resnets.0", "mid_block.resnets.1",
                          "time_embedding"])
        self.assertEqual(edges["up_blocks.1.resnets.1"],
                         ["conv_in", "time_embedding",
                          "up_blocks.1.attentions.0"])
        self.assertEqual(edges["down_blocks.0.attentions.0"],
                         ["down_blocks.0.resnets.0"])

    def test_unet_fine2_graph_opens_the_transformers(self):
        # fine=2: a transformer (it holds transformer_blocks) is replaced by
        # its children, in call order; the downsampler reads the residual
        # sum made by the transformer's own code (proj_out's output plus
        # the transformer's input, the ResNet block's output).
        m = zoo.build("unet")
        graph = discover_graph(m["model"], m["inputs"], m["loss_fn"],
                               fine=2)
        names = [n.name for n in graph.nodes]
        t = "down_blocks.0.attentions.0."
        self.assertNotIn(t[:-1], names)
        self.assertEqual([n for n in names if n.startswith(t)],
                         [t + "norm", t + "proj_in", t + "transformer_blocks.0",
                          t + "proj_out"])
        edges = {n.name: sorted(n.inputs) for n in graph.nodes}
        self.assertEqual(edges[t + "transformer_blocks.0"], [t + "proj_in"])
        self.assertEqual(edges["down_blocks.0.downsamplers.0"],
                         [t + "proj_out", "down_blocks.0.resnets.0"])


class ExportTest(unittest.TestCase):
    def test_gpt2_bytes_from_shapes(self):
        m = zoo.build("gpt2")
        chain = discover_chain(m["model"], m["inputs"], m["loss_fn"])
        doc = export_chain(chain, "gpt2", reps=1)
        # Hidden states: batch 2 x seq 16 x width 32 fp32 = 4096 bytes;
        # logits: 2 x 16 x vocab 64 x 4 = 8192; ids: 2 x 16 int64 = 256.
        self.assertEqual(doc["input_bytes"], 256)
        self.assertEqual([l["output_bytes"] for l in doc["layers"]],
                         [4096] * 6 + [8192])
        # Parameters: wte 64*32 + wpe 16*32 = 2560; per block: 2 layer
        # norms 4*32 = 128, c_attn 32*96+96 = 3168, attn c_proj 32*32+32 =
        # 1056, c_fc 32*128+128 = 4224, mlp c_proj 128*32+32 = 4128, total
        # 12704; ln_f 64; lm_head tied to wte. 2560 + 4*12704 + 64 = 53440
        # floats = 213760 bytes.
        self.assertEqual(doc["static_bytes"]["parameters"], 213760)
        self.assertEqual(doc["batch_size"], 2)

    def test_first_stage_is_not_differentiated_for_its_input(self):
        # timm ViT's pixels need no gradient, so no step computes one; the
        # export's passes must not either (its times would include a
        # transposed convolution no step runs). The patch embedding's full
        # backward hook sees grad_input None. Control: an input that
        # requires a gradient gets one.
        m = zoo.build("timm-vit")
        chain = discover_chain(m["model"], m["inputs"], m["loss_fn"])
        seen = []
        m["model"].patch_embed.register_full_backward_hook(
            lambda mod, gin, gout: seen.append(gin[0] is not None))
        export_chain(chain, "vit", reps=1)
        self.assertTrue(seen)
        self.assertFalse(any(seen))
        seen.clear()
        chain.x0.requires_grad_(True)
        export_chain(chain, "vit", reps=1)
        self.assertTrue(all(seen) and seen)

    def test_autocast_export_differs_and_loads(self):
        m = zoo.build("llama")
        chain = discover_chain(m["model"], m["inputs"], m["loss_fn"])
        fp32 = export_chain(chain, "llama", reps=1)
        bf16 = export_chain(chain, "llama", reps=1, autocast=torch.bfloat16)
        # Under bf16 autocast a decoder layer saves its matmul inputs in 2
        # bytes instead of 4, and also the bf16 copies of its 7 weight
        # matrices (q 32x32, k and v 32x16, o 32x32, gate and up 32x64, down
        # 64x32: 9216 values, 18432 bytes), which at this width outweigh the
        # saving: what is saved differs. The output (the residual stream)
        # stays fp32: 2 x 16 x 32 x 4 = 4096 bytes.
        l32, l16 = fp32["layers"][1], bf16["layers"][1]
        self.assertEqual(l32["output_bytes"], 4096)
        self.assertEqual(l16["output_bytes"], 4096)
        self.assertNotEqual(l16["saved_bytes"], l32["saved_bytes"])
        self.assertIn("autocast bfloat16", bf16["description"])
        if REMAT_BINARY:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "m.json")
                write_model(bf16, path)
                code, _, err = run_remat("inspect", path)
                self.assertEqual(code, 0, err)


@unittest.skipUnless(REMAT_BINARY, "REMAT_BINARY not set")
class ApplyRealModelsTest(unittest.TestCase):
    """export -> remat plan -> apply_plan, per family."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def plan(self, model, tag, *args):
        out = os.path.join(self.tmp.name, tag + ".plan.json")
        code, _, err = run_remat("plan", model, "--strategy", *args,
                                 "-o", out)
        self.assertEqual(code, 0, err)
        return read_json(out)

    def run_plan(self, m, leaves, plan, mode, autocast=None, counts=None):
        model, inputs, loss_fn = m["model"], m["inputs"], m["loss_fn"]
        ctx = (torch.autocast("cpu", dtype=autocast) if autocast
               else torch.autocast("cpu", enabled=False))
        zero(model)
        with ctx:
            ref_loss = plain_step(model, inputs, loss_fn, seed=3)
        ref = grads_of(model)
        zero(model)
        with LeafCallCounter(leaves) as counter:
            applied = apply_plan(model, plan, inputs, loss_fn)
            counter.reset()
            torch.manual_seed(3)
            with ctx:
                loss = applied.step()
        applied.remove()
        got = grads_of(model)
        self.assertEqual(applied.mode, mode)
        self.assertEqual(loss.item(), ref_loss.item())
        self.assertEqual(set(got), set(ref))
        for k in ref:
            self.assertTrue(torch.allclose(ref[k], got[k], rtol=1e-5,
                                           atol=1e-6), k)
        self.assertEqual(counter.counts(), counts or plan_counts(plan))
        return applied

    def export(self, name, autocast=None):
        m = zoo.build(name)
        chain = discover_chain(m["model"], m["inputs"], m["loss_fn"])
        path = os.path.join(self.tmp.name, name + ".json")
        write_model(export_chain(chain, name, reps=1, autocast=autocast),
                    path)
        return m, chain, path

    def check_chain_family(self, name, layer_kind):
        m, chain, path = self.export(name)
        leaves = chain_leaves(chain)
        # Every layer checkpointed (what gradient_checkpointing_enable()
        # does): single level, applied to the modules themselves.
        every = self.plan(path, name + "-every", "selective", "--kinds",
                          layer_kind)
        applied = self.run_plan(m, leaves, every, "module")
        self.assertEqual(applied.checkpointed,
                         [s.stage_name for s in chain.stages
                          if s.role == "layer"])
        # Binomial checkpointing with 2 slots: multi-level, the executor.
        revolve = self.plan(path, name + "-revolve", "revolve", "--slots",
                            "2")
        self.assertGreater(max(plan_counts(revolve).values()), 2)
        self.run_plan(m, leaves, revolve, "executor")

    def test_gpt2(self):
        self.check_chain_family("gpt2", "GPT2Block")

    def test_llama(self):
        self.check_chain_family("llama", "LlamaDecoderLayer")

    def test_bert(self):
        self.check_chain_family("bert", "BertLayer")

    def test_timm_resnet(self):
        self.check_chain_family("timm-resnet", "BasicBlock")

    def test_timm_vit(self):
        self.check_chain_family("timm-vit", "Block")

    def test_llama_sqrt_and_optimal(self):
        m, chain, path = self.export("llama")
        leaves = chain_leaves(chain)
        self.run_plan(m, leaves, self.plan(path, "ll-sqrt", "sqrt"),
                      "executor")
        peak = self.plan(path, "ll-none", "none")["predicted"]["peak_bytes"]
        budget = (least_budget(path) + peak) // 2
        opt = self.plan(path, "ll-opt", "optimal", "--budget", str(budget))
        self.assertLessEqual(opt["predicted"]["peak_bytes"], budget)
        # Module mode needs a single-level plan (no stage runs 3 times)
        # that records the embeddings (its first op F_all on stage 0).
        single = max(plan_counts(opt).values()) <= 2
        mode = "module" if single and opt["ops"][0]["op"] == "F_all" \
            else "executor"
        self.run_plan(m, leaves, opt, mode)

    def test_llama_bf16_autocast(self):
        m, chain, path = self.export("llama", autocast=torch.bfloat16)
        leaves = chain_leaves(chain)
        every = self.plan(path, "ll16-every", "selective", "--kinds",
                          "LlamaDecoderLayer")
        self.run_plan(m, leaves, every, "module", autocast=torch.bfloat16)
        revolve = self.plan(path, "ll16-rev", "revolve", "--slots", "2")
        self.run_plan(m, leaves, revolve, "executor",
                      autocast=torch.bfloat16)

    def test_unet_graph(self):
        m = zoo.build("unet")
        graph = discover_graph(m["model"], m["inputs"], m["loss_fn"])
        path = os.path.join(self.tmp.name, "unet.json")
        write_model(export_graph(graph, "unet", reps=1), path)
        leaves = graph_leaves(graph)
        peak = self.plan(path, "u-none", "none")["predicted"]["peak_bytes"]
        least = least_budget(path)
        self.assertLess(least, peak)
        plan = self.plan(path, "u-opt", "optimal", "--budget",
                         str((least + peak) // 2))
        counts = plan_counts(plan)
        self.assertGreater(max(counts.values()), 1)  # something recomputed
        applied = self.run_plan(m, leaves, plan, "module")
        self.assertEqual(sorted(applied.checkpointed),
                         sorted(n for n, c in counts.items() if c == 2))

    def test_unet_fine_graph(self):
        m = zoo.build("unet")
        graph = discover_graph(m["model"], m["inputs"], m["loss_fn"],
                               fine=True)
        path = os.path.join(self.tmp.name, "unet-fine.json")
        write_model(export_graph(graph, "unet-fine", reps=1), path)
        leaves = graph_leaves(graph)
        peak = self.plan(path, "uf-none", "none")["predicted"]["peak_bytes"]
        least = least_budget(path)
        self.assertLess(least, peak)
        plan = self.plan(path, "uf-opt", "optimal", "--budget",
                         str((least + peak) // 2))
        counts = plan_counts(plan)
        self.assertEqual(max(counts.values()), 2)  # recomputed, once
        # The checkpointed modules are inside the diffusers blocks.
        applied = self.run_plan(m, leaves, plan, "module")
        self.assertEqual(sorted(applied.checkpointed),
                         sorted(n for n, c in counts.items() if c == 2))
        self.assertTrue(any(".resnets." in n or ".attentions." in n
                            for n in applied.checkpointed))

    def test_unet_split_graph(self):
        # export_graph(split=True): a block that saves tensors besides its
        # outputs becomes "<block>#internals" + "<block>" (its outputs).
        m = zoo.build("unet")
        graph = discover_graph(m["model"], m["inputs"], m["loss_fn"],
                               fine=True)
        whole = {n["name"]: n for n in export_graph(
            graph, "w", reps=1)["graph"]["nodes"]}
        doc = export_graph(graph, "unet-split", reps=1, split=True)
        nodes = {n["name"]: n for n in doc["graph"]["nodes"]}
        split = [n.name for n in graph.nodes if n.name + INTERNALS in nodes]
        self.assertIn("down_blocks.0.resnets.0", split)
        for n in graph.nodes:
            if n.name not in split:
                continue
            # The output node's bytes are the storages of the block's
            # outputs, counted here from the recorded tensors.
            outs = {t.untyped_storage().data_ptr():
                    t.untyped_storage().nbytes()
                    for t in tensors_in(n.out)}
            self.assertEqual(nodes[n.name]["bytes"], sum(outs.values()))
            self.assertEqual(nodes[n.name]["inputs"], [n.name + INTERNALS])
            self.assertEqual(nodes[n.name]["time"], 0)
            inner = nodes[n.name + INTERNALS]
            self.assertEqual(inner["bytes"] + nodes[n.name]["bytes"],
                             whole[n.name]["bytes"])
            self.assertEqual(inner["inputs"], whole[n.name]["inputs"])
            self.assertIn(n.name + INTERNALS, nodes["g." + n.name]["inputs"])
        path = os.path.join(self.tmp.name, "unet-split.json")
        write_model(doc, path)
        peak = self.plan(path, "us-none", "none")["predicted"]["peak_bytes"]
        # The forward/backward split class computes each node at most
        # twice, so its plans run in module mode once runnable() has kept
        # the outputs it recomputes without their internals.
        plan = self.plan(path, "us-opt", "optimal", "--budget",
                         str(peak // 2), "--recompute-once-in-backward")
        plan = runnable(plan, doc)
        counts = plan_counts(plan)
        # Module mode runs a split block as often as its internals node.
        want = {}
        for name, c in counts.items():
            if name.endswith(INTERNALS):
                want[name[:-len(INTERNALS)]] = c
            elif name + INTERNALS not in counts:
                want[name] = c
        self.assertIn(2, [want[b] for b in split])  # a block recomputed
        leaves = graph_leaves(graph)
        applied = self.run_plan(m, leaves, plan, "module", counts=want)
        self.assertEqual(sorted(applied.checkpointed),
                         sorted(n for n, c in want.items() if c == 2))

    def test_split_output_recomputed_alone_is_refused(self):
        m = zoo.build("unet")
        b = "down_blocks.0.resnets.0"
        ops = [{"op": "compute", "node": b + INTERNALS},
               {"op": "compute", "node": b}, {"op": "free", "node": b},
               {"op": "compute", "node": b}]
        with self.assertRaisesRegex(ScheduleError, "recomputed without"):
            apply_plan(m["model"], {"format": "remat-schedule", "ops": ops},
                       m["inputs"], m["loss_fn"])

    def test_unet_graph_bf16_autocast(self):
        m = zoo.build("unet")
        bf16 = torch.bfloat16
        graph = discover_graph(m["model"], m["inputs"], m["loss_fn"],
                               autocast=bf16)
        doc = export_graph(graph, "unet16", reps=1, autocast=bf16)
        nodes = {n["name"]: n for n in doc["graph"]["nodes"]}
        # conv_act (SiLU) keeps its output: batch 2 x 32 channels x 16 x 16
        # latents, in bf16 under autocast: 32768 bytes (65536 in fp32).
        self.assertEqual(nodes["conv_act"]["bytes"], 2 * 32 * 16 * 16 * 2)
        path = os.path.join(self.tmp.name, "unet16.json")
        write_model(doc, path)
        peak = self.plan(path, "u16-none", "none")["predicted"]["peak_bytes"]
        plan = self.plan(path, "u16-opt", "optimal", "--budget",
                         str((least_budget(path) + peak) // 2))
        fp32 = discover_graph(m["model"], m["inputs"], m["loss_fn"])
        self.run_plan(m, graph_leaves(fp32), plan, "module", autocast=bf16)

    def test_plan_of_another_model_is_refused(self):
        _, _, path = self.export("gpt2")
        plan = self.plan(path, "g-sqrt", "sqrt")
        m = zoo.build("llama")
        with self.assertRaisesRegex(ScheduleError, "transformer.wte"):
            apply_plan(m["model"], plan, m["inputs"], m["loss_fn"])



class SeedComparisonTest(unittest.TestCase):
    def test_every_layer_schedule_peak(self):
        # Two split blocks a -> b, both checkpointed. Bytes: a#internals
        # 100, a 1, b#internals 20, b 2, loss 4, g.b 8, g.a 16. By hand:
        # forward 100, +1 = 101, free a#internals -> 1, +20 = 21, +2 = 23,
        # free b#internals -> 3, loss 7, recompute b#internals 27, g.b 35,
        # free loss, b, b#internals -> 9 (a, g.b), recompute a#internals
        # 109, g.a 125: peak 125 (store-everything: 127 before g.b, 135).
        node = lambda name, nbytes, ins, phase: {
            "name": name, "kind": "x", "time": 1, "bytes": nbytes,
            "inputs": ins, "phase": phase}
        doc = {"format": "remat-model", "version": 1, "name": "two",
               "time_unit": "ms", "batch_size": 1,
               "static_bytes": {"parameters": 0, "gradients": 0},
               "graph": {"nodes": [
                   node("a" + INTERNALS, 100, [], "forward"),
                   node("a", 1, ["a" + INTERNALS], "forward"),
                   node("b" + INTERNALS, 20, ["a"], "forward"),
                   node("b", 2, ["b" + INTERNALS], "forward"),
                   node("loss", 4, ["b"], "loss"),
                   node("g.b", 8, ["loss", "b", "b" + INTERNALS, "a"],
                        "backward"),
                   node("g.a", 16, ["g.b", "a", "a" + INTERNALS],
                        "backward")]}}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "two.json")
            write_model(doc, path)
            peak = _every_layer_predicted(REMAT_BINARY, path,
                                          os.path.join(tmp, "every.json"),
                                          {"a", "b"})
        self.assertEqual(peak, 125)
        ops = every_layer_schedule(doc, {"a", "b"})
        computes = [o["node"] for o in ops if o["op"] == "compute"]
        self.assertEqual(computes.count("a" + INTERNALS), 2)
        self.assertEqual(computes.count("b"), 1)

if __name__ == "__main__":
    unittest.main()
