/* q46 runtime C API: load a compiled plan, create an execution context, run, read outputs.
 *
 * Thread safety: a q46_model is immutable after loading and may be shared by any number of threads;
 * a q46_context belongs to one thread at a time (create one per concurrent caller). Any number of contexts of
 * one model may run at once, on any threads, and give bit-identical results to a single-threaded run (tested:
 * test/soak/q46_soak.cc, 8 threads x 10,000 runs, also under ThreadSanitizer). Free a model only after every
 * context made from it. A context is prepared when created (buffers placed, float layers bound to them); running
 * it allocates nothing in q46's own code and its memory does not grow. Only oneDNN, which runs the float layers,
 * makes and frees a small argument map inside each of its executions (23 allocations per run of CNN10 with
 * float first and last layers). Every call that can fail returns a q46_status; a load gives a one-line message naming
 * what was wrong through its `error` argument, a context's calls through q46_context_last_error() (creating a
 * context fails only when its buffers cannot be allocated or oneDNN refuses a float layer, with no message). No
 * function aborts or throws on bad input.
 * This header is the whole public surface; it must stay C (no C++ types) and stable. */
#ifndef Q46_Q46_H_
#define Q46_Q46_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum q46_status {
  Q46_OK = 0,
  Q46_ERROR_INVALID_ARGUMENT = 1, /* a null pointer, an index out of range, a wrong input size */
  Q46_ERROR_INVALID_PLAN = 2,     /* the plan is corrupt, truncated, of another version, or inconsistent */
  Q46_ERROR_IO = 3,               /* the plan file could not be read */
  Q46_ERROR_INTERNAL = 4
} q46_status;

typedef struct q46_model q46_model;
typedef struct q46_context q46_context;

/* Version of this runtime, e.g. "0.1.0", and the plan format version it reads. */
const char* q46_version(void);
uint32_t q46_plan_format_version(void);

/* Loads and validates a plan from a file or from memory (the bytes are copied). On failure *model is NULL and
 * *error (if error is not NULL) receives a message valid until the next failing load on this thread. */
q46_status q46_model_load_file(const char* path, q46_model** model, const char** error);
/* Options fixed at load. isa: the highest instruction set the integer kernels may use, "ref", "avx2", "avx512"
 * or "vnni" on x86, "neon" on aarch64 (a CPU without VNNI or AVX-512 can be measured on one that has it); NULL
 * for the Q46_ISA environment variable, or else the best this CPU has. Results are identical whichever ISA runs. */
typedef struct q46_load_options {
  const char* isa;
} q46_load_options;
q46_status q46_model_load_file_with_options(const char* path, const q46_load_options* options, q46_model** model,
                                            const char** error);
q46_status q46_model_load_memory(const void* data, size_t size, q46_model** model, const char** error);
void q46_model_free(q46_model* model);

/* Graph inputs and outputs: count, name, and dims (NCHW for images). Pointers stay valid while the model
 * lives. Every input and output is float32 at the API, whatever precision the layers inside run at. */
size_t q46_model_num_inputs(const q46_model* model);
size_t q46_model_num_outputs(const q46_model* model);
const char* q46_model_input_name(const q46_model* model, size_t index);
const char* q46_model_output_name(const q46_model* model, size_t index);
/* Writes up to max_rank dims into dims and returns the rank (0 if index is out of range). */
size_t q46_model_input_dims(const q46_model* model, size_t index, int64_t* dims, size_t max_rank);
size_t q46_model_output_dims(const q46_model* model, size_t index, int64_t* dims, size_t max_rank);

/* A context holds every buffer a run needs; running allocates nothing. The model must outlive it. */
q46_status q46_context_create(const q46_model* model, q46_context** context);
void q46_context_free(q46_context* context);

/* The model a context was created from. */
const q46_model* q46_context_model(const q46_context* context);

/* Copies `count` floats into input `index`; count must equal the product of the input's dims. */
q46_status q46_context_set_input(q46_context* context, size_t index, const float* data, size_t count);
/* How many threads a run of this context splits each layer over (default 1): every integer layer, and float
   convolutions with enough work (over ~4M MACs a thread). Of those, oneDNN's direct JIT convolutions get a
   primitive, scratch and weights of the context's own for the count; brgemm- and gemm-based ones (not
   transposed, weights under ~1-2 MB) run, on any count, as fixed bands of output rows chosen at load, each band
   a one-thread primitive, shared out over the threads; any other stays on one thread. Results do not depend on
   the count (tested bit for bit on 2-8 threads). The context's scratch grows with the count: each thread of an
   integer layer repacks its input into a copy of its own. Call it between runs, not during one: a change
   prepares the context again (and may allocate); runs still allocate nothing. */
q46_status q46_context_set_threads(q46_context* context, int threads);
/* Runs the network on the inputs set so far. */
q46_status q46_context_run(q46_context* context);
/* Pointer to output `index` (count = product of its dims), valid until the next run or free. */
q46_status q46_context_output(const q46_context* context, size_t index, const float** data, size_t* count);
/* The message of the last failed call on this context. */
const char* q46_context_last_error(const q46_context* context);

#ifdef __cplusplus
}
#endif

#endif /* Q46_Q46_H_ */
