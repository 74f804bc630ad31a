#!/usr/bin/env bash
# Fine-tuning demonstration: pretrain the `baby` GPT on Tiny Shakespeare, then fine-tune it on Alice
# (data/alice.txt) with LoRA (r = 8), QLoRA (NF4 and Q4_0) and full fine-tuning for the same number of
# steps, and print the Alice validation losses, trainable fractions, adapter sizes and base-weight bytes.
#
# Full fine-tuning runs at each learning rate of FULL_LRS, and LoRA is compared with the best of them.
#
# Usage: scripts/finetune-demo.sh   (environment: OUT, PRETRAIN_ITERS, ITERS, LORA_LR, FULL_LRS)
# The pretrained base and finished runs are reused. Runs at low priority (nice 10).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-scratch/finetune-demo}
PRETRAIN_ITERS=${PRETRAIN_ITERS:-300}
ITERS=${ITERS:-150}
LORA_LR=${LORA_LR:-6e-3}
FULL_LRS=${FULL_LRS:-1e-3 3e-3}
WGRAD="nice -n 10 node bin/wgrad.js"
mkdir -p "$OUT"

if [ ! -f "$OUT/baby/DONE" ]; then
  $WGRAD train --preset baby --iters "$PRETRAIN_ITERS" --out "$OUT/baby" --sample 0 --json > "$OUT/pretrain.jsonl"
fi

# Tiny Shakespeare's 65 characters lack Alice's ` " ( ) [ ] _ 0: they are replaced, explicitly and
# reported, by an apostrophe (Alice quotes with `…').
COMMON=(--base "$OUT/baby" --data data/alice.txt --iters "$ITERS" --eval-interval 50 --eval-iters 10 --unknown replace --replacement "'" --json)
LORA=(--lora-r 8 --lora-alpha 16 --targets all-linear --lr "$LORA_LR" --min-lr "$(node -e "console.log($LORA_LR / 10)")")

run() { # name, flags…
  local name=$1
  shift
  [ -f "$OUT/$name.jsonl" ] && grep -q '"event":"final"' "$OUT/$name.jsonl" && return
  $WGRAD finetune "${COMMON[@]}" --out "$OUT/$name" "$@" > "$OUT/$name.jsonl"
}
run lora "${LORA[@]}"
for lr in $FULL_LRS; do run "full-$lr" --full --lr "$lr" --min-lr "$(node -e "console.log($lr / 10)")"; done
run qlora-nf4 "${LORA[@]}" --qlora nf4
run qlora-q4_0 "${LORA[@]}" --qlora q4_0

node - "$OUT" $FULL_LRS <<'EOF'
const { readFileSync } = require('node:fs');
const [out, ...fullLrs] = process.argv.slice(2);
const final = (name) => JSON.parse(readFileSync(`${out}/${name}.jsonl`, 'utf8').trim().split('\n').find((l) => l.includes('"event":"final"')));
const runs = Object.fromEntries(['lora', ...fullLrs.map((lr) => `full-${lr}`), 'qlora-nf4', 'qlora-q4_0'].map((n) => [n, final(n)]));
const full = fullLrs.map((lr) => runs[`full-${lr}`]).reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
const base = runs.lora.base_val_loss;
console.log(`Alice validation split, whole; base model (pretrained on Tiny Shakespeare): loss ${base.toFixed(4)}`);
console.log('run          val loss  trainable           adapter file   base weights (linear layers)');
for (const [name, r] of Object.entries(runs)) {
  const frac = `${r.trainable_params} (${(100 * r.trainable_fraction).toFixed(2)}%)`;
  const file = r.adapter_file_bytes === null ? '-' : `${r.adapter_file_bytes} B`;
  console.log(`${name.padEnd(12)} ${r.val_loss.toFixed(4).padEnd(9)} ${frac.padEnd(19)} ${file.padEnd(14)} ${r.base_weight_bytes} B (${r.base_linear_weight_bytes} B)`);
}
const gain = (r) => base - r.val_loss;
for (const lr of fullLrs) console.log(`LoRA recovers ${(100 * gain(runs.lora) / gain(runs[`full-${lr}`])).toFixed(1)}% of the improvement of full fine-tuning at lr ${lr}${runs[`full-${lr}`] === full ? ' (the best full run)' : ''} (target ≥ 80%)`);
for (const q of ['qlora-nf4', 'qlora-q4_0']) console.log(`${q} ends ${(runs[q].val_loss - runs.lora.val_loss).toFixed(4)} from LoRA (target within 0.05); int4 linear weights are 1/${(runs.lora.base_linear_weight_bytes / runs[q].base_linear_weight_bytes).toFixed(2)} of float32 (target ≤ 1/6)`);
EOF
