// Plan container reading and writing (see plan_file.h for the layout).
#include "runtime/plan_file.h"

#include <zlib.h>

#include <cstring>
#include <limits>

namespace q46::rt {
namespace {

constexpr char kMagic[8] = {'Q', '4', '6', 'P', 'L', 'A', 'N', '\0'};

uint32_t Crc32(const void* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, std::numeric_limits<uInt>::max()));
    crc = crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

template <typename T>
T LoadLittleEndian(const unsigned char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(p[i]) << (8 * i);
  return v;
}

template <typename T>
void StoreLittleEndian(T v, char* p) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

Status ParsePlanBytes(const void* data, size_t size, plan::Plan* plan) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size < kPlanHeaderSize)
    return Status::Error("not a q46 plan: " + std::to_string(size) + " bytes, shorter than the header");
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return Status::Error("not a q46 plan: bad magic bytes");
  const uint32_t version = LoadLittleEndian<uint32_t>(p + 8);
  if (version != kPlanFormatVersion)
    return Status::Error("plan format version " + std::to_string(version) + " is not supported (this runtime reads " +
                         std::to_string(kPlanFormatVersion) + ")");
  const uint32_t crc = LoadLittleEndian<uint32_t>(p + 12);
  const uint64_t payload = LoadLittleEndian<uint64_t>(p + 16);
  if (payload != size - kPlanHeaderSize)
    return Status::Error("plan is truncated or has trailing bytes: header says " + std::to_string(payload) +
                         " payload bytes, file has " + std::to_string(size - kPlanHeaderSize));
  if (payload > static_cast<uint64_t>(std::numeric_limits<int>::max()))
    return Status::Error("plan payload of " + std::to_string(payload) + " bytes exceeds the 2 GiB limit");
  if (Crc32(p + kPlanHeaderSize, payload) != crc) return Status::Error("plan checksum mismatch: the file is corrupt");
  if (!plan->ParseFromArray(p + kPlanHeaderSize, static_cast<int>(payload)))
    return Status::Error("plan payload does not parse although its checksum matches (written by a broken tool?)");
  return Status();
}

Status SerializePlan(const plan::Plan& plan, std::string* bytes) {
  std::string payload;
  if (!plan.SerializeToString(&payload)) return Status::Error("plan does not serialize (over 2 GiB?)");
  bytes->assign(kPlanHeaderSize, '\0');
  std::memcpy(bytes->data(), kMagic, sizeof(kMagic));
  StoreLittleEndian<uint32_t>(kPlanFormatVersion, bytes->data() + 8);
  StoreLittleEndian<uint32_t>(Crc32(payload.data(), payload.size()), bytes->data() + 12);
  StoreLittleEndian<uint64_t>(payload.size(), bytes->data() + 16);
  bytes->append(payload);
  return Status();
}

}  // namespace q46::rt
