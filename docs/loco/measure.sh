#!/bin/bash
# Baseline measurements in a project copy made by setup_shared_corpora.py, with the caller's environment:
#   docs/loco/measure.sh PROJECT OUT     (PROJECT: the copy; OUT: where the metrics JSON files go)
set -euo pipefail
project=$(realpath "$1"); out_root=$(realpath -m "$2")
cd "$project"
T="baseline_cv@all baseline_loco@all baseline_cross@tess baseline_cross@emodb"
GRID="-S baseline.C=[0.1,1.0,10.0,100.0,1000.0] -S baseline.gamma=[0.0001,0.001,0.01,0.1]"
for norm in true false; do
  # shellcheck disable=SC2086
  time nice -n 10 python -m dvc exp run $GRID -S baseline.speaker_norm=$norm $T
  out=$out_root/speaker_norm_$norm
  mkdir -p "$out"
  cp reports/cv/baseline/metrics.json "$out/cv.json"
  cp reports/loco/baseline/metrics.json "$out/loco.json"
  for c in tess emodb; do cp "reports/cross/baseline/$c/metrics.json" "$out/ravdess_to_$c.json"; done
  for f in cv/baseline/fold_* loco/baseline/*; do mkdir -p "$out/runs/$f"; cp "$f/metrics.json" "$out/runs/$f/"; done
done
echo "measure: done, results in $out_root"
