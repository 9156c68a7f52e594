"""Measuring a block stack and writing a remat model file (chain form).

For each block i, on the real input x_i of a sample batch:

- times, by default (``recompute="checkpoint"``): ``reps`` interleaved
  rounds of (a) the block's recorded forward and its backward, as a plain
  training step runs them, and (b) the same under
  ``torch.utils.checkpoint.checkpoint(use_reentrant=False,
  preserve_rng_state=True)``, which runs the forward, then recomputes it
  inside the backward. ``fwd_time`` is the median of (b) - (a): what one
  more forward of the block costs as checkpoint runs it (its saved-tensor
  hooks, RNG state and early stop included; measured 1.2-1.6 times the
  recorded forward alone on the CPU); ``bwd_time`` is the median of (a)
  minus ``fwd_time``. So ``fwd_time + bwd_time`` is the block's share of a
  plain step, and each recomputation the planner adds costs what it costs
  under checkpoint (a segment of k stages checkpointed as one call pays
  the call's fixed part once, charged here k times). Where the clock's
  noise makes that median zero or less (blocks of a few microseconds),
  ``fwd_time`` is the recorded forward alone, measured on the same clock:
  a recomputation is never free.
  ``recompute="executor"``: the same with (a) and (b) run as
  :func:`remat_torch.run_schedule` runs ``F_all, B`` and ``F_ck, F_all,
  B``. ``recompute=None``: the previous meaning, ``fwd_time`` the forward
  alone (``recording``: with autograd recording, else under
  ``torch.no_grad``) and ``bwd_time`` the backward alone.
  On the CPU with one intra-op thread, times are the calling thread's CPU
  time (``time.thread_time``): all of a step's work runs on that thread,
  and a shared machine's other processes do not count; otherwise wall time
  (with ``torch.cuda.synchronize`` on CUDA).
- ``output_bytes``: bytes of x_{i+1}.
- ``saved_bytes``: bytes of the storages autograd saves for the backward,
  seen through ``torch.autograd.graph.saved_tensors_hooks`` and counted once
  per storage (its data pointer), excluding parameters and buffers (static
  memory) and the input x_i (it belongs to the previous stage); the output's
  storage is always counted, so saved >= output as the spec requires.
- ``fwd_workspace`` / ``bwd_workspace``: on CUDA, the rise of
  ``torch.cuda.max_memory_allocated`` during the pass beyond what the pass
  leaves allocated. On the CPU (``cpu_workspace``, the default; else 0):
  from PyTorch's memory profiler (:func:`profiled_workspaces`), and
  ``loss.bwd_workspace`` the loss's rise above y_L during its forward and
  backward (:func:`_loss_workspace`). The meter is PyTorch's memory
  timeline less the block's own tensors, told apart by storage
  (:mod:`remat_torch.memtimeline`).
- ``loss.frees_input`` (spec 3a): set when the last block's backward does
  not save its output and the loss does not save its input (a head's logits
  under cross entropy), so that the plan frees x_L after the loss's
  forward, as the real step does.
"""

import json
import os
import statistics
import time

import torch
from torch.utils.checkpoint import checkpoint

from .blocks import as_blocks
from .memtimeline import _BACKWARD_MARK, profiled_timeline


def _storage(t):
    """(data pointer, bytes) of the storage behind ``t``; on the meta
    device, where every data pointer is 0, the storage's identity."""
    s = t.untyped_storage() if hasattr(t, "untyped_storage") else t._storage()
    if t.device.type == "meta":
        return s._cdata, s.nbytes()
    return s.data_ptr(), s.nbytes()


def _tensor_bytes(t):
    return t.numel() * t.element_size()


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(device):
    """The clock of every time measurement (see the module doc): the
    thread's CPU time on the CPU with one intra-op thread, else wall
    time."""
    if device.type == "cpu" and torch.get_num_threads() == 1:
        return time.thread_time
    return time.perf_counter


def _timed_ms(fn, device):
    clk = clock(device)
    _sync(device)
    start = clk()
    fn()
    _sync(device)
    return (clk() - start) * 1000.0


def _median_ms(fn, reps, device):
    return statistics.median(_timed_ms(fn, device) for _ in range(reps))


def _leaf(x):
    leaf = x.detach()
    if leaf.is_floating_point():
        leaf.requires_grad_(True)
    return leaf


