#!/usr/bin/env bash
# Bad input to the tools: each case must give a one-line error on stderr, a non-zero exit that is not a crash,
# and leave no output file (nor a temporary one) behind.
# Usage: bad_input_test.sh BIN_DIR MODELS_DIR CIFAR_BIN
set -uo pipefail
bin=$1
models=$2
cifar_bin=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0

# expect_error NAME OUTPUT_FILE COMMAND...: COMMAND must fail cleanly and leave OUTPUT_FILE absent.
expect_error() {
  local name=$1 out=$2
  shift 2
  "$@" >"$work/stdout" 2>"$work/stderr"
  local rc=$? lines
  lines=$(wc -l <"$work/stderr")
  local why=""
  if ((rc == 0)); then why="exit 0"
  elif ((rc >= 128)); then why="crashed (exit $rc)"
  elif ((lines != 1)); then why="$lines lines on stderr"
  elif ! grep -q "error: " "$work/stderr"; then why="no 'error: ' in the message"
  elif [[ -n $out && -e $out ]]; then why="left $out behind"
  elif ls "$work" | grep -q '\.tmp\.'; then why="left a temporary file"
  fi
  if [[ -n $why ]]; then
    echo "FAIL $name: $why"; sed 's/^/    /' "$work/stderr" | head -5
    failures=$((failures + 1))
  else
    echo "ok   $name: $(cat "$work/stderr")"
    passed=$((passed + 1))
  fi
}

# message_names NAME WORD...: the last error message must contain every WORD.
message_names() {
  local name=$1 word
  shift
  for word in "$@"; do
    grep -qF -- "$word" "$work/stderr" || { echo "FAIL $name: the message must name '$word'"; failures=$((failures + 1)); return; }
  done
}

onnx=$models/cnn6.onnx
calib=$models/cnn6.input.npy
good_plan=$work/good.q46
"$bin/q46c" "$onnx" --float -o "$good_plan" >/dev/null || { echo "cannot compile $onnx"; exit 1; }
size=$(stat -c %s "$good_plan")

# Compiler input.
head -c 1000 "$onnx" >"$work/truncated.onnx"
expect_error "truncated ONNX" "$work/out.q46" "$bin/q46c" "$work/truncated.onnx" --float -o "$work/out.q46"
/usr/bin/python3 - "$work/unsupported.onnx" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])
g = helper.make_graph([helper.make_node("Erf", ["x"], ["y"], name="my_erf")], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
expect_error "unsupported op" "$work/out.q46" "$bin/q46c" "$work/unsupported.onnx" --float -o "$work/out.q46"
message_names "unsupported op" my_erf Erf "opset 13"
/usr/bin/python3 - "$work/bad_attr.onnx" "$work/bad_group_op9.onnx" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
# ONNX's checker refuses an attribute Relu does not have; q46 must pass on the node it names (on its own line).
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu_with_pads", pads=[1, 1])], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
# An opset-9 model is converted to opset 13 before q46 reads it: its errors must say so.
w = helper.make_tensor("w", TensorProto.FLOAT, [4, 1, 1, 1], [1, 2, 3, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])
g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_group2", group=2)], "g", [x], [y],
                      initializer=[w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)]), sys.argv[2])
PY
expect_error "attribute ONNX's checker refuses" "$work/out.q46" "$bin/q46c" "$work/bad_attr.onnx" --float -o "$work/out.q46"
message_names "checker error" relu_with_pads
expect_error "opset 9 model, bad group" "$work/out.q46" "$bin/q46c" "$work/bad_group_op9.onnx" --float -o "$work/out.q46"
message_names "converted model's error" conv_group2 "opset 9"
/usr/bin/python3 - "$work/absurd.onnx" "$work/upsampled.onnx" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
# An input of 3 x 100000 x 100000 floats, and a small input upsampled 10000 x 10000 times: both over the limits.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 100000, 100000])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 100000, 100000])
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 80000, 80000])
scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 10000, 10000])
g = helper.make_graph([helper.make_node("Resize", ["x", "", "scales"], ["y"], name="huge_resize")], "g", [x], [y],
                      initializer=[scales])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[2])
