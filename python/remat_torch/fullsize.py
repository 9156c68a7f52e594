"""Full-size cost files without the memory: export on the meta device.

``python3 -m remat_torch.fullsize llama7b -o llama7b.meta.json
[--compare data/models/llama2-7b.json]``

The unmodified ``transformers`` model is built on the ``meta`` device (no
weights are allocated) in bf16, cut into stages by
:func:`remat_torch.models.discover_chain`, and each stage is run on meta
tensors of the real shapes:

- bytes are exact from shapes: output bytes, and the storages autograd
  saves for the backward (``saved_tensors_hooks``, one count per storage,
  parameters, the stage input and shared tensors excluded), as in the
  measured export;
- times come from FLOPs: ``torch.utils.flop_counter.FlopCounterMode``
  counts the forward and the backward of each stage, divided by an
  effective throughput (``--tflops``, default 300, the figure the bundled
  analytic models use);
- attention runs PyTorch's flash kernel (``aten._scaled_dot_product_flash_
  attention_for_cpu``, which saves Q, K, V, O and the fp32 logsumexp, as
  flash attention does on a GPU), registered as a transformers attention
  function: on meta tensors ``sdpa`` would fall back to the math kernel,
  which stores the s x s scores;
- workspaces are not modelled (0).

``--compare`` prints the per-kind differences against an analytic model
(summing its ``attn`` and ``mlp`` stages per layer).
"""

import argparse
import json
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode

from .export import write_model
from .models import discover_chain


def _flash(module, query, key, value, attention_mask, scaling=None,
           dropout=0.0, **kwargs):
    """transformers attention function on PyTorch's flash kernel."""
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    out = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
        query, key, value, dropout, True, scale=scaling)[0]
    return out.transpose(1, 2).contiguous(), None


def _register_flash():
    from transformers import AttentionInterface
    AttentionInterface.register("remat_tiled", _flash)


def llama7b(seq=4096, batch=1, dtype=torch.bfloat16, **config):
    """``LlamaForCausalLM(LlamaConfig(**config))`` (defaults: Llama 2 7B)
    on the meta device, a batch of token ids and the causal-LM loss."""
    from transformers import LlamaConfig, LlamaForCausalLM
    _register_flash()
    cfg = LlamaConfig(use_cache=False, **config)
    cfg._attn_implementation = "remat_tiled"
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg).to(dtype)
    model.train()
    ids = torch.zeros(batch, seq, dtype=torch.long, device="meta")
    vocab = cfg.vocab_size

    def loss_fn(logits):
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, vocab).float(), ids.reshape(-1))
    return {"model": model, "inputs": {"input_ids": ids},
            "input_key": "input_ids", "loss_fn": loss_fn}


