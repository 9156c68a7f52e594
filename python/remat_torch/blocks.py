"""Turning the user's model into a list of named blocks."""

import torch


def as_blocks(model):
    """Returns ``[(name, module), ...]`` for a chain of blocks.

    Accepts an ``nn.Sequential`` or ``nn.ModuleList`` (names are the child
    names, e.g. ``"0"`` or ``"h3"``), or a list of modules or of
    ``(name, module)`` pairs. Names must be unique.
    """
    if isinstance(model, (torch.nn.Sequential, torch.nn.ModuleList)):
        pairs = list(model.named_children())
    else:
        pairs = []
        for i, item in enumerate(model):
            if isinstance(item, tuple):
                pairs.append((str(item[0]), item[1]))
            else:
                pairs.append((str(i), item))
    if not pairs:
        raise ValueError("the model has no blocks")
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("block names are not unique: %s" % names)
    for name, module in pairs:
        if not callable(module):
            raise ValueError("block %r is not callable" % name)
    return pairs