PY
expect_error "absurd input dims" "$work/out.q46" "$bin/q46c" "$work/absurd.onnx" --float -o "$work/out.q46"
message_names "absurd input dims" limit
expect_error "absurd computed dims" "$work/out.q46" "$bin/q46c" "$work/upsampled.onnx" --float -o "$work/out.q46"
message_names "absurd computed dims" huge_resize limit
# Found by fuzz_onnx_importer: ONNX's checker passed it, its version converter crashed on it.
expect_error "graph output never computed (opset 11)" "$work/out.q46" "$bin/q46c" \
  "$(dirname "$0")/../fuzz/regressions/onnx_importer/graph_output_never_computed_opset11.onnx" --float -o "$work/out.q46"
# Found by fuzz_onnx_importer: ONNX's shape inference crashed on ConvTranspose weights of the wrong rank.
expect_error "ConvTranspose weights of rank 2" "$work/out.q46" "$bin/q46c" \
  "$(dirname "$0")/../fuzz/regressions/onnx_importer/convtranspose_weights_rank2.onnx" --float -o "$work/out.q46"
# Found by fuzz_onnx_importer in CI: ONNX's shape inference divides by the strides (SIGFPE on 0).
for f in conv_strides_0 maxpool_strides_0; do
  expect_error "$f" "$work/out.q46" "$bin/q46c" "$(dirname "$0")/../fuzz/regressions/onnx_importer/$f.onnx" \
    --float -o "$work/out.q46"
done
/usr/bin/python3 - "$work/softmax_axis_op11.onnx" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
# Opset 11's Softmax with an axis past the rank of its input (known only from shape inference): ONNX's converter
# would clamp it to the last axis.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="relu"),
                       helper.make_node("Softmax", ["r"], ["y"], name="far_softmax", axis=2**63 - 1)], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), sys.argv[1])
PY
expect_error "opset 11 Softmax axis out of range" "$work/out.q46" "$bin/q46c" "$work/softmax_axis_op11.onnx" --float -o "$work/out.q46"
message_names "opset 11 Softmax axis out of range" far_softmax "opset 11" 9223372036854775807
expect_error "missing model" "$work/out.q46" "$bin/q46c" "$work/nope.onnx" --float -o "$work/out.q46"
expect_error "--nx 24 (even)" "$work/out.q46" "$bin/q46c" "$onnx" --nx 24 --nw 23 --calib "$calib" -o "$work/out.q46"
expect_error "--nx 25 --nw 25 (h_x*h_w > 127)" "$work/out.q46" "$bin/q46c" "$onnx" --nx 25 --nw 25 --calib "$calib" -o "$work/out.q46"
expect_error "no calibration data" "$work/out.q46" "$bin/q46c" "$onnx" -o "$work/out.q46"
echo '{"no_such_layer": [23, 23]}' >"$work/map.json"
expect_error "precision map names a missing layer" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --precision-map "$work/map.json" -o "$work/out.q46"
"$bin/q46c" "$onnx" --float --emit-precision-map "$work/names.json" -o "$work/names.q46" >/dev/null
layer=$(/usr/bin/python3 -c 'import json, sys; print(next(iter(json.load(open(sys.argv[1])))))' "$work/names.json")
rm -f "$work/names.q46"
echo "{\"$layer\": [25, 25]}" >"$work/map.json"
expect_error "precision map pair breaks h_x*h_w <= 127" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --precision-map "$work/map.json" -o "$work/out.q46"
auto=(--calib "$calib" --precision auto --precision-cache "$work/cache" --emit-precision-map "$work/out.json")
expect_error "unreachable latency budget" "$work/out.q46" "$bin/q46c" "$onnx" "${auto[@]}" --max-latency-ratio 0.01 -o "$work/out.q46"
[[ -e $work/out.json ]] && { echo "FAIL unreachable latency budget: left the precision map behind"; failures=$((failures + 1)); }
message_names "unreachable latency budget" "is unreachable: the fastest choice"
expect_error "unreachable size budget" "$work/out.q46" "$bin/q46c" "$onnx" "${auto[@]}" --max-size-ratio 0.01 -o "$work/out.q46"
expect_error "two budgets" "$work/out.q46" "$bin/q46c" "$onnx" "${auto[@]}" --max-size-ratio 0.5 --max-latency-ratio 1 -o "$work/out.q46"
expect_error "budget without --precision auto" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --max-latency-ratio 0.9 -o "$work/out.q46"
expect_error "--precision-cache without --precision auto" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --precision-cache "$work/cache" -o "$work/out.q46"
expect_error "--precision magic" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --precision magic -o "$work/out.q46"
expect_error "--precision auto without calibration data" "$work/out.q46" "$bin/q46c" "$onnx" --precision auto -o "$work/out.q46"
expect_error "bad flag" "$work/out.q46" "$bin/q46c" "$onnx" --no-such-flag -o "$work/out.q46"
expect_error "unknown --calib-method" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --calib-method magic -o "$work/out.q46"
expect_error "--calib-steps -1" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --calib-steps -1 -o "$work/out.q46"
expect_error "--calib-drop must be in" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --calib-drop 1 -o "$work/out.q46"
expect_error "--calib-lr nan" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --calib-lr nan -o "$work/out.q46"
expect_error "--calib-time-budget nan" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --calib-time-budget nan -o "$work/out.q46"
expect_error "--percentile 1" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --range-method percentile --percentile 1 -o "$work/out.q46"

