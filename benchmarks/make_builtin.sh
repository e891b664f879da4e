#!/usr/bin/env bash
# Copy a finished run's exported model into the package as the built-in model and draw
# the figures of docs/training.md from it.
#   bash benchmarks/make_builtin.sh runs/builtin
set -euo pipefail
run=${1:-runs/builtin}
dest=src/designgan/builtin

cp "$run/model/model.safetensors" "$run/model/config.json" "$run/model/keyword_sets.json" "$dest/"
if [ -f "$run/model/keyword_embeddings.safetensors" ]; then
    cp "$run/model/keyword_embeddings.safetensors" "$dest/"
fi

# Sample grids over training (the trainer's fixed noise and single keywords, no keyword
# context), the loss curve, and one grid per keyword set as `designgan generate` draws it.
mkdir -p docs/images/training
cp "$run/loss_curve.png" docs/images/training/loss_curve.png
for step in 0000200 0001400 0002800 0006600 0010000; do
    grid="$run/samples/step_$step.png"
    cp "$grid" docs/images/training/
done
cp "$run/samples/final.png" docs/images/training/final_no_context.png
# Eight everyday subjects (cat, food, people, symbols), then four more sets that docs/training.md discusses.
keyword_sets=("cat" "heart" "smiling face" "flag" "food" "woman dark skin tone" "hand" "drink"
              "square" "kiss" "thumbs up" "oclock")
for keywords in "${keyword_sets[@]}"; do
    name=$(echo "$keywords" | tr ' ' '_')
    designgan generate "$keywords" -n 16 --seed 7 --columns 8 --out "docs/images/builtin_${name}.png"
done

# The model card's grid: eight ideas (seeds 7..14) per keyword set, one row each.
python - "$dest/samples.png" "${keyword_sets[@]}" <<'PY'
import sys
from PIL import Image
from designgan import load_model

model = load_model()
rows = [model.generate(keywords, n=8, seed=7) for keywords in sys.argv[2:]]
side = rows[0][0].width
grid = Image.new("RGB", (8 * side, len(rows) * side), "white")
for y, row in enumerate(rows):
    for x, image in enumerate(row):
        grid.paste(image, (x * side, y * side))
grid.save(sys.argv[1], optimize=True)
PY