def _saved_bytes(block, x, static_ptrs):
    """(bytes the recorded forward of ``block`` keeps for its backward, the
    output, whether autograd saves the output itself)."""
    seen = {}
    skip = set(static_ptrs() if callable(static_ptrs) else static_ptrs)
    skip.add(_storage(x)[0])

    def pack(t):
        ptr, nbytes = _storage(t)
        if ptr not in skip:
            seen[ptr] = nbytes
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with torch.enable_grad():
            out = block(_leaf(x))
    ptr, nbytes = _storage(out)
    # An output that aliases the input (a view) stays with x_i.
    saves_output = ptr in seen or ptr == _storage(x)[0]
    seen.setdefault(ptr, nbytes)
    return sum(seen.values()), out, saves_output


def _saves_input(fn, x):
    """Whether autograd saves ``x``'s storage when ``fn(x)`` records."""
    leaf, saved = _leaf(x), set()

    def pack(t):
        saved.add(_storage(t)[0])
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with torch.enable_grad():
            fn(leaf)
    return _storage(leaf)[0] in saved


def _static_pointers(modules):
    ptrs = set()
    for m in modules:
        for t in list(m.parameters()) + list(m.buffers()):
            ptrs.add(_storage(t)[0])
    return ptrs


def _backward_ms(block, x, reps, device):
    def once():
        with torch.enable_grad():
            out = block(_leaf(x))
        if not out.requires_grad:
            return 0.0
        grad = torch.ones_like(out)
        return _timed_ms(lambda: torch.autograd.backward(out, grad), device)
    once()  # warm-up
    return statistics.median(once() for _ in range(reps))


def _clear_grads(block):
    for p in block.parameters():
        p.grad = None  # as a step after zero_grad(set_to_none=True)


def _plain_pass(block, x, grad):
    """A plain step's share of the block: recorded forward, backward."""
    with torch.enable_grad():
        out = block(_leaf(x))
    torch.autograd.backward(out, grad)


def _checkpoint_pass(block, x, grad):
    """The block under torch.utils.checkpoint: forward, then the backward,
    which recomputes the forward first."""
    with torch.enable_grad():
        out = checkpoint(block, _leaf(x), use_reentrant=False,
                         preserve_rng_state=True)
    torch.autograd.backward(out, grad)


def _executor_pass(recompute):
    from .apply import run_schedule
    ops = [{"op": "F_all", "layer": 0}, {"op": "loss"},
           {"op": "B", "layer": 0}]
    if recompute:
        ops = [{"op": "F_ck", "layer": 0}, {"op": "loss"}] + \
            [ops[0], ops[2]]

    def run(block, x, grad):
        run_schedule([("block", block)], ops, x, lambda y: (y * grad).sum())
    return run


RECOMPUTE_RUNNERS = {
    "checkpoint": (_plain_pass, _checkpoint_pass),
    "executor": (_executor_pass(False), _executor_pass(True)),
}


def _recompute_times(block, x, reps, device, recompute):
    """(fwd_time, bwd_time) in ms as the module doc defines them for
    ``recompute`` ("checkpoint" or "executor"): interleaved rounds of the
    plain pass and the recomputing pass, medians."""
    plain, again = RECOMPUTE_RUNNERS[recompute]
    with torch.no_grad():
        grad = torch.ones_like(block(x))
    base, diff = [], []
    for k in range(reps + 1):  # round 0 warms up
        times = []
        for run in (plain, again):
            _clear_grads(block)
            times.append(_timed_ms(lambda: run(block, x, grad), device))
        if k:
            base.append(times[0])
            diff.append(times[1] - times[0])
    step = statistics.median(base)
    fwd = statistics.median(diff)
    if fwd <= 0.0:
        # On a block this small the clock's noise can swallow checkpoint's
        # extra work; a recomputation still runs one recorded forward, so
        # that (measured on the same clock) is the floor, never zero.
        fwd = _recording_ms(block, x, reps, device)
    fwd = min(fwd, step)
    return fwd, step - fwd


def _stage_times(block, x, reps, device, recompute, recording):
    """(fwd_time, bwd_time) of a block; see the module doc."""
    if recompute is not None:
        with torch.enable_grad():
            needs_backward = block(_leaf(x)).requires_grad
        if needs_backward:
            return _recompute_times(block, x, reps, device, recompute)
    if recording:
        fwd = _recording_ms(block, x, reps, device)
    else:
        with torch.no_grad():
            fwd = _median_ms(lambda: block(x), reps, device)
    return fwd, _backward_ms(block, x, reps, device)


