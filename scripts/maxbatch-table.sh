#!/usr/bin/env bash
# Prints the max-batch table of docs/maxbatch.md (Markdown, on stdout): for
# SD 2.1 and SDXL U-Nets, Llama 2 7B under several training set-ups and
# ViT-L/16, the largest batch on one 80 GB card per strategy, from
# `remat maxbatch --json`. The reference column is the commonly quoted
# A100-80GB table that docs/maxbatch.md discusses.
#
# usage: scripts/maxbatch-table.sh [REMAT_BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
remat=${1:-$root/build/cli/remat}
[[ -x $remat ]] || { echo "maxbatch-table.sh: build remat first (scripts/build.sh)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mem=80GB

# name | model file | reference (standard -> checkpointed)
rows=()
add() { rows+=("$1|$2|$3"); }
add "SD 2.1 U-Net, 512² (AdamW mixed)" "$root/data/models/sd21-unet.json" "4 → 12"
add "SDXL U-Net, 1024² (AdamW mixed)" "$root/data/models/sdxl-unet.json" "1 → 4"
"$remat" gen llama --name llama2-7b-8bit --optimizer adamw-8bit -o "$tmp/l8.json"
"$remat" gen llama --name llama2-7b-lora --trainable-params 4194304 -o "$tmp/lora.json"
"$remat" gen llama --name llama2-7b-zero3 --zero 3 --devices 8 -o "$tmp/z3.json"
"$remat" gen vit --name vit-l16-fp32 --activation-precision fp32 -o "$tmp/vit32.json"
add "Llama 2 7B, seq 4096, AdamW mixed" "$root/data/models/llama2-7b.json" "1 → 4"
add "Llama 2 7B, AdamW 8-bit" "$tmp/l8.json" ""
add "Llama 2 7B, LoRA r8 on q,v (frozen bf16 base)" "$tmp/lora.json" ""
add "Llama 2 7B, AdamW mixed, ZeRO-3 over 8" "$tmp/z3.json" ""
add "ViT-L/16, 224² (AdamW mixed)" "$root/data/models/vit-l16.json" "32 → 96"
add "ViT-L/16, 224², fp32 activations (AdamW mixed)" "$tmp/vit32.json" "32 → 96"

echo "| model and set-up | static | none | every layer | selective attention | √L | optimal | optimal ≤ 10% | optimal ≤ 33% | reference |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
  IFS='|' read -r name file ref <<<"$r"
  if ! "$remat" maxbatch "$file" --device-memory "$mem" --json >"$tmp/out.json" 2>"$tmp/err"; then
    echo "| $name | $(sed 's/|/\\|/g' "$tmp/err" | head -1 | sed -e 's/^remat: error: //' -e 's/; for another training set-up.*//') | | | | | | | | $ref |"
    continue
  fi
  python3 - "$tmp/out.json" "$name" "$ref" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
rows = {r["label"]: r for r in j["strategies"]}
def cell(*labels):
    for l in labels:
        if l in rows:
            r = rows[l]
            b = r["max_batch"]
            if b == 0:
                return "0"
            return "%d (+%.0f%%)" % (b, 100 * r["overhead"])
    return "—"
static = j["static_bytes"] / 2**30
print("| %s | %.1f GiB | %s | %s | %s | %s | %s | %s | %s | %s |" % (
    sys.argv[2], static, cell("none"),
    cell("every --k 1", "recompute-all"),
    cell("selective --kinds attention"),
    cell("sqrt", "chen"),
    cell("optimal"), cell("optimal, overhead <= 10%"),
    cell("optimal, overhead <= 33%"), sys.argv[3] or "—"))
PY
done
