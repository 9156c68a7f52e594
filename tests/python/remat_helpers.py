"""Shared helpers for the remat_torch tests (not a test module)."""

import importlib.util
import json
import os
import subprocess

import torch

from remat_torch import plain_run

SOURCE_DIR = os.environ.get(
    "REMAT_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
REMAT_BINARY = os.environ.get("REMAT_BINARY", "")


def load_example(name):
    """Imports python/examples/<name>.py as a module."""
    path = os.path.join(SOURCE_DIR, "python", "examples", name + ".py")
    spec = importlib.util.spec_from_file_location("example_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def segment_ops(num_layers, segments):
    """Chain ops (spec 3a) of a single-level plan, written from the spec.

    ``segments``: (begin, end, checkpointed) covering [0, L) in order. A
    stored segment records every stage (F_all). A checkpointed one keeps its
    input (F_ck on its first stage) and drops the rest (F_n); after the loss
    it is recomputed recording (F_all) and differentiated.
    """
    ops = []
    for begin, end, ckpt in segments:
        for i in range(begin, end):
            if not ckpt:
                ops.append({"op": "F_all", "layer": i})
            else:
                ops.append({"op": "F_ck" if i == begin else "F_n",
                            "layer": i})
    ops.append({"op": "loss"})
    for begin, end, ckpt in reversed(segments):
        if ckpt:
            ops += [{"op": "F_all", "layer": i} for i in range(begin, end)]
        ops += [{"op": "B", "layer": i} for i in reversed(range(begin, end))]
    return ops


def quadratic_ops(num_layers):
    """Keep only x_0; before each B t, recompute x_t from x_0 (without
    recording) and record stage t. Stage i then runs L + 1 - i times: once
    before the loss, once per later t > i as a recomputation, and once
    recording."""
    ops = [{"op": "F_ck", "layer": 0}]
    ops += [{"op": "F_n", "layer": i} for i in range(1, num_layers)]
    ops.append({"op": "loss"})
    for t in reversed(range(num_layers)):
        for i in range(t):
            ops.append({"op": "F_ck" if i == 0 else "F_n", "layer": i})
        ops += [{"op": "F_all", "layer": t}, {"op": "B", "layer": t}]
    return ops


def reference_grads(blocks, x0, loss_fn, seed):
    """Parameter gradients of a plain run from RNG seed ``seed`` (cloned), with
    every ``.grad`` cleared afterwards so the next run starts from zero."""
    torch.manual_seed(seed)
    plain_run(blocks, x0, loss_fn)
    ref = [p.grad.clone() for p in blocks.parameters()]
    for p in blocks.parameters():
        p.grad = None
    return ref


def run_remat(*args):
    """Runs the remat binary; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([REMAT_BINARY] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def not_ready(stderr):
    """True when remat reports a part that has not landed yet."""
    return "not implemented yet" in stderr


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
