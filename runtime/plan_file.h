// The plan container: a fixed 24-byte header, then one serialized q46.plan.Plan message.
//   bytes 0-7   magic "Q46PLAN\0"
//   bytes 8-11  format version (little-endian uint32)
//   bytes 12-15 CRC-32 (zlib) of the payload
//   bytes 16-23 payload size (little-endian uint64)
// Reading checks all four before parsing; files are read and written with runtime/file_io.h.
// This file knows nothing about what a plan means: validation lives in plan_validate.
#pragma once

#include <cstdint>
#include <string>

#include "plan.pb.h"
#include "runtime/file_io.h"
#include "runtime/status.h"

namespace q46::rt {

inline constexpr uint32_t kPlanFormatVersion = 1;
inline constexpr size_t kPlanHeaderSize = 24;

// Parses plan bytes (header + payload) into *plan.
Status ParsePlanBytes(const void* data, size_t size, plan::Plan* plan);

// Serializes *plan with the header.
Status SerializePlan(const plan::Plan& plan, std::string* bytes);

}  // namespace q46::rt