# Files: not regular, nested too deep, outputs that would overwrite inputs or each other, all outputs or none.
expect_error "model is /dev/zero" "$work/out.q46" "$bin/q46c" /dev/zero --float -o "$work/out.q46"
expect_error "precision map is /dev/zero" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --precision-map /dev/zero -o "$work/out.q46"
/usr/bin/python3 -c "print('[' * 50000 + ']' * 50000)" >"$work/deep.json"
expect_error "precision map nested 50,000 deep" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --precision-map "$work/deep.json" -o "$work/out.q46"
cp "$onnx" "$work/model.onnx"
expect_error "-o is the model" "" "$bin/q46c" "$work/model.onnx" --float -o "$work/./model.onnx"
cmp -s "$onnx" "$work/model.onnx" || { echo "FAIL -o is the model: the model changed"; failures=$((failures + 1)); }
expect_error "--emit-onnx-qdq is -o" "$work/out.q46" "$bin/q46c" "$onnx" --float --emit-onnx-qdq "$work/out.q46" -o "$work/out.q46"
expect_error "--emit-onnx-qdq into a missing folder" "$work/out.q46" "$bin/q46c" "$onnx" --float --emit-onnx-qdq "$work/no/q.onnx" -o "$work/out.q46"
mkdir -p "$work/testonly"
cp "$cifar_bin" "$work/testonly/test_batch.bin"
expect_error "--calib folder without a training batch" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$work/testonly" -o "$work/out.q46"
message_names "--calib folder" data_batch_1.bin

# Calibration data problems.
expect_error "fewer calibration images than asked" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$calib" --calib-count 10 -o "$work/out.q46"
/usr/bin/python3 -c "import numpy as np; np.save('$work/blank.npy', np.zeros((4, 3, 32, 32), np.float32))"
expect_error "blank calibration images" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$work/blank.npy" -o "$work/out.q46"
/usr/bin/python3 -c "import numpy as np; np.save('$work/empty.npy', np.zeros((0, 3, 32, 32), np.float32))"
expect_error "no calibration images" "$work/out.q46" "$bin/q46c" "$onnx" --calib "$work/empty.npy" -o "$work/out.q46"
message_names "no calibration images" "holds no samples"
expect_error "--batch 0" "$work/out.q46" "$bin/q46c" "$onnx" --float --batch 0 -o "$work/out.q46"
expect_error "--batch on a fixed batch" "$work/out.q46" "$bin/q46c" "$onnx" --float --batch 8 -o "$work/out.q46"
message_names "--batch on a fixed batch" "fixed batch of 1"
/usr/bin/python3 - "$onnx" "$work/nan.onnx" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
init = m.graph.initializer[0]
a = numpy_helper.to_array(init).copy()
a.flat[0] = np.nan
init.CopyFrom(numpy_helper.from_array(a, init.name))
onnx.save(m, sys.argv[2])
PY
expect_error "NaN weight in the model" "$work/out.q46" "$bin/q46c" "$work/nan.onnx" --calib "$calib" -o "$work/out.q46"
cp "$good_plan" "$work/existing.q46"
"$bin/q46c" "$onnx" --nx 25 --nw 25 --calib "$calib" -o "$work/existing.q46" 2>/dev/null
cmp -s "$good_plan" "$work/existing.q46" || { echo "FAIL a failed compile changed an existing output"; failures=$((failures + 1)); }

# Runtime input.
for offset in 0 9 13 17 30 $((size / 2)) $((size - 1)); do
  cp "$good_plan" "$work/flipped.q46"
  byte=$(od -An -tu1 -j "$offset" -N1 "$good_plan" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 0x40)))" | dd of="$work/flipped.q46" bs=1 seek="$offset" conv=notrunc 2>/dev/null
  expect_error "plan with byte $offset flipped" "$work/y.npy" "$bin/q46run" "$work/flipped.q46" --input "$calib" --output "$work/y.npy"
