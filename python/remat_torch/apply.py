"""Running remat chain schedules on PyTorch block stacks.

The executor interprets the op list of spec section 3a literally:

- ``F_ck i`` / ``F_n i``: run block i without recording (``torch.no_grad``)
  on x_i (or on the output held in x̄_i); keep x_{i+1}. ``F_n`` then frees its
  input.
- ``F_all i``: run block i recording: the input is detached into a leaf that
  requires grad, so the block's autograd graph is local to it. x̄_{i+1} is
  that (leaf, output) pair.
- ``loss``: y_L, the gradient of the loss with respect to x_L.
- ``B i``: ``torch.autograd.backward(output_{i+1}, y_{i+1})``; y_i is the
  leaf's ``.grad``. Parameter gradients accumulate as in a plain run.

RNG: the state (CPU and every CUDA device in use) is saved when a block runs
for the first time; each later run of that block restores it inside
``torch.random.fork_rng``, so dropout masks repeat and the global RNG stream
advances exactly as in a plain run.
"""

import json
import os

import torch

from .blocks import as_blocks


class ScheduleError(ValueError):
    """The op list is malformed or needs a tensor that is not resident."""


def load_plan(source):
    """Reads the chain ops of a schedule file or a remat-torch-plan document.

    ``source`` is a path or an already parsed dict. Returns
    ``{"ops": [...], "names": [...] or None, "format": ...}``.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as f:
            doc = json.load(f)
        where = str(source)
    else:
        doc, where = source, "<plan>"
    fmt = doc.get("format")
    if fmt not in ("remat-schedule", "remat-torch-plan"):
        raise ScheduleError("%s: format is %r, expected remat-schedule or "
                            "remat-torch-plan" % (where, fmt))
    if doc.get("dialect", "chain") != "chain":
        raise ScheduleError("%s: only chain-dialect plans can be run" % where)
    ops = doc.get("ops")
    if not isinstance(ops, list) or not ops:
        raise ScheduleError("%s: no ops" % where)
    for k, op in enumerate(ops):
        if op.get("op") not in ("F_ck", "F_n", "F_all", "loss", "B"):
            if "node" in op:
                raise ScheduleError("%s: ops[%d] is a graph-dialect op; only "
                                    "chain schedules can be run" % (where, k))
            raise ScheduleError("%s: ops[%d].op %r is unknown"
                                % (where, k, op.get("op")))
    names = None
    if "layers" in doc and isinstance(doc["layers"], list):
        names = [l.get("name") for l in doc["layers"]]
    return {"ops": ops, "names": names, "format": fmt}


def schedule_forward_counts(ops, num_layers):
    """Forward ops (F_ck, F_n, F_all) per layer: how often each block runs."""
    counts = [0] * num_layers
    for op in ops:
        if op["op"] in ("F_ck", "F_n", "F_all"):
            counts[op["layer"]] += 1
    return counts


class ForwardCounter:
    """Counts forward calls of each block through forward pre-hooks.

    Use as a context manager; ``counts[i]`` is the number of calls block i
    started. A call is counted when it starts, not when it returns: torch
    2.x's non-reentrant checkpoint stops a recomputation as soon as it has
    every tensor the backward needs (``set_checkpoint_early_stop``, on by
    default), which is often inside a segment's last block, whose forward
    hook then never fires although the block did run again.
    """

    def __init__(self, blocks):
        self.modules = [m for _, m in as_blocks(blocks)]
        self.counts = [0] * len(self.modules)
        self._handles = []

    def __enter__(self):
        for i, m in enumerate(self.modules):
            self._handles.append(
                m.register_forward_pre_hook(self._hook(i)))
        return self

    def _hook(self, i):
        def hook(module, inputs):
            self.counts[i] += 1
        return hook

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        return False


def _cuda_devices(tensor):
    if tensor.is_cuda:
        return [tensor.device.index if tensor.device.index is not None
                else torch.cuda.current_device()]
    return []


class _RngReplay:
    """Saves each block's RNG state at its first run and replays it later."""

    def __init__(self, devices, enabled):
        self.devices = devices
        self.enabled = enabled
        self.states = {}

    def run(self, i, fn):
        if not self.enabled:
            return fn()
        if i not in self.states:
            cuda = [torch.cuda.get_rng_state(d) for d in self.devices]
            self.states[i] = (torch.get_rng_state(), cuda)
            return fn()
        cpu, cuda = self.states[i]
        with torch.random.fork_rng(devices=self.devices):
            torch.set_rng_state(cpu)
            for d, s in zip(self.devices, cuda):
                torch.cuda.set_rng_state(s, d)
            return fn()


