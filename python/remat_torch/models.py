"""Finding the chain of stages inside an unmodified model.

:func:`discover_chain` runs the model once on a sample batch with hooks and
returns a :class:`ChainModel`: the model cut into stages that map one hidden
tensor to the next, each named by a module path of the model, so that a plan
made from them addresses the model's own modules.

- **The layer stack**: the model's ``GradientCheckpointingLayer`` instances
  (transformers), else the most numerous class among the children of
  ``ModuleList`` / ``Sequential`` containers (timm's ``blocks``, a ResNet's
  bottlenecks across ``layer1`` .. ``layer4``), outermost instances only,
  in module order. The sample run checks that layer i+1 reads layer i's
  output (so the stack is a chain) and that every layer gets the same extra
  arguments (attention masks, rotary tables) as the first.
- **The prefix** (embeddings): everything the model's forward does before
  the first layer, run as the model's own forward stopped at the first
  layer's pre-hook. Named by the first module with parameters it calls.
- **The tail** (final norm, head): the outermost modules called after the
  last layer ends, grouped so that each group ends at a module with
  parameters. Composing them must reproduce the model's output on the
  sample batch; where it does not and the model has ``forward_head``
  (timm), the modules called inside ``forward_head`` become one stage.
- **The loss** is the caller's ``loss_fn`` of the model's output.
"""

import torch
from torch import nn

try:  # transformers >= 4.48
    from transformers.modeling_layers import GradientCheckpointingLayer
except Exception:  # pragma: no cover - transformers absent or older
    GradientCheckpointingLayer = None


class DiscoveryError(ValueError):
    """The model cannot be cut into a chain of stages."""


def output_tensor(out):
    """The tensor a model or layer call produced: ``.logits``, ``.sample``,
    the first element of a tuple, or the tensor itself."""
    for attr in ("logits", "sample", "last_hidden_state"):
        if hasattr(out, attr) and torch.is_tensor(getattr(out, attr)):
            return getattr(out, attr)
    if isinstance(out, (tuple, list)):
        return out[0]
    if isinstance(out, dict):
        return next(iter(out.values()))
    return out


def _outermost(model, modules):
    """Drops modules contained in another one of the list."""
    ids = {id(m) for m in modules}
    inner = set()
    for m in modules:
        for sub in m.modules():
            if sub is not m and id(sub) in ids:
                inner.add(id(sub))
    return [m for m in modules if id(m) not in inner]


def find_layer_stack(model):
    """The repeated layers of ``model``, in module order: ``[(path, module)]``.

    ``GradientCheckpointingLayer`` instances when there are any, else the
    most numerous class among the children of ``ModuleList`` and
    ``Sequential`` containers (ties: the class seen first).
    """
    named = list(model.named_modules())
    paths = {id(m): p for p, m in named}
    if GradientCheckpointingLayer is not None:
        layers = [m for _, m in named
                  if isinstance(m, GradientCheckpointingLayer)]
        if layers:
            return [(paths[id(m)], m) for m in _outermost(model, layers)]
    counts, order = {}, []
    for _, m in named:
        if isinstance(m, (nn.ModuleList, nn.Sequential)):
            for child in m.children():
                cls = type(child)
                if isinstance(child, (nn.ModuleList, nn.Sequential)):
                    continue
                if cls not in counts:
                    counts[cls] = []
                    order.append(cls)
                if all(child is not c for c in counts[cls]):
                    counts[cls].append(child)
    if not order:
        raise DiscoveryError("%s has no ModuleList or Sequential of layers"
                             % type(model).__name__)
    best = max(order, key=lambda c: (len(counts[c]), -order.index(c)))
    layers = _outermost(model, counts[best])
    if len(layers) < 2:
        raise DiscoveryError("%s: no repeated layer class found"
                             % type(model).__name__)
    return [(paths[id(m)], m) for m in layers]


class _Stop(Exception):
    def __init__(self, args, kwargs):
        super().__init__("stopped at the first layer")
        self.args_, self.kwargs_ = args, kwargs


class Context:
    """What the prefix hands every layer besides the hidden state: the
    positional and keyword arguments of the first layer's call."""

    def __init__(self):
        self.args = ()
        self.kwargs = {}


class Stage(nn.Module):
    """One chain stage: ``forward(x_i) -> x_{i+1}``.

    ``role`` is ``prefix``, ``layer`` or ``tail``; ``parts`` the modules the
    model calls one after the other on the hidden state (layers and tail
    groups), which :func:`remat_torch.apply_plan` can checkpoint in place.
    """

    def __init__(self, name, kind, role, parts, fn):
        super().__init__()
        self.stage_name, self.kind, self.role = name, kind, role
        self.parts = nn.ModuleList(parts)
        self._fn = fn

    def forward(self, x):
        return self._fn(x)


