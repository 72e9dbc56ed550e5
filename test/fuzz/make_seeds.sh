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
         test_batchnorm_example test_flatten_axis1 test_transpose_default test_sigmoid test_matmul_2d; do
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
pixels = rng.integers(0, 255, (9, 7, 3), dtype=np.uint8)
for mode in ("RGB", "L", "RGBA"):
    image = Image.fromarray(pixels).convert(mode)
    for fmt in (("PNG", "JPEG") if mode != "RGBA" else ("PNG",)):
        buf = io.BytesIO()
        image.save(buf, fmt)
        for prefix in (0, 1):  # the target's first byte picks the preprocessing
            open(f"{out}/image_reader/{mode}_{prefix}.{fmt.lower()}", "wb").write(bytes([prefix]) + buf.getvalue())
PY
# Inputs that once crashed a target.
for dir in "$(dirname "$0")"/regressions/*/; do
  cp "$dir"* "$out/$(basename "$dir")/"
done
echo "seeds in $out: $(find "$out" -type f | wc -l) files"
