"""PyTorch's memory timeline, with the model's own tensors told apart by
their storages.

The profiler (``torch.profiler.profile(profile_memory=True)``) records each
tensor's creation and destruction; its memory timeline also files each one
under a category (parameter, gradient, activation...). Those categories are
guesses from the autograd graph, and on diffusers' U-Net they call 16.8 MiB
of other tensors parameters and 23.8 MiB gradients over a step
(docs/runtime.md): activations and activation gradients. So nothing here
reads them. A tensor is the model's when its storage is one of the model's
parameters or buffers, or a parameter gradient alive after the step; every
other tensor counts. This is the one meter of the CPU exports' workspaces
(export.py, graphexport.py) and of the fidelity table (fidelity.py).
"""

import collections

import torch

_BACKWARD_MARK = "remat_torch::backward"

#: ``times_us`` (one per event), ``levels`` (bytes after each event,
#: relative to ``base``), ``base`` (bytes of the counted tensors that
#: existed before the profile), ``mark_us`` (start of the
#: ``_BACKWARD_MARK`` range; None without one).
Timeline = collections.namedtuple("Timeline",
                                  "times levels base mark")


def static_storages(model):
    """Data pointers of ``model``'s parameters, buffers and the parameter
    gradients that exist now (after a step: the ones it made); empty for
    None."""
    if model is None:
        return set()
    tensors = list(model.parameters()) + list(model.buffers())
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    return {t.untyped_storage().data_ptr() for t in tensors}


def _events(prof, device):
    return [(t, action.name, key, nbytes) for t, action, (key, _v), nbytes
            in prof._memory_profile().timeline
            if key.device.type == device.type]


def _dropped(events, static):
    """Keys of tensors alive at the end whose storage is in ``static``
    (a key's storage pointer is only compared while the key is alive, so a
    freed activation whose address a gradient reuses later still counts)."""
    alive = {}
    for _, action, key, _n in events:
        if action in ("CREATE", "PREEXISTING"):
            alive[key] = getattr(getattr(key, "storage", None), "ptr", None)
        elif action == "DESTROY":
            alive.pop(key, None)
    return {key for key, ptr in alive.items() if ptr in static}


def _mark_us(prof):
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        e = stack.pop()
        if e.name == _BACKWARD_MARK:
            return e.start_time_ns // 1000
        stack.extend(e.children)
    return None


def profiled_timeline(fn, device, model=None):
    """The :class:`Timeline` of ``fn()`` on ``device``: every tensor the
    profiler records there, less ``model``'s (see the module doc). A tensor
    made before the profile enters it as PREEXISTING (in ``base``), and its
    destruction during ``fn`` lowers the levels below 0. ``fn``'s return
    value is kept alive until the profile is read."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True,
                 record_shapes=True, with_stack=True) as prof:
        keep = fn()
    events = _events(prof, device)
    drop = _dropped(events, static_storages(model))
    del keep
    base, level, times, levels = 0, 0, [], []
    for t, action, key, nbytes in events:
        if key in drop:
            continue
        if action == "PREEXISTING":
            base += nbytes
            continue
        if action == "CREATE":
            level += nbytes
        elif action == "DESTROY":
            level -= nbytes
        else:
            continue
        times.append(t // 1000)
        levels.append(level)
    return Timeline(times, levels, base, _mark_us(prof))


def profiled_peak(step, model=None):
    """Peak activation bytes of ``step()`` by PyTorch's memory timeline:
    the highest sum over the step of the bytes of every tensor the profiler
    records (those that existed before it, such as the input, included),
    less ``model``'s parameters, buffers and the parameter gradients alive
    at the step's end (see the module doc)."""
    tl = profiled_timeline(step, torch.device("cpu"), model)
    return tl.base + max(max(tl.levels, default=0), 0)