class ChainModel:
    """A model cut into stages (see the module doc). ``stages`` is a list of
    :class:`Stage`; ``x0`` the chain input (a tensor of ``inputs``);
    ``loss_fn`` maps the last stage's output to a scalar."""

    def __init__(self, model, stages, inputs, input_key, loss_fn, ctx,
                 layer_outputs_tuple):
        self.model, self.stages, self.inputs = model, stages, inputs
        self.input_key, self.loss_fn, self.ctx = input_key, loss_fn, ctx
        self.layer_outputs_tuple = layer_outputs_tuple

    @property
    def x0(self):
        return self.inputs[self.input_key]

    def names(self):
        return [s.stage_name for s in self.stages]

    def blocks(self):
        """``[(name, stage)]`` for :func:`remat_torch.run_schedule`."""
        return [(s.stage_name, s) for s in self.stages]

    def call_model(self, inputs=None):
        inputs = self.inputs if inputs is None else inputs
        return self.model(**inputs)


def _capture(model, inputs, stack):
    """One forward with hooks: per layer (args, kwargs, output), the call
    order of every module (starts and ends), and the model's output."""
    layer_ids = {id(m): i for i, (_, m) in enumerate(stack)}
    calls, events, handles = {}, [], []

    def pre(mod, args, kwargs):
        events.append(("start", id(mod)))
        if id(mod) in layer_ids:
            calls[layer_ids[id(mod)]] = [args, kwargs, None]

    def post(mod, args, kwargs, out):
        events.append(("end", id(mod)))
        if id(mod) in layer_ids:
            calls[layer_ids[id(mod)]][2] = out

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(m.register_forward_hook(post, with_kwargs=True))
    try:
        with torch.no_grad():
            out = model(**inputs)
    finally:
        for h in handles:
            h.remove()
    if len(calls) != len(stack):
        missing = [stack[i][0] for i in range(len(stack)) if i not in calls]
        raise DiscoveryError("layers not called by the forward: %s" % missing)
    return calls, events, out


def _check_chain(stack, calls):
    first_args, first_kwargs = calls[0][0][1:], calls[0][1]
    for i in range(1, len(stack)):
        args, kwargs, _ = calls[i]
        prev = output_tensor(calls[i - 1][2])
        if not args or args[0] is not prev:
            raise DiscoveryError("%s does not read %s's output: the layers "
                                 "are not a chain" % (stack[i][0],
                                                      stack[i - 1][0]))
        same = (len(args) - 1 == len(first_args)
                and all(a is b for a, b in zip(args[1:], first_args))
                and kwargs.keys() == first_kwargs.keys()
                and all(kwargs[k] is first_kwargs[k] for k in kwargs))
        if not same:
            raise DiscoveryError("%s gets other extra arguments than %s"
                                 % (stack[i][0], stack[0][0]))


def _ancestors(model, stack):
    inside = set()
    for _, m in model.named_modules():
        for _, layer in stack:
            if m is not layer and any(s is layer for s in m.modules()):
                inside.add(id(m))
    return inside


def _prefix_parts(model, events, stack, skip):
    first = id(stack[0][1])
    called = []
    for kind, mid in events:
        if mid == first:
            break
        if kind == "start":
            called.append(mid)
    by_id = {id(m): (p, m) for p, m in model.named_modules()}
    mods = [by_id[i][1] for i in dict.fromkeys(called)
            if i not in skip and i != id(model)]
    outer = _outermost(model, mods)
    named = [by_id[id(m)] for m in outer]
    with_params = [p for p, m in named if any(True for _ in m.parameters())]
    if not with_params:
        raise DiscoveryError("nothing with parameters runs before %s"
                             % stack[0][0])
    return with_params[0], [m for _, m in named]


def _tail_modules(model, events, stack, skip):
    last = id(stack[-1][1])
    ended, started = False, []
    for kind, mid in events:
        if kind == "end" and mid == last:
            ended = True
            continue
        if ended and kind == "start":
            started.append(mid)
    by_id = {id(m): (p, m) for p, m in model.named_modules()}
    mods = [by_id[i][1] for i in dict.fromkeys(started)
            if i not in skip and i != id(model)]
    return [by_id[id(m)] for m in _outermost(model, mods)]


def _group(named):
    """Groups tail modules so that each group ends at one with parameters;
    trailing parameterless modules join the last group."""
    groups, cur = [], []
    for path, m in named:
        cur.append((path, m))
        if any(True for _ in m.parameters(recurse=True)):
            groups.append(cur)
            cur = []
    if cur:
        if groups:
            groups[-1].extend(cur)
        else:
            groups.append(cur)
    return groups


