#!/usr/bin/env python3
"""Compiles the Python that `remat emit` writes for every model in a corpus.

usage: fuzz/check-emitted.py REMAT CORPUS_DIR

For each file of CORPUS_DIR that `remat inspect` accepts (chains and graphs
of at most 64 stages or nodes, as fuzz_emit takes them), plans `none` and
`sqrt` (chains) or `none` and `recompute-all` (graphs), emits every Python
target with --json, and compiles each snippet (plan, nearest plan, the
PyTorch plan's torch_checkpoint and selective_ac code) with compile(). It
also checks with tokenize that no `__import__` name appears outside comments
and strings. Prints the counts; exits 1 on the first failure.
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import tokenize

PYTHON_TARGETS = ["pytorch", "hf", "deepspeed", "jax"]


def run(args):
    return subprocess.run(args, capture_output=True, timeout=60)


def snippets(doc):
    out = [doc.get("plan", {}).get("snippet")]
    nearest = doc.get("nearest") or {}
    if isinstance(nearest, dict):
        out.append((nearest.get("plan") or {}).get("snippet"))
    tp = doc.get("torch_plan") or {}
    for key in ("torch_checkpoint", "selective_ac"):
        part = tp.get(key) if isinstance(tp, dict) else None
        if isinstance(part, dict):
            out.append(part.get("code"))
    return [s for s in out if s]


def check(code, where):
    compile(code, where, "exec")
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.NAME and tok.string == "__import__":
            raise SyntaxError(f"{where}: __import__ outside a comment")


def main():
    remat, corpus = sys.argv[1], sys.argv[2]
    models = compiled = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(corpus)):
            path = os.path.join(corpus, name)
            r = run([remat, "inspect", path, "--json"])
            if r.returncode != 0:
                continue
            info = json.loads(r.stdout)
            chain = info.get("form") == "chain" or info.get(
                "recognised_as_chain")
            size = info.get("layers") if chain else info["nodes"]["total"]
            if (size or 0) > 64:
                continue
            models += 1
            for strategy in ("none", "sqrt" if chain else "recompute-all"):
                sched = os.path.join(tmp, "s.json")
                if run([remat, "plan", path, "--strategy", strategy, "-o",
                        sched]).returncode != 0:
                    continue
                for target in PYTHON_TARGETS:
                    e = run([remat, "emit", sched, "--target", target,
                             "--model", path, "--json"])
                    if e.returncode != 0:
                        continue
                    for code in snippets(json.loads(e.stdout)):
                        try:
                            check(code, f"{name} {strategy} {target}")
                        except (SyntaxError, ValueError) as err:
                            print(f"FAIL {name} {strategy} {target}: {err}")
                            return 1
                        compiled += 1
    print(f"{models} models, {compiled} snippets compiled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
