// Float plans of single-op models exported by torch at opsets 9, 11, 13 and 17 (test/models/make_op_models.py)
// match torch's outputs to float tolerance: conv with groups / dilation / stride / padding, transposed conv,
// pools with padding, dilation and ceil mode, BatchNorm, Pad, Gemm, Softmax, Resize, batch sizes above 1.
#include <fstream>

#include "compiler/data/npy.h"
#include "gtest/gtest.h"
#include "test/test_util.h"

namespace q46 {
namespace {

TEST(OpModels, FloatPlansMatchTorch) {
  const std::string dir = test::ModelsDir() + "/ops";
  std::ifstream list(dir + "/cases.txt");
  ASSERT_TRUE(list) << "no " << dir << "/cases.txt: run the export fixture (ctest does)";
  CompileOptions options;
  options.all_float = true;
  int checked = 0;
  for (std::string stem; std::getline(list, stem);) {
    if (stem.empty()) continue;
    SCOPED_TRACE(stem);
    absl::StatusOr<plan::Plan> plan = test::CompileOnnx(dir + "/" + stem + ".onnx", options);
    if (!plan.ok()) {
      ADD_FAILURE() << plan.status();
      continue;
    }
    absl::StatusOr<FloatTensor> x = ReadNpy(dir + "/" + stem + ".input.npy");
    absl::StatusOr<FloatTensor> want = ReadNpy(dir + "/" + stem + ".expected.npy");
    ASSERT_TRUE(x.ok() && want.ok());
    absl::StatusOr<FloatTensor> got = test::RunPlan(*plan, *x);
    if (!got.ok()) {
      ADD_FAILURE() << got.status();
      continue;
    }
    EXPECT_EQ(got->dims, want->dims);
    EXPECT_LE(test::ToleranceRatio(*got, *want, 1e-5, 1e-4), 1.0);
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace q46
