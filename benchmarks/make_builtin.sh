#!/usr/bin/env bash
# Copy a finished run's exported model into the package as the built-in model and draw
# the figures of docs/training.md from it.
#   bash benchmarks/make_builtin.sh runs/builtin
set -euo pipefail
run=${1:-runs/builtin}
dest=src/designgan/builtin

cp "$run/model/model.safetensors" "$run/model/config.json" "$dest/"
if [ -f "$run/model/keyword_embeddings.safetensors" ]; then
    cp "$run/model/keyword_embeddings.safetensors" "$dest/"
fi
cp "$run/samples/final.png" "$dest/samples.png"

# Sample grids over training, the loss curve, and one grid per keyword set.
mkdir -p docs/images/training
cp "$run/loss_curve.png" docs/images/training/loss_curve.png
for grid in "$run"/samples/step_0000200.png "$run"/samples/step_0000600.png "$run"/samples/step_0001400.png "$run"/samples/step_0002800.png; do
    cp "$grid" docs/images/training/
done
for keywords in "cat" "heart" "smiling face" "flag" "food" "woman dark skin tone"; do
    name=$(echo "$keywords" | tr ' ' '_')
    designgan generate "$keywords" -n 16 --seed 7 --columns 8 --out "docs/images/builtin_${name}.png"
done
