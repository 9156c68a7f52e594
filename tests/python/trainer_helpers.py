"""Helpers for the tests of `remat emit` against the real trainers (not a
test module): hand-written single-level schedules of
tests/data/emit_layers.json and the per-stage forward counts they mean,
computed from the op list here, not from remat's analysis."""

import json
import os

from remat_helpers import REMAT_BINARY, SOURCE_DIR, run_remat, segment_ops

LAYERS_MODEL = os.path.join(SOURCE_DIR, "tests", "data", "emit_layers.json")
# tests/data/emit_layers.json: embed, h.N.attn and h.N.mlp for N < 3, head.
STAGES = ["embed", "h.0.attn", "h.0.mlp", "h.1.attn", "h.1.mlp", "h.2.attn",
          "h.2.mlp", "head"]
# Transformer layer N is stages 1 + 2N and 2 + 2N.
LAYER_STAGES = [(1, 2), (3, 4), (5, 6)]


def write_schedule(tmpdir, segments, name="hand.json"):
    """A remat schedule of emit_layers.json running ``segments`` ((begin,
    end, checkpointed) over the 8 stages); header fields come from a plan
    that remat makes of the same model (the emitter reads only the ops)."""
    base = os.path.join(tmpdir, "base.json")
    code, _, err = run_remat("plan", LAYERS_MODEL, "--strategy", "none",
                             "-o", base)
    if code != 0:
        raise RuntimeError(err)
    with open(base, encoding="utf-8") as f:
        doc = json.load(f)
    ops = segment_ops(len(STAGES), segments)
    for op in ops:
        if op["op"] != "loss":
            op["name"] = STAGES[op["layer"]]
    doc["ops"], doc["strategy"] = ops, "hand"
    path = os.path.join(tmpdir, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return path, ops


def forward_counts(ops):
    """Forward ops (F_ck, F_n, F_all) per stage of an op list."""
    counts = [0] * len(STAGES)
    for op in ops:
        if op["op"] in ("F_ck", "F_n", "F_all"):
            counts[op["layer"]] += 1
    return counts


def recomputed_layers(ops):
    """Indices of the transformer layers whose stages all run twice."""
    counts = forward_counts(ops)
    return [n for n, stages in enumerate(LAYER_STAGES)
            if all(counts[s] == 2 for s in stages)]


def emit(sched, target):
    """`remat emit SCHED --target TARGET --model emit_layers.json --json`."""
    code, out, err = run_remat("emit", sched, "--target", target, "--model",
                               LAYERS_MODEL, "--json")
    if code != 0:
        raise RuntimeError(err)
    return json.loads(out)


__all__ = ["LAYERS_MODEL", "STAGES", "LAYER_STAGES", "REMAT_BINARY",
           "write_schedule", "forward_counts", "recomputed_layers", "emit"]
