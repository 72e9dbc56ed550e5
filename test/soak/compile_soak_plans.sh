#!/usr/bin/env bash
# Compiles the plans the concurrency tests run: a model at q46's default (first and last layers float, so oneDNN
# runs beside the integer kernels), and with every layer at 4.6-bit and at 8-bit.
# Usage: compile_soak_plans.sh BIN_DIR OUT_DIR MODEL.onnx CALIB
set -euo pipefail
bin=$1 out=$2 onnx=$3 calib=$4
mkdir -p "$out"
name=$(basename "$onnx" .onnx)
common=(--calib "$calib" --calib-count 64 --calib-method none)
layers=$(/usr/bin/python3 -c "import onnx, sys; print(','.join(n.name for n in onnx.load(sys.argv[1]).graph.node if n.op_type in ('Conv', 'Gemm')))" "$onnx")
for bits in 4.6:23 8:256; do
  IFS=: read -r label levels <<<"$bits"
  /usr/bin/python3 -c "import json, sys; json.dump({l: [int(sys.argv[2])] * 2 for l in sys.argv[1].split(',')}, sys.stdout)" \
    "$layers" "$levels" >"$out/map_$label.json"
  "$bin/q46c" "$onnx" --precision-map "$out/map_$label.json" "${common[@]}" -o "$out/${name}_all_layers_$label.q46" >/dev/null
done
"$bin/q46c" "$onnx" --nx 23 --nw 23 "${common[@]}" -o "$out/${name}_default.q46" >/dev/null
echo "compiled $(ls "$out"/*.q46 | wc -l) plans into $out"