def _leaf(x):
    leaf = x.detach()
    if leaf.is_floating_point() or leaf.is_complex():
        leaf.requires_grad_(True)
    return leaf


class _Interpreter:
    """Runs chain ops under spec section 3a.

    The residency rules, and the order in which an op's faults are checked,
    are those of the C++ replay engine (planner/ChainReplay.h): this code
    cannot share it, so tests/python/test_schedule_rules.py holds the two to
    the same verdicts, op index for op index, on the simulator's golden
    invalid schedules and on seeded random op lists.
    """

    def __init__(self, modules, x0, loss_fn, preserve_rng_state,
                 input_grad=True):
        self.modules = modules
        self.input_grad = input_grad
        self.L = len(modules)
        self.plain = {0: x0.detach()}
        self.bar = {}
        # Whether the last stage's recorded forward saved its own output.
        self.saves_last = True
        self.grads = {}
        self.loss_fn = loss_fn
        self.loss = None
        self.rng = _RngReplay(_cuda_devices(x0), preserve_rng_state)

    @staticmethod
    def fail(k, op, what):
        if op["op"] == "loss":
            raise ScheduleError("op %d (loss): %s" % (k, what))
        raise ScheduleError("op %d (%s layer %d): %s"
                            % (k, op["op"], op["layer"], what))

    def value(self, i, k, op):
        if i in self.plain:
            return self.plain[i]
        if i in self.bar:
            return self.bar[i][1].detach()
        self.fail(k, op, "x_%d is not resident" % i)

    def check_layer(self, k, op):
        i = op["layer"]
        if not 0 <= i < self.L:
            self.fail(k, op, "layer %d is out of range (%d blocks)"
                      % (i, self.L))
        return i

    def forward(self, k, op):
        i = self.check_layer(k, op)
        x = self.value(i, k, op)
        if i + 1 in self.plain:
            self.fail(k, op, "x_%d is already resident" % (i + 1))
        if i + 1 in self.bar:
            self.fail(k, op, "x̄_%d is already resident" % (i + 1))
        block = self.modules[i]
        if op["op"] == "F_all":
            # Without input_grad, B_0 computes no y_0 (a plain step does not
            # differentiate a model's input: ViT's patch embedding, ResNet's
            # stem convolution pay for one otherwise).
            leaf = _leaf(x) if i or self.input_grad else x.detach()
            saved = set()

            def pack(t):
                saved.add(t.untyped_storage().data_ptr())
                return t

            def rec():
                with torch.enable_grad(), \
                        torch.autograd.graph.saved_tensors_hooks(
                            pack, lambda t: t):
                    return block(leaf)
            out = self.rng.run(i, rec)
            self.bar[i + 1] = (leaf, out)
            if i + 1 == self.L:
                # An output that aliases its input is held by x_{L-1}.
                ptr = out.untyped_storage().data_ptr()
                self.saves_last = ptr in saved or \
                    ptr == leaf.untyped_storage().data_ptr()
                if self.loss is not None:
                    self._free_last_output(out)
            return

        def run():
            with torch.no_grad():
                return block(x)
        self.plain[i + 1] = self.rng.run(i, run)
        if op["op"] == "F_n":
            if i in self.plain:
                del self.plain[i]
            else:
                del self.bar[i]

    def loss_op(self, k, op):
        if self.loss is not None:
            self.fail(k, op, "the loss has already run")
        x = self.value(self.L, k, op)
        leaf, saved = _leaf(x), set()

        def pack(t):
            saved.add(t.untyped_storage().data_ptr())
            return t

        with torch.enable_grad(), \
                torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = self.loss_fn(leaf)
        # Spec 3a's frees_input: x_L goes once the loss has read it, before
        # the loss's backward makes y_L, as in a plain step once cross
        # entropy has its log-probabilities: the storage, not the tensor,
        # whose autograd node B may still need.
        if leaf.untyped_storage().data_ptr() not in saved:
            self._free_last_output(leaf)
        loss.backward()
        self.grads[self.L] = leaf.grad
        self.loss = loss.detach()
        self.plain.pop(self.L, None)

    def _free_last_output(self, x):
        """Frees the storage of ``x`` (x_L) unless the last stage's backward
        reads it or it is another resident tensor's too (a view)."""
        if self.L in self.bar and self.saves_last:
            return
        ptr = x.untyped_storage().data_ptr()
        others = [t for i, t in self.plain.items() if i < self.L]
        others += [leaf for leaf, _ in self.bar.values()]
        others += [out for i, (_, out) in self.bar.items() if i < self.L]
        if all(t.untyped_storage().data_ptr() != ptr for t in others):
            x.untyped_storage().resize_(0)

    def backward(self, k, op):
        i = self.check_layer(k, op)
        if i + 1 not in self.bar:
            self.fail(k, op, "x̄_%d is not resident" % (i + 1))
        if i + 1 not in self.grads:
            self.fail(k, op, "y_%d is not resident" % (i + 1))
        if i in self.grads:
            self.fail(k, op, "y_%d is already resident" % i)
        leaf, out = self.bar.pop(i + 1)
        grad = self.grads.pop(i + 1)
        if out.requires_grad:
            torch.autograd.backward(out, grad)
        self.grads[i] = leaf.grad
        self.plain.pop(i, None)

    def run(self, ops):
        for k, op in enumerate(ops):
            kind = op["op"]
            if kind == "loss":
                self.loss_op(k, op)
            elif kind == "B":
                self.backward(k, op)
            else:
                self.forward(k, op)
        if self.loss is None or 0 not in self.grads:
            raise ScheduleError("the schedule is incomplete: y_0 was never "
                                "produced")
        return self.loss, self.grads[0]