class _TiledAttention:
    """diffusers attention processor on PyTorch's flash kernel (plain
    self- and cross-attention, as in SD's transformer blocks)."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None,
                 attention_mask=None, temb=None, **kwargs):
        if attn.spatial_norm is not None or attn.group_norm is not None \
                or attn.residual_connection or attention_mask is not None:
            raise NotImplementedError("attention variant not modelled")
        context = hidden_states if encoder_hidden_states is None \
            else encoder_hidden_states
        if attn.norm_cross and encoder_hidden_states is not None:
            context = attn.norm_encoder_hidden_states(context)
        b, n, _ = hidden_states.shape
        q, k, v = attn.to_q(hidden_states), attn.to_k(context), \
            attn.to_v(context)
        d = q.shape[-1] // attn.heads
        q, k, v = (t.view(b, -1, attn.heads, d).transpose(1, 2)
                   for t in (q, k, v))
        out = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
            q, k, v, 0.0, False)[0]
        out = out.transpose(1, 2).reshape(b, n, attn.heads * d)
        out = attn.to_out[1](attn.to_out[0](out))
        return out / attn.rescale_output_factor


def sd21_unet(latent=64, batch=4, dtype=torch.bfloat16):
    """diffusers' UNet2DConditionModel with the Stable Diffusion 2.1
    configuration on the meta device, latents ``latent``² x 4, a 77 x 1024
    text context, MSE loss against a noise target."""
    from diffusers import UNet2DConditionModel
    with torch.device("meta"):
        model = UNet2DConditionModel(
            sample_size=latent, cross_attention_dim=1024,
            attention_head_dim=[5, 10, 20, 20], use_linear_projection=True
        ).to(dtype)
    model.set_attn_processor(_TiledAttention())
    model.train()
    meta = {"device": "meta", "dtype": dtype}
    inputs = {"sample": torch.zeros(batch, 4, latent, latent, **meta),
              "timestep": torch.zeros(batch, dtype=torch.long,
                                      device="meta"),
              "encoder_hidden_states": torch.zeros(batch, 77, 1024, **meta)}
    noise = torch.zeros(batch, 4, latent, latent, **meta)
    return {"model": model, "inputs": inputs, "input_key": "sample",
            "loss_fn": lambda y: torch.nn.functional.mse_loss(
                y.float(), noise.float()), "form": "graph"}


def export_meta_graph(made, name, tflops=300.0):
    """A graph-form remat-model dict of a meta-device model: one node per
    top-level block (:func:`remat_torch.discover_graph`), bytes from
    shapes, forward and backward times from FLOPs."""
    from . import graphexport as ge
    graph = ge.discover_graph(made["model"], made["inputs"], made["loss_fn"])
    static, produced = ge._static_ptrs(made["model"], graph)
    to_ms = 1.0 / (tflops * 1e9)
    fwd_nodes, back = [], {}
    for node in graph.nodes:
        with FlopCounterMode(display=False) as fc:
            ge._measure(node, produced, static, 1)
        m = ge._measure(node, produced, static, 1)
        kept, in_grad = m.kept, m.in_grad
        with FlopCounterMode(display=False) as ff:
            with torch.no_grad():
                node.module(*node.args, **node.kwargs)
        fwd_flops = ff.get_total_flops()
        # _measure runs two forwards (timing, recording) and one backward.
        bwd_flops = max(0, fc.get_total_flops() - 2 * fwd_flops)
        # On the meta device every storage is at 0: the backward reads
        # the node and all of its inputs (None).
        back[node.name] = (bwd_flops * to_ms, in_grad, 0, None)
        fwd_nodes.append({"name": node.name,
                          "kind": type(node.module).__name__,
                          "time": round(fwd_flops * to_ms, 12),
                          "bytes": kept, "inputs": list(node.inputs),
                          "phase": "forward"})
    return ge.graph_document(graph, name, fwd_nodes, back, 0.0,
                             "%s on the meta device (remat_torch.fullsize): "
                             "bytes from shapes, times from FLOPs at %g "
                             "TFLOP/s" % (type(made["model"]).__name__,
                                          tflops))


def compare_graph(ours, analytic):
    """Rows (level, ours, analytic): forward bytes summed per U-Net level
    (down_blocks.i ~ down<i>, mid_block ~ mid, up_blocks.j ~ up<j>)."""
    def level(name):
        head = name.split(".")[0]
        for a, b in (("down_blocks", "down"), ("up_blocks", "up"),
                     ("mid_block", "mid")):
            if name.startswith(a):
                return b + (name.split(".")[1] if b != "mid" else "")
        return head
    sums = {}
    for doc, col in ((ours, 0), (analytic, 1)):
        for n in doc["graph"]["nodes"]:
            if n["phase"] == "forward":
                k = level(n["name"])
                sums.setdefault(k, [0, 0])[col] += n["bytes"]
    return [(k, v[0], v[1]) for k, v in sums.items()]


MODELS = {"llama7b": llama7b, "sd21-unet": sd21_unet}


def _key(t):
    return t.untyped_storage()._cdata


def _nbytes(t):
    return t.untyped_storage().nbytes()


def _flat(obj, out):
    if torch.is_tensor(obj):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flat(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flat(o, out)
    return out


def _stage_costs(stage, x, skip, tflops):
    seen = {}

    def pack(t):
        if _key(t) not in skip:
            seen[_key(t)] = _nbytes(t)
        return t

    leaf = x.detach()
    if leaf.is_floating_point():
        leaf.requires_grad_(True)
    with FlopCounterMode(display=False) as fwd:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = stage(leaf)
    seen[_key(out)] = _nbytes(out)
    with FlopCounterMode(display=False) as bwd:
        if out.requires_grad:
            torch.autograd.backward(out, torch.ones_like(out))
    to_ms = 1.0 / (tflops * 1e9)  # FLOPs -> ms at tflops TFLOP/s
    return {"name": stage.stage_name, "kind": stage.kind,
            "fwd_time": round(fwd.get_total_flops() * to_ms, 9),
            "bwd_time": round(bwd.get_total_flops() * to_ms, 9),
            "output_bytes": out.numel() * out.element_size(),
            "saved_bytes": sum(seen.values()),
            "fwd_workspace": 0, "bwd_workspace": 0}, out.detach()


def export_meta(made, name, tflops=300.0):
    """A chain-form remat-model dict of a meta-device model."""
    model = made["model"]
    chain = discover_chain(model, made["inputs"], made["loss_fn"],
                           input_key=made.get("input_key"))
    params = {_key(p) for p in model.parameters()} | \
        {_key(b) for b in model.buffers()}
    x = chain.x0
    layers = []
    for stage in chain.stages:
        if stage.role == "prefix":
            skip = set(params)
        else:
            shared = _flat([chain.ctx.args, chain.ctx.kwargs], [])
            skip = params | {_key(t) for t in shared}
        skip.add(_key(x))
        layer, x = _stage_costs(stage, x, skip, tflops)
        layers.append(layer)
    with FlopCounterMode(display=False) as lf:
        y = x.detach().requires_grad_(True)
        made["loss_fn"](y).backward()
    nparam = sum(p.numel() for p in model.parameters())
    psize = next(model.parameters()).element_size()
    x0 = chain.x0
    return {"format": "remat-model", "version": 1, "name": name,
            "description": "%s on the meta device (remat_torch.fullsize): "
            "bytes from shapes, times from FLOPs at %g TFLOP/s, workspaces "
            "not modelled; %d parameters" % (type(model).__name__, tflops,
                                             nparam),
            "time_unit": "ms", "batch_size": int(x0.shape[0]),
            "static_bytes": {"parameters": nparam * psize,
                             "gradients": nparam * psize},
            "input_bytes": x0.numel() * x0.element_size(),
            "loss": {"bwd_time": round(lf.get_total_flops() / (tflops * 1e9),
                                       9), "bwd_workspace": 0},
            "layers": layers}


def _analytic_layers(doc):
    out = []

    def walk(items, prefix=""):
        for item in items:
            if "repeat" in item:
                for c in range(item["repeat"]):
                    name = item.get("name", "").replace("{i}", str(c))
                    walk([dict(l, name=l["name"].replace("{i}", str(c)))
                          for l in item["layers"]],
                         prefix + (name + "." if name else ""))
            else:
                out.append(dict(item, name=prefix + item["name"]))
    walk(doc["layers"])
    return out


def compare(ours, analytic):
    """Rows (kind, field, ours, analytic) per layer kind: one decoder layer
    (analytic: attn + mlp), the embedding, and the tail (ours: final norm
    and head; analytic: its head stage, loss included)."""
    theirs = _analytic_layers(analytic)
    ol = [l for l in ours["layers"] if l["kind"] == "LlamaDecoderLayer"]
    attn = [l for l in theirs if l["kind"] == "attention"]
    mlp = [l for l in theirs if l["kind"] == "mlp"]
    rows = []
    for field in ("saved_bytes", "output_bytes", "fwd_time", "bwd_time"):
        a = attn[0][field] + mlp[0][field] if field != "output_bytes" \
            else mlp[0][field]
        rows.append(("decoder layer", field, ol[0][field], a))
    emb_o = next(l for l in ours["layers"] if l["kind"] == "embedding")
    emb_t = next(l for l in theirs if l["kind"] == "embedding")
    rows.append(("embedding", "saved_bytes", emb_o["saved_bytes"],
                 emb_t["saved_bytes"]))
    tail = [l for l in ours["layers"] if l["kind"] in ("norm", "head")]
    head_t = next(l for l in theirs if l["kind"] == "head")
    rows.append(("norm + head", "saved_bytes",
                 sum(l["saved_bytes"] for l in tail),
                 head_t["saved_bytes"]))
    rows.append(("norm + head", "fwd_time",
                 sum(l["fwd_time"] for l in tail), head_t["fwd_time"]))
    rows.append(("layers", "count", len(ol), len(attn)))
    rows.append(("static", "parameters bytes",
                 ours["static_bytes"]["parameters"],
                 analytic["static_bytes"]["parameters"]))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m remat_torch.fullsize",
                                description=__doc__.splitlines()[0])
    p.add_argument("model", choices=sorted(MODELS))
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--seq", type=int, default=4096)
    p.add_argument("--batch", type=int,
                   help="batch (default 1 for llama7b, 4 for sd21-unet)")
    p.add_argument("--latent", type=int, default=64,
                   help="sd21-unet latent side (default 64: 512 px)")
    p.add_argument("--tflops", type=float, default=300.0)
    p.add_argument("--compare", help="an analytic model file to compare "
                   "with, per layer kind")
    args = p.parse_args(argv)
    if args.model == "sd21-unet":
        made = sd21_unet(latent=args.latent, batch=args.batch or 4)
        doc = export_meta_graph(made, args.model, tflops=args.tflops)
    else:
        made = llama7b(seq=args.seq, batch=args.batch or 1)
        doc = export_meta(made, args.model, tflops=args.tflops)
    write_model(doc, args.output)
    if "graph" in doc:
        print("wrote %s: %d nodes" % (args.output, len(doc["graph"]["nodes"])))
    else:
        print("wrote %s: %d stages" % (args.output, len(doc["layers"])))
    if args.compare and "graph" in doc:
        with open(args.compare, encoding="utf-8") as f:
            analytic = json.load(f)
        print("| level | meta export bytes | %s bytes | ratio |"
              % analytic["name"])
        print("|---|---|---|---|")
        for k, a, b in compare_graph(doc, analytic):
            print("| %s | %d | %d | %s |" % (k, a, b, "%.3f" % (a / b)
                                            if b else "-"))
    elif args.compare:
        with open(args.compare, encoding="utf-8") as f:
            analytic = json.load(f)
        print("| kind | field | meta export | %s | ratio |"
              % analytic["name"])
        print("|---|---|---|---|---|")
        for kind, field, a, b in compare(doc, analytic):
            print("| %s | %s | %s | %s | %s |" % (
                kind, field, a, b, "%.3f" % (a / b) if b else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