def _workspaces(block, x, device):
    """(fwd, bwd) workspace bytes on CUDA; (0, 0) elsewhere."""
    if device.type != "cuda":
        return 0, 0
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    with torch.no_grad():
        out = block(x)
    fwd = torch.cuda.max_memory_allocated(device) - base - _tensor_bytes(out)
    del out
    with torch.enable_grad():
        leaf = _leaf(x)
        out = block(leaf)
    grad = torch.ones_like(out)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    if out.requires_grad:
        torch.autograd.backward(out, grad)
    bwd = torch.cuda.max_memory_allocated(device) - base
    if leaf.grad is not None:
        bwd -= _tensor_bytes(leaf.grad)
    return max(0, fwd), max(0, bwd)


def _profiled_rise(fn, device):
    """(peak, end) of the bytes allocated on ``device`` while ``fn()``
    runs, relative to its start, by PyTorch's memory profiler."""
    totals = profiled_timeline(fn, device).levels
    if not totals:
        return 0, 0
    return max(max(totals), 0), totals[-1]


def _split_at(times, totals, mark):
    """(totals before ``mark``, totals from it on)."""
    k = next((i for i, t in enumerate(times) if t >= mark), len(times))
    return totals[:k], totals[k:]


def profiled_workspaces(block, x, saved, device):
    """(fwd, bwd) workspace bytes measured with PyTorch's memory profiler:
    the transient above what the chain semantics (spec 3a) charge during
    the pass, so that an op's peak in the chain accounting is the real one.
    One profile of a recording forward then the backward (a profile of the
    backward alone would not see the saved tensors it frees as it goes:
    tensors made before a profile enter it without their frees).

    - forward: the recording forward's rise above ``saved`` (what ``F_all``
      charges). A forward without recording (``F_ck``, ``F_n``, or
      checkpoint's first forward) frees its intermediates as it goes and
      rises above its output by about its largest intermediates instead;
      the format has one ``fwd_workspace`` for both, and this is the one
      that matters where plans peak (recomputation during the backward).
    - backward: the rise during the backward above the memory at its start
      minus the input's gradient (what ``B`` charges); 0 when the saved
      tensors freed on the way make room for everything.
    """
    leaf = _leaf(x)
    with torch.no_grad():
        grad = torch.ones_like(block(x))
    _clear_grads(block)

    def step():
        with torch.enable_grad():
            out = block(leaf)
        if out.requires_grad:
            with torch.profiler.record_function(_BACKWARD_MARK):
                torch.autograd.backward(out, grad)

    # The block's parameter gradients are left out by storage: they are
    # alive at the step's end and cleared only after the profile is read.
    times, totals, _, mark = profiled_timeline(step, device, block)
    _clear_grads(block)
    if not totals:
        return 0, 0
    if mark is None:
        mark = times[-1] + 1
    before, during = _split_at(times, totals, mark)
    start = before[-1] if before else 0
    fwd = max(before, default=0) - saved
    bwd = 0
    if during:
        bwd = max(during) - start - (_tensor_bytes(x)
                                     if leaf.requires_grad else 0)
    return max(0, fwd), max(0, bwd)


def _recording_ms(block, x, reps, device):
    """Median forward time with autograd recording, as a training step's
    forward runs."""
    def once():
        leaf = _leaf(x)

        def run():
            with torch.enable_grad():
                block(leaf)
        return _timed_ms(run, device)
    return statistics.median(once() for _ in range(reps))


def _measure_block(name, block, x, reps, static_ptrs, device,
                   cpu_workspace=False, recording=False,
                   recompute="checkpoint"):
    with torch.no_grad():
        block(x)  # warm-up
    fwd, bwd = _stage_times(block, x, reps, device, recompute, recording)
    saved, out, saves_output = _saved_bytes(block, x, static_ptrs)
    fws, bws = _workspaces(block, x, device)
    if cpu_workspace and device.type == "cpu":
        fws, bws = profiled_workspaces(block, x, saved, device)
    _clear_grads(block)
    layer = {
        "name": name,
        "kind": getattr(block, "kind", None) or type(block).__name__,
        "fwd_time": round(fwd, 6),
        "bwd_time": round(bwd, 6),
        "output_bytes": _tensor_bytes(out),
        "saved_bytes": max(saved, _tensor_bytes(out)),
        "fwd_workspace": fws,
        "bwd_workspace": bws,
    }
    return layer, out.detach(), saves_output


