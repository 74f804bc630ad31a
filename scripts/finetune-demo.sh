#!/usr/bin/env bash
# Fine-tuning demonstration: pretrain the `baby` GPT on Tiny Shakespeare, then fine-tune it on Alice
# (data/alice.txt) with LoRA (r = 8), QLoRA (NF4 and Q4_0) and full fine-tuning for the same number of
# steps, and print the Alice validation losses, trainable fractions, adapter sizes and base-weight bytes.
#
# LoRA runs at each learning rate of LORA_LRS and full fine-tuning at each of FULL_LRS; each method is
# represented by its best run (the usual practice: LoRA wants a higher rate than full fine-tuning), and
# QLoRA uses LoRA's best rate.
#
# Usage: scripts/finetune-demo.sh   (environment: OUT, BASE, PRETRAIN_ITERS, ITERS, LORA_LRS, FULL_LRS)
# BASE: an existing checkpoint to fine-tune instead of pretraining one (e.g. the 2000-step `baby`).
# The pretrained base and finished runs are reused. Runs at low priority (nice 10).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-scratch/finetune-demo}
PRETRAIN_ITERS=${PRETRAIN_ITERS:-300}
ITERS=${ITERS:-150}
LORA_LRS=${LORA_LRS:-3e-3 1e-2}
FULL_LRS=${FULL_LRS:-3e-4 1e-3 3e-3}
WGRAD="nice -n 10 node bin/wgrad.js"
mkdir -p "$OUT"

BASE=${BASE:-$OUT/baby}
if [ ! -f "$BASE/DONE" ]; then
  $WGRAD train --preset baby --iters "$PRETRAIN_ITERS" --out "$BASE" --sample 0 --json > "$OUT/pretrain.jsonl"
fi

# Tiny Shakespeare's 65 characters lack Alice's ` " ( ) [ ] _ 0: they are replaced, explicitly and
# reported, by an apostrophe (Alice quotes with `…').
COMMON=(--base "$BASE" --data data/alice.txt --iters "$ITERS" --eval-interval 50 --eval-iters 10 --unknown replace --replacement "'" --json)
LORA=(--lora-r 8 --lora-alpha 16 --targets all-linear)
lr_flags() { echo --lr "$1" --min-lr "$(node -e "console.log($1 / 10)")"; }

run() { # name, flags…
  local name=$1
  shift
  [ -f "$OUT/$name.jsonl" ] && grep -q '"event":"final"' "$OUT/$name.jsonl" && return
  $WGRAD finetune "${COMMON[@]}" --out "$OUT/$name" "$@" > "$OUT/$name.jsonl"
}
final_loss() { grep '"event":"final"' "$OUT/$1.jsonl" | node -e "let s='';process.stdin.on('data',(d)=>s+=d).on('end',()=>console.log(JSON.parse(s).val_loss))"; }
for lr in $LORA_LRS; do run "lora-$lr" "${LORA[@]}" $(lr_flags "$lr"); done
for lr in $FULL_LRS; do run "full-$lr" --full $(lr_flags "$lr"); done
BEST_LORA_LR=$(for lr in $LORA_LRS; do echo "$(final_loss "lora-$lr") $lr"; done | sort -g | head -1 | cut -d' ' -f2)
run "qlora-nf4-$BEST_LORA_LR" "${LORA[@]}" $(lr_flags "$BEST_LORA_LR") --qlora nf4
run "qlora-q4_0-$BEST_LORA_LR" "${LORA[@]}" $(lr_flags "$BEST_LORA_LR") --qlora q4_0

node - "$OUT" "$BEST_LORA_LR" "$LORA_LRS" "$FULL_LRS" <<'EOF'
const { readFileSync } = require('node:fs');
const [out, bestLoraLr, loraLrs, fullLrs] = process.argv.slice(2).map((a, i) => (i < 2 ? a : a.split(' ')));
const final = (name) => JSON.parse(readFileSync(`${out}/${name}.jsonl`, 'utf8').trim().split('\n').find((l) => l.includes('"event":"final"')));
const names = [...loraLrs.map((lr) => `lora-${lr}`), ...fullLrs.map((lr) => `full-${lr}`), `qlora-nf4-${bestLoraLr}`, `qlora-q4_0-${bestLoraLr}`];
const runs = Object.fromEntries(names.map((n) => [n, final(n)]));
const best = (prefix, lrs) => lrs.map((lr) => runs[`${prefix}-${lr}`]).reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
const lora = best('lora', loraLrs);
const full = best('full', fullLrs);
const base = lora.base_val_loss;
console.log(`Alice validation split, whole; base model (pretrained on Tiny Shakespeare): loss ${base.toFixed(4)}`);
console.log('run          val loss  trainable           adapter file   base weights (linear layers)');
for (const [name, r] of Object.entries(runs)) {
  const frac = `${r.trainable_params} (${(100 * r.trainable_fraction).toFixed(2)}%)`;
  const file = r.adapter_file_bytes === null ? '-' : `${r.adapter_file_bytes} B`;
  console.log(`${name.padEnd(12)} ${r.val_loss.toFixed(4).padEnd(9)} ${frac.padEnd(19)} ${file.padEnd(14)} ${r.base_weight_bytes} B (${r.base_linear_weight_bytes} B)`);
}
const gain = (r) => base - r.val_loss;
for (const lr of fullLrs) console.log(`LoRA (best, lr ${bestLoraLr}) recovers ${(100 * gain(lora) / gain(runs[`full-${lr}`])).toFixed(1)}% of the improvement of full fine-tuning at lr ${lr}${runs[`full-${lr}`] === full ? ' (the best full run)' : ''} (target ≥ 80%)`);
for (const q of ['qlora-nf4', 'qlora-q4_0']) {
  const r = runs[`${q}-${bestLoraLr}`];
  console.log(`${q} ends ${(r.val_loss - lora.val_loss).toFixed(4)} from LoRA (target within 0.05); int4 linear weights are 1/${(lora.base_linear_weight_bytes / r.base_linear_weight_bytes).toFixed(2)} of float32 (target ≤ 1/6)`);
}
EOF