def _seq_fn(mods):
    def run(x):
        for m in mods:
            x = output_tensor(m(x))
        return x
    return run


def _close(a, b):
    if a.device.type == "meta" or b.device.type == "meta":
        return a.shape == b.shape  # no values on the meta device
    return (a.shape == b.shape
            and torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-5))


def _kind(path, module):
    name = type(module).__name__.lower()
    for key in ("norm", "embed", "head", "pool", "conv", "attention", "mlp"):
        if key in name or key in path.lower():
            return {"embed": "embedding", "pool": "head"}.get(key, key)
    return type(module).__name__


def discover_chain(model, inputs, loss_fn, input_key=None):
    """Cuts ``model`` into a :class:`ChainModel` (see the module doc).

    ``inputs``: the keyword arguments of one forward (a dict);
    ``input_key``: which of them is the chain input x_0 (default: the
    first tensor). ``loss_fn`` maps the model's output tensor (see
    :func:`output_tensor`) to a scalar. Raises :class:`DiscoveryError`.
    """
    if input_key is None:
        input_key = next(k for k, v in inputs.items() if torch.is_tensor(v))
    stack = find_layer_stack(model)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        calls, events, out = _capture(model, inputs, stack)
    _check_chain(stack, calls)
    skip = _ancestors(model, stack) | {id(m) for _, m in stack}
    ctx = Context()
    first = stack[0][1]
    tuple_out = isinstance(calls[0][2], tuple)

    def stop_hook(mod, args, kwargs):
        raise _Stop(args, kwargs)

    def prefix(x):
        handle = first.register_forward_pre_hook(stop_hook, with_kwargs=True)
        try:
            model(**dict(inputs, **{input_key: x}))
        except _Stop as stop:
            ctx.args, ctx.kwargs = stop.args_[1:], stop.kwargs_
            return stop.args_[0]
        finally:
            handle.remove()
        raise DiscoveryError("the forward never reached %s" % stack[0][0])

    pname, pparts = _prefix_parts(model, events, stack, skip)
    stages = [Stage(pname, "embedding", "prefix", pparts, prefix)]
    for path, layer in stack:
        stages.append(Stage(path, type(layer).__name__, "layer", [layer],
                            _layer_fn(layer, ctx)))
    stages += _tail_stages(model, events, stack, skip, calls, out)
    chain = ChainModel(model, stages, inputs, input_key, loss_fn, ctx,
                       tuple_out)
    _verify(chain, out)
    return chain


def _layer_fn(layer, ctx):
    def run(h):
        return output_tensor(layer(h, *ctx.args, **ctx.kwargs))
    return run


def _tail_stages(model, events, stack, skip, calls, out):
    last = output_tensor(calls[len(stack) - 1][2])
    target = output_tensor(out)
    named = _tail_modules(model, events, stack, skip)
    groups = _group(named)
    with torch.no_grad():
        composed = _seq_fn([m for _, m in named])(last) if named else last
    if _close(composed, target):
        return [Stage(g[-1][0] if len(g) == 1 else _param_path(g),
                      _kind(*_param_named(g)), "tail", [m for _, m in g],
                      _seq_fn([m for _, m in g])) for g in groups]
    head = getattr(model, "forward_head", None)
    if head is None:
        raise DiscoveryError("the modules after %s do not compose to the "
                             "model's output; use the graph export"
                             % stack[-1][0])
    inside = _modules_in(model, head, last)
    before = [(p, m) for p, m in named if id(m) not in inside]
    stages = [Stage(_param_path(g), _kind(*_param_named(g)), "tail",
                    [m for _, m in g], _seq_fn([m for _, m in g]))
              for g in _group(before)]
    clf = model.get_classifier() if hasattr(model, "get_classifier") else None
    hname = next((p for p, m in model.named_modules() if m is clf), "head")
    stages.append(Stage(hname, "head", "tail_fn",
                        [m for _, m in named if id(m) in inside],
                        lambda x: head(x)))
    return stages


def _param_named(group):
    for path, m in group:
        if any(True for _ in m.parameters()):
            return path, m
    return group[0]


def _param_path(group):
    return _param_named(group)[0]


def _modules_in(model, fn, x):
    seen, handles = set(), []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(
            lambda mod, args: seen.add(id(mod))))
    try:
        with torch.no_grad():
            fn(x)
    finally:
        for h in handles:
            h.remove()
    return seen


def _verify(chain, out):
    x = chain.x0
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)
        for s in chain.stages:
            x = s(x)
    if not _close(x, output_tensor(out)):
        raise DiscoveryError("running the stages one after the other does "
                             "not reproduce the model's output")
