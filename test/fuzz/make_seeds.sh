#!/usr/bin/env bash
# Seed corpora for the fuzz targets, from real inputs: plans compiled from the shipped CNN6 (float and 4.6-bit),
# as files and as bare messages, the shipped ONNX models and ONNX's conformance models of ops the importer
# supports, CIFAR-10 records, small .npy files and images written by numpy / PIL; and test/fuzz/regressions/TARGET/, inputs that once crashed
# TARGET, so that every run replays them. Usage: make_seeds.sh BIN_DIR OUT_DIR
set -euo pipefail
bin=$1 out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out"
mkdir -p "$out"/{plan_loader,onnx_importer,cifar10_reader,npy_reader,image_reader}
cifar="$root/models/cifar10"
"$bin/q46c" "$cifar/cnn6.onnx" --float -o "$out/plan_loader/cnn6_float.q46" >/dev/null
"$bin/q46c" "$cifar/cnn6.onnx" --calib "$cifar/calib_512.bin" --calib-count 16 --calib-method none \
  -o "$out/plan_loader/cnn6_23.q46" >/dev/null
for plan in "$out"/plan_loader/*.q46; do  # the bare plan messages too (the target frames them itself)
  tail -c +25 "$plan" >"${plan%.q46}.payload"
done
cp "$cifar/cnn6.onnx" "$out/onnx_importer/"
testdata=/usr/share/libonnx-testdata/data/node
for t in test_conv_with_strides_padding test_convtranspose test_maxpool_2d_pads test_averagepool_2d_pads \
         test_gemm_default_single_elem_vector_bias test_relu test_clip test_add_bcast test_concat_2d_axis_0 \
         test_reshape_reordered_all_dims test_resize_upsample_scales_nearest test_softmax_axis_1 \
         test_batchnorm_example test_flatten_axis1 test_transpose_default test_sigmoid test_matmul_2d \
         test_slice_neg_steps test_split_variable_parts_2d test_reduce_mean_keepdims_example test_reduce_sum_keepdims_example \
         test_leakyrelu test_prelu_broadcast test_hardsigmoid test_hardswish; do
  [[ -f "$testdata/$t/model.onnx" ]] && cp "$testdata/$t/model.onnx" "$out/onnx_importer/$t.onnx"
done
head -c $((3 * 3073)) "$cifar/test_1000.bin" >"$out/cifar10_reader/three_records.bin"
head -c 3073 "$cifar/test_1000.bin" >"$out/cifar10_reader/one_record.bin"
/usr/bin/python3 - "$out" <<'PY'
import io, sys
import numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(46)
for name, a in {"f32_nchw": rng.random((2, 3, 4, 4), dtype=np.float32), "u8_chw": rng.integers(0, 255, (3, 5, 5), dtype=np.uint8),
                "f64_nchw": rng.random((1, 3, 2, 2)), "f32_fortran": np.asfortranarray(rng.random((2, 3), dtype=np.float32))}.items():
    np.save(f"{out}/npy_reader/{name}.npy", a)
# A plan seed with the layout and reduction ops: Conv -> LeakyRelu -> Slice (backwards) -> Split -> ReduceMean.
from onnx import TensorProto, helper, numpy_helper
i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
graph = helper.make_graph(
    [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
     helper.make_node("LeakyRelu", ["c"], ["l"], alpha=0.1),
     helper.make_node("Slice", ["l", "starts", "ends", "axes", "steps"], ["s"]),
     helper.make_node("Split", ["s", "split"], ["a", "b"], axis=1),
     helper.make_node("ReduceMean", ["b"], ["y"], axes=[2, 3], keepdims=0)],
    "ops_mix", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w"), i64("starts", [5]),
     i64("ends", [-100]), i64("axes", [3]), i64("steps", [-2]), i64("split", [1, 3])])
import onnx
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), f"{out}/onnx_importer/ops_mix.onnx")
np.save(f"{out}/ops_mix_calib.npy", rng.random((4, 3, 6, 6), dtype=np.float32))
pixels = rng.integers(0, 255, (9, 7, 3), dtype=np.uint8)
for mode in ("RGB", "L", "RGBA"):
    image = Image.fromarray(pixels).convert(mode)
    for fmt in (("PNG", "JPEG") if mode != "RGBA" else ("PNG",)):
        buf = io.BytesIO()
        image.save(buf, fmt)
        for prefix in (0, 1):  # the target's first byte picks the preprocessing
            open(f"{out}/image_reader/{mode}_{prefix}.{fmt.lower()}", "wb").write(bytes([prefix]) + buf.getvalue())
PY
"$bin/q46c" "$out/onnx_importer/ops_mix.onnx" --float -o "$out/plan_loader/ops_mix_float.q46" >/dev/null
"$bin/q46c" "$out/onnx_importer/ops_mix.onnx" --calib "$out/ops_mix_calib.npy" --calib-method none \
  -o "$out/plan_loader/ops_mix_23.q46" >/dev/null
rm "$out/ops_mix_calib.npy"
for plan in "$out"/plan_loader/ops_mix_*.q46; do tail -c +25 "$plan" >"${plan%.q46}.payload"; done
# Inputs that once crashed a target.
for dir in "$(dirname "$0")"/regressions/*/; do
  cp "$dir"* "$out/$(basename "$dir")/"
done
echo "seeds in $out: $(find "$out" -type f | wc -l) files"
