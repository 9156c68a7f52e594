#!/usr/bin/env python3
"""executor-cost.py - what remat_torch's executor adds to a plain step, and
where it comes from (docs/runtime.md, "Fidelity on real models").

Times, in interleaved rounds on the thread's CPU clock (one torch thread),
the store-all schedule of a zoo model run five ways: the model's own
forward and backward (the plain step), its stages composed by hand, and
``run_schedule`` with RNG replay, without it, and without the input's
gradient (``input_grad=False``). Prints the median of each and its excess
over the plain step.

usage: /opt/remat-py/bin/python scripts/executor-cost.py [MODEL...]
       [--rounds N]   (MODEL: a remat_torch.zoo name, default timm-vit
       timm-resnet gpt2; run with PYTHONPATH=python)
"""
import argparse
import statistics
import sys
import time

import torch

from remat_torch import run_schedule, zoo
from remat_torch.models import discover_chain, output_tensor


def variants(made):
    model, inputs, loss_fn = made["model"], made["inputs"], made["loss_fn"]
    chain = discover_chain(model, inputs, loss_fn)
    L = len(chain.stages)
    ops = [{"op": "F_all", "layer": i} for i in range(L)] + [{"op": "loss"}]
    ops += [{"op": "B", "layer": i} for i in reversed(range(L))]
    x0 = inputs[chain.input_key]

    def plain():
        loss_fn(output_tensor(model(**inputs))).backward()

    def composed():
        x = x0
        for s in chain.stages:
            x = s(x)
        loss_fn(x).backward()

    def executor(**kw):
        return lambda: run_schedule(chain.blocks(), ops, x0, loss_fn, **kw)
    return [("plain step", plain), ("stages composed", composed),
            ("executor", executor()),
            ("executor, no RNG replay", executor(preserve_rng_state=False)),
            ("executor, no input gradient", executor(input_grad=False))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*",
                   default=["timm-vit", "timm-resnet", "gpt2"])
    p.add_argument("--rounds", type=int, default=12,
                   help="timed rounds after one warm-up (default 12)")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    unknown = [m for m in args.models if m not in zoo.CHAIN]
    if unknown:
        p.error("not a chain model of remat_torch.zoo: %s; chain models: %s"
                % (", ".join(unknown), ", ".join(zoo.CHAIN)))
    torch.set_num_threads(1)
    for name in args.models:
        made = zoo.build(name, size="small", device=torch.device("cpu"))
        runs = variants(made)
        times = {label: [] for label, _ in runs}
        for r in range(args.rounds + 1):
            for label, fn in runs:
                made["model"].zero_grad(set_to_none=True)
                torch.manual_seed(0)
                t = time.thread_time()
                fn()
                if r:
                    times[label].append((time.thread_time() - t) * 1e3)
        base = statistics.median(times["plain step"])
        for label, _ in runs:
            m = statistics.median(times[label])
            print("%-12s %-28s %8.2f ms %+6.1f%%"
                  % (name, label, m, 100 * (m / base - 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
