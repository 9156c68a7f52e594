#!/usr/bin/env python3
"""Which of the side by side's models the lowering's addmm rule changes
(docs/compiler-pass.md, "Inductor's addmm rewrite in the lowering").

For each MODEL (compile_frontier's models), traces its training step to
the joint graph (torch.compile, CPU), lowers it twice, with
``partition_lower.addmm_reader`` and with it disabled, and prints one JSON
object per model: whether the two remat models are identical, their node
counts, and the groups the rule merges away (the products it puts in an
add's group).

  PYTHONPATH=python /opt/remat-py/bin/python scripts/addmm-rule-check.py \\
      gpt2 vit unet resnet18

Exit 2 on bad arguments (argparse names them).
"""

import argparse
import json
import sys
from unittest import mock

import torch

from remat_torch import compile_frontier as cf
from remat_torch import partition_lower as lower
from remat_torch.partition_cost import CostModel


def lowered_both_ways(name: str) -> dict:
    """The remat model of ``name``'s joint graph with the addmm rule (True)
    and without it (False); fixed cost constants, as only groups matter."""
    from torch._functorch.partitioners import (
        min_cut_rematerialization_partition)
    from torch._inductor import config as inductor_config
    from torch._inductor.custom_graph_pass import CustomPartitionerFn
    step, inputs = cf.MODELS[name]()
    out = {}

    class Capture(CustomPartitionerFn):
        def __call__(self, gm, joint_inputs, **kwargs):
            n = kwargs["num_fwd_outputs"]
            lower.merge_common_subexpressions(gm, n)
            cost = CostModel(1e10, 1e10, 1e-6, measure_workspace=False)
            out[True] = lower.lower_joint_graph(gm, n, cost).model(name)
            with mock.patch.object(lower, "addmm_reader",
                                   lambda *args: None):
                out[False] = lower.lower_joint_graph(gm, n, cost).model(name)
            return min_cut_rematerialization_partition(gm, joint_inputs,
                                                       **kwargs)

        def uuid(self):
            return None
    torch._dynamo.reset()
    with inductor_config.patch(custom_partitioner_fn=Capture(),
                               fx_graph_cache=False):
        torch.compile(step, fullgraph=True)(*inputs).backward()
    torch._dynamo.reset()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", choices=sorted(cf.MODELS))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.models:
        both = lowered_both_ways(name)
        names = {k: [n["name"] for n in both[k]["graph"]["nodes"]]
                 for k in both}
        print(json.dumps({
            "model": name, "identical": both[True] == both[False],
            "nodes_with_rule": len(names[True]),
            "nodes_without_rule": len(names[False]),
            "merged_away": sorted(set(names[False]) - set(names[True]))}),
            flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
