// Unit tests for runtime/shape.h, the shape rules shared by the runtime's plan validation and the importer.
#include "runtime/shape.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace q46 {
namespace {

using Dims = std::vector<int64_t>;

TEST(BoundedElementCount, CountsUpToTheLimitAndNoFurther) {
  EXPECT_EQ(BoundedElementCount(Dims{}), 1);
  EXPECT_EQ(BoundedElementCount(Dims{1, 3, 32, 32}), 3072);
  EXPECT_EQ(BoundedElementCount(Dims{2, 3}, 6), 6);
  EXPECT_EQ(BoundedElementCount(Dims{2, 3}, 5), -1);
  EXPECT_EQ(BoundedElementCount(Dims{int64_t{1} << 31}, int64_t{1} << 31), int64_t{1} << 31);
  EXPECT_EQ(BoundedElementCount(Dims{int64_t{1} << 31, 2}, int64_t{1} << 31), -1);
}

TEST(BoundedElementCount, NeverOverflows) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(BoundedElementCount(Dims{big, 2}), -1);
  EXPECT_EQ(BoundedElementCount(Dims{int64_t{1} << 32, int64_t{1} << 32}), -1);
  EXPECT_EQ(BoundedElementCount(Dims{big}), big);
}

TEST(BoundedElementCount, NegativeOrHugeDimsFailAndZeroDimsGiveZero) {
  EXPECT_EQ(BoundedElementCount(Dims{3, -1}), -1);
  EXPECT_EQ(BoundedElementCount(Dims{0, -1}), -1);
  EXPECT_EQ(BoundedElementCount(Dims{std::numeric_limits<int64_t>::max(), 7, 0}), 0);
  EXPECT_EQ(BoundedElementCount(Dims{int64_t{1} << 40, 0}, int64_t{1} << 31), -1);  // a dim no tensor may have
  EXPECT_EQ(BoundedElementCount(Dims{int64_t{1} << 31, 0}, int64_t{1} << 31), 0);
}

TEST(WindowOutputSize, FloorModeAndWindowsThatDoNotFit) {
  EXPECT_EQ(WindowOutputSize(32, 3, 1, 1, 1, 1), 32);
  EXPECT_EQ(WindowOutputSize(32, 2, 2, 1, 0, 0), 16);
  EXPECT_EQ(WindowOutputSize(7, 3, 2, 2, 0, 0), 2);  // span 5
  EXPECT_EQ(WindowOutputSize(2, 3, 1, 1, 0, 0), -1);
  EXPECT_EQ(WindowOutputSize(8, 3, 0, 1, 0, 0), -1);
}

}  // namespace
}  // namespace q46
