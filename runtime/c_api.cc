// The C API (include/q46/q46.h) over the C++ core: argument checks, status codes, error strings.
#include "q46/q46.h"

#include <exception>
#include <memory>
#include <string>

#include "runtime/context.h"
#include "runtime/model.h"
#include "runtime/plan_file.h"

struct q46_model {
  std::unique_ptr<q46::rt::Model> model;
};

struct q46_context {
  const q46_model* owner;
  std::unique_ptr<q46::rt::Context> context;
  std::string last_error;
};

namespace {

thread_local std::string g_load_error;

q46_status LoadResult(q46::rt::Status st, std::unique_ptr<q46::rt::Model> m, q46_model** model, const char** error,
                      q46_status failure = Q46_ERROR_INVALID_PLAN) {
  if (!st.ok()) {
    g_load_error = st.message();
    if (error) *error = g_load_error.c_str();
    return failure;
  }
  *model = new q46_model{std::move(m)};
  return Q46_OK;
}

const q46::plan::Tensor* GraphTensor(const q46_model* model, size_t index, bool input) {
  if (!model) return nullptr;
  const q46::plan::Plan& p = model->model->plan();
  const auto& list = input ? p.inputs() : p.outputs();
  if (index >= static_cast<size_t>(list.size())) return nullptr;
  return &p.tensors(list[static_cast<int>(index)]);
}

size_t CopyDims(const q46::plan::Tensor* t, int64_t* dims, size_t max_rank) {
  if (!t) return 0;
  for (int i = 0; i < t->dims_size() && static_cast<size_t>(i) < max_rank; ++i) dims[i] = t->dims(i);
  return static_cast<size_t>(t->dims_size());
}

}  // namespace

extern "C" {

const char* q46_version(void) { return "0.1.0"; }
uint32_t q46_plan_format_version(void) { return q46::rt::kPlanFormatVersion; }

q46_status q46_model_load_file(const char* path, q46_model** model, const char** error) {
  return q46_model_load_file_with_options(path, nullptr, model, error);
}

q46_status q46_model_load_file_with_options(const char* path, const q46_load_options* options, q46_model** model,
                                            const char** error) {
  if (!path || !model) return Q46_ERROR_INVALID_ARGUMENT;
  *model = nullptr;
  std::unique_ptr<q46::rt::Model> m;
  try {
    q46::rt::LoadOptions load;
    q46::rt::Status st = options && options->isa ? q46::rt::ResolveIsa(options->isa, &load.max_isa)
                                                 : q46::rt::LoadOptionsFromEnvironment(&load);
    if (!st.ok()) return LoadResult(st, nullptr, model, error, Q46_ERROR_INVALID_ARGUMENT);
    std::string bytes;
    st = q46::rt::ReadFileBytes(path, &bytes);
    if (!st.ok()) return LoadResult(st, nullptr, model, error, Q46_ERROR_IO);
    st = q46::rt::Model::Load(bytes.data(), bytes.size(), &m, &load);
    if (!st.ok()) st = q46::rt::Status::Error(std::string(path) + ": " + st.message());
    return LoadResult(st, std::move(m), model, error);
  } catch (const std::exception& e) {  // allocation failure or a library throwing: never past the C boundary
    return LoadResult(q46::rt::Status::Error(std::string(path) + ": " + e.what()), nullptr, model, error);
  }
}

q46_status q46_model_load_memory(const void* data, size_t size, q46_model** model, const char** error) {
  if (!data || !model) return Q46_ERROR_INVALID_ARGUMENT;
  *model = nullptr;
  std::unique_ptr<q46::rt::Model> m;
  try {
    q46::rt::Status st = q46::rt::Model::Load(data, size, &m);
    return LoadResult(st, std::move(m), model, error);
  } catch (const std::exception& e) {
    return LoadResult(q46::rt::Status::Error(e.what()), nullptr, model, error);
  }
}

void q46_model_free(q46_model* model) { delete model; }

size_t q46_model_num_inputs(const q46_model* model) { return model ? model->model->plan().inputs_size() : 0; }
size_t q46_model_num_outputs(const q46_model* model) { return model ? model->model->plan().outputs_size() : 0; }

const char* q46_model_input_name(const q46_model* model, size_t index) {
  const auto* t = GraphTensor(model, index, true);
  return t ? t->name().c_str() : nullptr;
}
const char* q46_model_output_name(const q46_model* model, size_t index) {
  const auto* t = GraphTensor(model, index, false);
  return t ? t->name().c_str() : nullptr;
}
size_t q46_model_input_dims(const q46_model* model, size_t index, int64_t* dims, size_t max_rank) {
  return CopyDims(GraphTensor(model, index, true), dims, max_rank);
}
size_t q46_model_output_dims(const q46_model* model, size_t index, int64_t* dims, size_t max_rank) {
  return CopyDims(GraphTensor(model, index, false), dims, max_rank);
}

q46_status q46_context_create(const q46_model* model, q46_context** context) {
  if (!model || !context) return Q46_ERROR_INVALID_ARGUMENT;
  try {
    *context = new q46_context{model, std::make_unique<q46::rt::Context>(*model->model), {}};
  } catch (const std::exception&) {
    *context = nullptr;
    return Q46_ERROR_INTERNAL;
  }
  return Q46_OK;
}

void q46_context_free(q46_context* context) { delete context; }

const q46_model* q46_context_model(const q46_context* context) { return context ? context->owner : nullptr; }

q46_status q46_context_set_input(q46_context* context, size_t index, const float* data, size_t count) {
  if (!context) return Q46_ERROR_INVALID_ARGUMENT;
  if (!data) {
    context->last_error = "input data is NULL";
    return Q46_ERROR_INVALID_ARGUMENT;
  }
  q46::rt::Status st = context->context->SetInput(index, data, count);
  if (!st.ok()) {
    context->last_error = st.message();
    return Q46_ERROR_INVALID_ARGUMENT;
  }
  return Q46_OK;
}

q46_status q46_context_set_threads(q46_context* context, int threads) {
  if (!context) return Q46_ERROR_INVALID_ARGUMENT;
  if (threads < 1) {
    context->last_error = "threads must be at least 1, got " + std::to_string(threads);
    return Q46_ERROR_INVALID_ARGUMENT;
  }
  try {
    context->context->set_threads(threads);
  } catch (const std::exception& e) {  // out of memory preparing the layers: the old thread count stays
    context->last_error = std::string("set_threads failed: ") + e.what();
    return Q46_ERROR_INTERNAL;
  }
  return Q46_OK;
}

q46_status q46_context_run(q46_context* context) {
  if (!context) return Q46_ERROR_INVALID_ARGUMENT;
  try {
    context->context->Run();
  } catch (const std::exception& e) {
    context->last_error = std::string("run failed: ") + e.what();
    return Q46_ERROR_INTERNAL;
  }
  return Q46_OK;
}

q46_status q46_context_output(const q46_context* context, size_t index, const float** data, size_t* count) {
  if (!context || !data || !count) return Q46_ERROR_INVALID_ARGUMENT;
  if (index >= q46_model_num_outputs(context->owner)) {
    const_cast<q46_context*>(context)->last_error = "output index " + std::to_string(index) + " out of range";
    return Q46_ERROR_INVALID_ARGUMENT;
  }
  *data = context->context->Output(index, count);
  return Q46_OK;
}

const char* q46_context_last_error(const q46_context* context) {
  return context ? context->last_error.c_str() : "context is NULL";
}

}  // extern "C"
