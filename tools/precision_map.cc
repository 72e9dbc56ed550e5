// ReadPrecisionMap, PrecisionMapJson (see precision_map.h).
#include "tools/precision_map.h"

#include "absl/strings/str_cat.h"
#include "llvm/Support/JSON.h"
#include "passes/json_file.h"
#include "llvm/Support/raw_ostream.h"

namespace q46::tools {

absl::Status ReadPrecisionMap(const std::string& path, CompileOptions* o) {
  absl::StatusOr<llvm::json::Value> json = ReadJsonFile(path);
  if (!json.ok()) return absl::Status(json.status().code(), absl::StrCat("precision map ", json.status().message()));
  const llvm::json::Object* obj = json->getAsObject();
  if (!obj) return absl::InvalidArgumentError(absl::StrCat(path, ": expected a JSON object"));
  for (const auto& [key, value] : *obj) {
    const std::string name = key.str();
    if (auto s = value.getAsString(); s && *s == "float") {
      o->precision_map[name] = std::nullopt;
      continue;
    }
    const llvm::json::Array* pair = value.getAsArray();
    llvm::Optional<int64_t> a, b;
    if (pair && pair->size() == 2) a = (*pair)[0].getAsInteger(), b = (*pair)[1].getAsInteger();
    if (!a || !b || *a > 1024 || *b > 1024)
      return absl::InvalidArgumentError(absl::StrCat(path, ": layer '", name, "' needs [N_x, N_w] or \"float\""));
    arith::Precision p{static_cast<int32_t>(*a), static_cast<int32_t>(*b)};
    std::string why;
    if (!arith::CheckPrecision(p, &why))
      return absl::InvalidArgumentError(absl::StrCat(path, ": layer '", name, "': ", why));
    o->precision_map[name] = p;
  }
  return absl::OkStatus();
}

std::string PrecisionMapJson(const ir::Graph& g) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::json::OStream json(os, 2);
  json.object([&] {
    for (const ir::Node& n : g.nodes) {
      if (!IsQuantizableLayer(n)) continue;
      const auto& q = std::get<ir::ConvAttrs>(n.attrs).quant;
      if (q) json.attributeArray(n.name, [&] { json.value(q->precision.nx), json.value(q->precision.nw); });
      else json.attribute(n.name, "float");
    }
  });
  os << "\n";
  return os.str();
}

}  // namespace q46::tools