def _loss_entry(loss_fn, x, reps, device, cpu_workspace=False):
    def once():
        leaf = _leaf(x)

        def run():
            with torch.enable_grad():
                loss = loss_fn(leaf)
            if loss.requires_grad:
                loss.backward()
        return _timed_ms(run, device)
    once()  # warm-up
    return {"bwd_time": round(statistics.median(once() for _ in range(reps)),
                              6),
            "bwd_workspace": _loss_workspace(loss_fn, x, device)
            if cpu_workspace and device.type == "cpu" else 0}


def _loss_workspace(loss_fn, x, device):
    """The loss op's workspace on the CPU, by PyTorch's memory profiler:
    the rise during the loss's forward and backward (what it saves, such as
    cross entropy's log-probabilities, and its temporaries) above the
    gradient y_L that the chain's ``loss`` op charges."""
    leaf = _leaf(x)

    def run():
        with torch.enable_grad():
            loss = loss_fn(leaf)
        if loss.requires_grad:
            loss.backward()

    peak, _ = _profiled_rise(run, device)
    return max(0, peak - (_tensor_bytes(x) if leaf.requires_grad else 0))


def export_model(blocks, sample_input, name, loss_fn=None, reps=5,
                 description="", shared_tensors=None, cpu_workspace=True,
                 recording=False, recompute="checkpoint"):
    """Measures ``blocks`` on ``sample_input`` and returns a remat-model dict.

    Runs where the blocks and the input are (CPU or CUDA). ``loss_fn`` (x_L
    -> scalar), when given, is timed as the loss. ``reps`` >= 1 timed runs
    per pass; the median is kept. Parameter gradients are cleared after each
    block's measurement. ``shared_tensors``, when given, is a function
    returning tensors every block may read without owning them (attention
    masks, rotary tables): like parameters, they are not counted as saved.
    ``cpu_workspace`` (default on): on the CPU, measure workspaces with
    PyTorch's memory profiler (:func:`profiled_workspaces`) instead of
    writing 0.
    ``recompute``: ``"checkpoint"`` (default), ``"executor"`` or None:
    which runner's cost of one more forward ``fwd_time`` is (module doc).
    ``recording`` (with ``recompute=None`` only): time forwards with
    autograd recording instead of under ``torch.no_grad``.
    """
    if recompute not in (None, "checkpoint", "executor"):
        raise ValueError("recompute must be 'checkpoint', 'executor' or "
                         "None")
    if reps < 1:
        raise ValueError("reps must be >= 1")
    pairs = as_blocks(blocks)
    modules = [m for _, m in pairs]
    device = sample_input.device
    static = _static_pointers(modules)
    static_ptrs = static
    if shared_tensors is not None:
        def static_ptrs():
            return static | {_storage(t)[0] for t in shared_tensors()}
    params = {}
    for m in modules:
        for p in m.parameters():
            params[_storage(p)[0]] = _tensor_bytes(p)
    layers, saves_output = [], True
    x = sample_input.detach()
    for layer_name, block in pairs:
        layer, x, saves_output = _measure_block(
            layer_name, block, x, reps, static_ptrs, device, cpu_workspace,
            recording, recompute)
        layers.append(layer)
    doc = {
        "format": "remat-model",
        "version": 1,
        "name": name,
        "description": description or "exported by remat_torch on %s"
        % device.type,
        "time_unit": "ms",
        "static_bytes": {"parameters": sum(params.values()),
                         "gradients": sum(params.values())},
        "input_bytes": _tensor_bytes(sample_input),
    }
    if loss_fn is not None:
        doc["loss"] = _loss_entry(loss_fn, x, reps, device, cpu_workspace)
        # Nothing reads x_L after the loss's forward (a head's logits under
        # cross entropy, which saves log-probabilities): spec 3a's
        # frees_input, so that x_L's share of x̄_L goes then.
        if pairs and not saves_output and not _saves_input(loss_fn, x):
            doc["loss"]["frees_input"] = True
    doc["layers"] = layers
    return doc


def write_text(text, path):
    """Writes text to path through a temporary file and a rename, so that
    an interrupted run never leaves a half-written file."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_model(doc, path):
    """Writes a model dict as JSON, through a temporary file and a rename."""
    write_text(json.dumps(doc, indent=2) + "\n", path)
