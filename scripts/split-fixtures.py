#!/usr/bin/env python3
"""Writes tests/data/split/: real joint graphs and PyTorch's saved sets.

For each model of remat_torch.compile_frontier (``--models``, default unet,
resnet18 and vit), the training step's joint forward-backward graph is
captured from torch.compile, merged (CSE) and lowered to remat's graph form
as remat's partitioner lowers it (``MODEL.json``, times from this machine's
calibrated cost model). PyTorch's own partitioner,
``min_cut_rematerialization_partition`` with the ``dp`` knapsack solver, is
then run on copies of the same graph at each ``activation_memory_budget``
of ``--budgets``, and the forward values it saves are mapped to the lowered
groups (``pytorch-saved.json``).

tests/planner/GraphSplitTest.cpp ("on real joint graphs") builds each
saved set's schedule with its own code, simulates it, and asks remat's
split planner for a plan no slower within the same peak: a reference from a package remat did
not write; it expects the default models and budgets (16 saved sets).
Usage (a few minutes on CPU; nothing is written unless every model
succeeds, each file through a temporary file and a rename):

    /opt/remat-py/bin/python scripts/split-fixtures.py [--out DIR]
        [--models unet,resnet18,vit,gpt2] [--budgets 0.2,0.4,0.6,0.8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import torch  # noqa: E402
from torch._inductor.custom_graph_pass import CustomPartitionerFn  # noqa: E402

from remat_torch import compile_frontier as cf  # noqa: E402
from remat_torch.export import write_text  # noqa: E402
from remat_torch.partition_cost import calibrate  # noqa: E402
from remat_torch.partition_lower import (  # noqa: E402
    lower_joint_graph, merge_common_subexpressions)
from remat_torch.reference import (  # noqa: E402
    copy_joint, pytorch_saved_groups)


def capture_joint(name):
    """The first joint graph torch.compile partitions for the model's step,
    with its partitioner keyword arguments."""
    step, inputs = cf.MODELS[name]()
    captured = []

    class Capture(CustomPartitionerFn):
        def __call__(self, gm, joint_inputs, **kwargs):
            from torch._functorch.partitioners import (
                min_cut_rematerialization_partition)
            captured.append((copy_joint(gm), kwargs))
            return min_cut_rematerialization_partition(gm, joint_inputs,
                                                       **kwargs)

        def uuid(self):
            return None

    def backend(gm, example_inputs):
        from torch._inductor import config as inductor_config
        from torch._inductor.compile_fx import compile_fx
        with inductor_config.patch(custom_partitioner_fn=Capture(),
                                   fx_graph_cache=False):
            return compile_fx(gm, example_inputs)

    torch._dynamo.reset()
    torch.compile(step, backend=backend, fullgraph=True)(*inputs).backward()
    return captured[0]


def _parse(argv):
    """Arguments; usage errors (exit 2) name the bad value before any
    compile."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data",
                                                  "split"))
    ap.add_argument("--models", default="unet,resnet18,vit,gpt2")
    ap.add_argument("--budgets", default="0.2,0.4,0.6,0.8")
    args = ap.parse_args(argv)
    cf.check_names(ap, "--models", args.models, cf.MODELS)
    cf.check_budgets(ap, args.budgets)
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cost = calibrate()
    budgets = [float(b) for b in args.budgets.split(",")]
    doc = {"torch": torch.__version__, "solver": "dp",
           "cost_model": cost.describe(), "models": {}}
    # Everything is computed before anything is written, so a failure leaves
    # the fixtures as they were, never graphs and saved sets of two runs.
    files = {}
    for name in args.models.split(","):
        joint, kwargs = capture_joint(name)
        joint.graph.eliminate_dead_code()
        joint.recompile()
        # Both partitioners see the merged graph, so node names agree.
        merge_common_subexpressions(joint, kwargs["num_fwd_outputs"])
        lowered = lower_joint_graph(joint, kwargs["num_fwd_outputs"], cost)
        files[f"{name}.json"] = lowered.model(name)
        sets = {}
        for b in budgets:
            groups, unmapped = pytorch_saved_groups(joint, kwargs, lowered, b,
                                                    "dp")
            sets[str(b)] = {"saved": groups, "unmapped": unmapped}
            print(f"{name} {b}: {len(groups)} saved groups, "
                  f"{len(unmapped)} values unmapped", flush=True)
        doc["models"][name] = sets
    files["pytorch-saved.json"] = doc
    os.makedirs(args.out, exist_ok=True)
    for file, content in files.items():
        write_text(json.dumps(content, indent=1) + "\n",
                   os.path.join(args.out, file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