done
for keep in 0 10 24 $((size / 2)) $((size - 1)); do
  head -c "$keep" "$good_plan" >"$work/truncated.q46"
  expect_error "plan truncated to $keep bytes" "$work/y.npy" "$bin/q46run" "$work/truncated.q46" --input "$calib" --output "$work/y.npy"
done
/usr/bin/python3 -c "import numpy as np; np.save('$work/wrong.npy', np.zeros((2, 3, 28, 28), np.float32))"
expect_error "input of the wrong shape" "$work/y.npy" "$bin/q46run" "$good_plan" --input "$work/wrong.npy" --output "$work/y.npy"
expect_error "missing input" "$work/y.npy" "$bin/q46run" "$good_plan" --input "$work/nope.npy" --output "$work/y.npy"
expect_error "output to a missing directory" "" "$bin/q46run" "$good_plan" --input "$calib" --output "$work/no/such/dir/y.npy"
cp "$good_plan" "$work/plan_copy.q46"
expect_error "q46run: --output is the plan" "" "$bin/q46run" "$work/plan_copy.q46" --input "$calib" --output "$work/plan_copy.q46"
cmp -s "$good_plan" "$work/plan_copy.q46" || { echo "FAIL --output is the plan: the plan changed"; failures=$((failures + 1)); }
expect_error "q46run: --count 0" "$work/y.npy" "$bin/q46run" "$good_plan" --input "$calib" --count 0 --output "$work/y.npy"
expect_error "q46run: --count past the samples" "$work/y.npy" "$bin/q46run" "$good_plan" --input "$calib" --count 100000 --output "$work/y.npy"

# Evaluation data.
head -c $((3073 * 2 + 100)) "$cifar_bin" >"$work/ragged.bin"
expect_error "CIFAR file not a multiple of 3073 bytes" "" "$bin/q46eval" "$good_plan" --cifar10 "$work/ragged.bin" --quiet
mkdir -p "$work/imgs/cat" "$work/imgs/dog"
/usr/bin/python3 -c "
from PIL import Image
for c in ('cat', 'dog'): Image.new('RGB', (32, 32), (40, 90, 200)).save('$work/imgs/' + c + '/a.png')"
echo "not an image" >"$work/imgs/dog/notes.txt"
expect_error "image folder with a non-image file" "" "$bin/q46eval" "$good_plan" --images "$work/imgs" --quiet
rm "$work/imgs/dog/notes.txt" "$work/imgs/dog/a.png"
expect_error "empty class folder" "" "$bin/q46eval" "$good_plan" --images "$work/imgs" --quiet
expect_error "missing image folder" "" "$bin/q46eval" "$good_plan" --images "$work/no-such-folder" --quiet
expect_error "no data set given" "" "$bin/q46eval" "$good_plan" --quiet
expect_error "q46eval: --limit 0" "" "$bin/q46eval" "$good_plan" --cifar10 "$cifar_bin" --limit 0 --quiet

expect_error "q46bench: unknown ISA" "" "$bin/q46bench" "$good_plan" --isa sse9 --repeats 1
expect_error "q46bench: zero threads" "" "$bin/q46bench" "$good_plan" --threads 0 --repeats 1
expect_error "q46bench: missing plan" "" "$bin/q46bench" "$work/no-such.q46" --repeats 1
expect_error "q46bench: threads not a number" "" "$bin/q46bench" "$good_plan" --threads abc --repeats 1
expect_error "q46bench: nothing to time" "" "$bin/q46bench" "$good_plan" --repeats 0 --min-time 0
expect_error "q46bench: endless --min-time" "" timeout 60 "$bin/q46bench" "$good_plan" --min-time inf
expect_error "q46run: zero threads" "$work/y.npy" "$bin/q46run" "$good_plan" --input "$calib" --threads 0 --output "$work/y.npy"
expect_error "q46run: threads past int" "$work/y.npy" "$bin/q46run" "$good_plan" --input "$calib" --threads 99999999999 --output "$work/y.npy"
expect_error "q46c: levels not a number" "$work/bad.q46" "$bin/q46c" "$onnx" --nx abc --float -o "$work/bad.q46"
expect_error "Q46_ISA unknown" "$work/y.npy" env Q46_ISA=fast "$bin/q46run" "$good_plan" --input "$calib" --output "$work/y.npy"

echo "$passed passed, $failures failed"
((failures == 0))