def run_schedule(blocks, ops, x0, loss_fn, preserve_rng_state=True,
                 input_grad=True):
    """Runs one training step's forward and backward under a schedule.

    ``blocks``: see :func:`as_blocks`. ``ops``: chain ops (dicts with "op"
    and "layer"), or a plan accepted by :func:`load_plan`. ``loss_fn`` maps
    x_L to a scalar. Parameter gradients accumulate into ``.grad`` as a plain
    ``loss.backward()`` would. Returns ``(loss, grad_of_x0)``; the gradient
    is None for inputs that are not floating point (e.g. token ids), and
    when ``input_grad`` is false: then the first block's backward does not
    compute it (its parameters' gradients are the same).
    """
    if isinstance(ops, (dict, str, os.PathLike)):
        ops = load_plan(ops)["ops"]
    modules = [m for _, m in as_blocks(blocks)]
    return _Interpreter(modules, x0, loss_fn, preserve_rng_state,
                        input_grad).run(ops)


def plain_run(blocks, x0, loss_fn):
    """The reference: a plain forward and ``loss.backward()``."""
    modules = [m for _, m in as_blocks(blocks)]
    x = _leaf(x0)
    h = x
    for m in modules:
        h = m(h)
    loss = loss_fn(h)
    loss.backward()
    return loss.detach(), x.grad


class _Segments(torch.nn.Module):
    def __init__(self, modules, segments):
        super().__init__()
        self.blocks = torch.nn.ModuleList(modules)
        self.segments = [(int(s["begin"]), int(s["end"]),
                          bool(s["checkpointed"])) for s in segments]

    def _run(self, begin, end):
        def f(x):
            for block in self.blocks[begin:end]:
                x = block(x)
            return x
        return f

    def forward(self, x):
        from torch.utils.checkpoint import checkpoint
        for begin, end, ckpt in self.segments:
            if ckpt:
                x = checkpoint(self._run(begin, end), x, use_reentrant=False,
                               preserve_rng_state=True)
            else:
                x = self._run(begin, end)(x)
        return x


def checkpoint_segments(blocks, segments):
    """A module that runs ``blocks`` under a single-level segment plan with
    ``torch.utils.checkpoint.checkpoint(use_reentrant=False,
    preserve_rng_state=True)``.

    ``segments``: the "segments" list of a remat-torch-plan (dicts with
    begin, end, checkpointed), covering every block in order.
    """
    modules = [m for _, m in as_blocks(blocks)]
    pos = 0
    for s in segments:
        if int(s["begin"]) != pos or int(s["end"]) <= pos:
            raise ScheduleError("segments must cover the blocks in order; "
                                "expected one starting at %d" % pos)
        pos = int(s["end"])
    if pos != len(modules):
        raise ScheduleError("segments cover %d of %d blocks"
                            % (pos, len(modules)))
    return _Segments(modules, segments)
