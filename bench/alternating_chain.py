#!/usr/bin/env python3
"""Writes the 1,000-stage chain of docs/optimal-chain.md ("Which stage in
each run"): outputs alternating 40 and 4 MiB (stage 0's is 40 MiB), each
stage saving twice its output, forward 0.5 ms, backward 1 ms, no
workspaces, a 4 MiB input. Usage: bench/alternating_chain.py OUT.json
"""
import json
import os
import sys

MIB = 1 << 20


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: alternating_chain.py OUT.json\n")
        return 2
    layers = []
    for i in range(1000):
        out = 40 * MIB if i % 2 == 0 else 4 * MIB
        layers.append({"name": f"l{i}", "kind": "big" if out > 4 * MIB
                       else "small", "fwd_time": 0.5, "bwd_time": 1.0,
                       "output_bytes": out, "saved_bytes": 2 * out,
                       "fwd_workspace": 0, "bwd_workspace": 0})
    model = {"format": "remat-model", "version": 1, "name": "alt",
             "description": "alternating 40/4 MiB outputs", "time_unit": "ms",
             "batch_size": 1,
             "static_bytes": {"parameters": 0, "gradients": 0,
                              "optimizer": 0},
             "input_bytes": 4 * MIB,
             "loss": {"bwd_time": 0.0, "bwd_workspace": 0},
             "layers": layers}
    # Through a temporary file and a rename: never a half-written model.
    tmp = f"{argv[1]}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(model, f)
    os.replace(tmp, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
