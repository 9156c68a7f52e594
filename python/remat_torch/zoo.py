"""Real models from their configurations, with random weights (no
download), for the tests, the walk-through and the fidelity scripts.

``build(name, size="tiny", seed=0, **overrides)`` returns a dict:

- ``model``: the unmodified ``transformers`` / ``diffusers`` / ``timm``
  module, in training mode (dropout on where the config has it);
- ``inputs``: the keyword arguments of one forward;
- ``input_key``: which of them is the chain input x_0;
- ``loss_fn``: the model's output tensor -> scalar (language-model cross
  entropy on shifted tokens, classification cross entropy, or MSE against
  a noise target for the U-Net);
- ``family`` and ``form`` (``chain`` or ``graph``).

Sizes: ``tiny`` (tests, seconds on a CPU) and ``small`` (the fidelity
table: activations of a few MiB to tens of MiB, so that allocator
granularity does not dominate).
"""

import torch
from torch import nn

CHAIN = ("gpt2", "llama", "bert", "timm-vit", "timm-resnet")
GRAPH = ("unet",)
NAMES = CHAIN + GRAPH

_SIZES = {
    "tiny": {"layers": 4, "width": 32, "heads": 4, "seq": 16, "batch": 2,
             "vocab": 64, "image": 32, "channels": (32, 64), "latent": 16},
    "small": {"layers": 6, "width": 128, "heads": 4, "seq": 128, "batch": 4,
              "vocab": 512, "image": 64, "channels": (64, 128), "latent": 32},
}


def _ids(s, gen):
    ids = torch.randint(s["vocab"], (s["batch"], s["seq"]), generator=gen)
    return ids.to(s["device"])


def _lm_loss(labels, vocab):
    def loss_fn(logits):
        return nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, vocab).float(),
            labels[:, 1:].reshape(-1))
    return loss_fn


def _gpt2(s, gen):
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(n_layer=s["layers"], n_embd=s["width"],
                     n_head=s["heads"], vocab_size=s["vocab"],
                     n_positions=s["seq"], use_cache=False,
                     bos_token_id=0, eos_token_id=0)
    ids = _ids(s, gen)
    return GPT2LMHeadModel(cfg), {"input_ids": ids}, _lm_loss(ids,
                                                              s["vocab"])


def _llama(s, gen):
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(num_hidden_layers=s["layers"], hidden_size=s["width"],
                      intermediate_size=2 * s["width"],
                      num_attention_heads=s["heads"],
                      num_key_value_heads=max(1, s["heads"] // 2),
                      vocab_size=s["vocab"], max_position_embeddings=s["seq"],
                      use_cache=False, bos_token_id=0, eos_token_id=0,
                      pad_token_id=0, attention_dropout=0.1)
    ids = _ids(s, gen)
    return LlamaForCausalLM(cfg), {"input_ids": ids}, _lm_loss(ids,
                                                               s["vocab"])


def _bert(s, gen):
    from transformers import BertConfig, BertForMaskedLM
    cfg = BertConfig(num_hidden_layers=s["layers"], hidden_size=s["width"],
                     num_attention_heads=s["heads"],
                     intermediate_size=4 * s["width"], vocab_size=s["vocab"],
                     max_position_embeddings=s["seq"], pad_token_id=0)
    ids = _ids(s, gen)
    labels = _ids(s, gen)

    def loss_fn(logits):
        return nn.functional.cross_entropy(
            logits.reshape(-1, s["vocab"]).float(), labels.reshape(-1))
    return BertForMaskedLM(cfg), {"input_ids": ids}, loss_fn


def _classify(s, gen):
    labels = torch.randint(10, (s["batch"],), generator=gen).to(s["device"])
    return lambda logits: nn.functional.cross_entropy(logits.float(), labels)


def _timm_vit(s, gen):
    from timm.models.vision_transformer import VisionTransformer
    model = VisionTransformer(img_size=s["image"], patch_size=8,
                              embed_dim=s["width"], depth=s["layers"],
                              num_heads=s["heads"], num_classes=10,
                              drop_rate=0.0, proj_drop_rate=0.1)
    x = torch.randn(s["batch"], 3, s["image"], s["image"], generator=gen)
    return model, {"x": x}, _classify(s, gen)


def _timm_resnet(s, gen):
    from timm.models.resnet import BasicBlock, ResNet
    c = s["channels"][0]
    model = ResNet(block=BasicBlock, layers=[2, 2, 2, 2], num_classes=10,
                   stem_width=c // 2)
    # Slim widths: timm's ResNet takes the first width from stem_width only,
    # so narrow every stage by rebuilding with a width multiplier.
    model = ResNet(block=BasicBlock, layers=[2, 2, 2, 2], num_classes=10,
                   channels=(c, 2 * c, 4 * c, 8 * c), stem_width=c)
    x = torch.randn(s["batch"], 3, s["image"], s["image"], generator=gen)
    return model, {"x": x}, _classify(s, gen)


def _unet(s, gen):
    from diffusers import UNet2DConditionModel
    c = s["channels"]
    model = UNet2DConditionModel(
        sample_size=s["latent"], in_channels=4, out_channels=4,
        block_out_channels=c, layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=s["width"], attention_head_dim=8,
        norm_num_groups=8)
    b, n = s["batch"], s["latent"]
    sample = torch.randn(b, 4, n, n, generator=gen)
    noise = torch.randn(b, 4, n, n, generator=gen).to(s["device"])
    inputs = {"sample": sample, "timestep": torch.tensor([10] * b),
              "encoder_hidden_states": torch.randn(b, 7, s["width"],
                                                   generator=gen)}
    return model, inputs, lambda y: nn.functional.mse_loss(y.float(), noise)


_BUILDERS = {"gpt2": ("transformers", _gpt2), "llama": ("transformers",
                                                       _llama),
             "bert": ("transformers", _bert),
             "timm-vit": ("timm", _timm_vit),
             "timm-resnet": ("timm", _timm_resnet),
             "unet": ("diffusers", _unet)}


def _to(obj, device):
    if torch.is_tensor(obj):
        return obj.to(device)
    return obj


def build(name, size="tiny", seed=0, device="cpu", **overrides):
    """A seeded model, one batch and its loss (see the module doc), on
    ``device`` (built on the CPU, then moved: same weights everywhere)."""
    if name not in _BUILDERS:
        raise ValueError("unknown model %r; known: %s"
                         % (name, ", ".join(NAMES)))
    if size not in _SIZES:
        raise ValueError("unknown size %r; known: %s"
                         % (size, ", ".join(_SIZES)))
    s = dict(_SIZES[size], **overrides)
    family, fn = _BUILDERS[name]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    s["device"] = torch.device(device)
    model, inputs, loss_fn = fn(s, gen)
    model.to(device).train()
    inputs = {k: _to(v, device) for k, v in inputs.items()}
    return {"model": model, "inputs": inputs,
            "input_key": next(iter(inputs)), "loss_fn": loss_fn,
            "family": family, "form": "graph" if name in GRAPH else "chain",
            "name": name}
