// hookflow's Open MPI binding: the few collectives data-parallel training needs, on
// MPI_COMM_WORLD. Every collective returns a Promise. Collectives on fewer than `asyncBytes`
// (init option, default 1 MiB) run inline on the JS thread: they take well under a millisecond,
// and a thread hop each way costs more than that on a small one (2 ranks: 5-10 us inline vs
// 34-39 us on the thread pool for 1e3 floats; a training step of the MNIST MLP spends 0.1-0.4 ms
// less in its two collectives). Larger ones run on the libuv thread pool (an AsyncWorker), so the
// event loop keeps turning while a rank moves megabytes. A waiting rank polls with
// mpi_yield_when_idle, so spinning inline does not starve the rank it waits for: with two CPU
// hogs on the 2 cores, an MLP step took 23.5-23.8 ms either way. (Before that setting, inline
// waits were 5-10x longer under load, which is why everything once ran on the pool.) MPI is
// initialised at MPI_THREAD_SERIALIZED: the JS side (src/dist/mpi-process-group.ts) keeps
// exactly one collective in flight, so calls never overlap even when they come from different
// threads. When every rank runs on this machine, all-reduces skip MPI_Allreduce and meet in a
// shared-memory window instead (node-allreduce.h says why); across machines with several ranks
// on a machine, they reduce in shared memory within each machine and through MPI between the
// machines. init({ nodeAllreduce: false }) keeps MPI_Allreduce over all ranks.
#include <malloc.h>
#include <mpi.h>
#include <napi.h>

#include "node-allreduce.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

size_t asyncBytes = 1 << 20;
bool initialised = false;
int worldRank = 0;
int worldSize = 1;
int localRank = 0;
int localSize = 1;
/**
 * The shared-memory all-reduce among this machine's ranks (null: MPI_Allreduce over the world).
 * When the job spans several machines it is the first and last step of a hierarchical all-reduce.
 */
std::unique_ptr<hookflow::NodeAllreduce> nodeAllreduce;
/** One rank per machine (local rank 0), between which a hierarchical all-reduce goes through MPI; MPI_COMM_NULL elsewhere or when flat. */
MPI_Comm leaders = MPI_COMM_NULL;
bool hierarchical = false;
/** Which all-reduce init chose, for its answer: shared-memory, hierarchical, or mpi (with the reason shared memory is not used). */
std::string allreducePath = "mpi";

std::string MpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, length);
}

/** The bytes of a collective's result, owned until they are handed to JS without a copy. */
struct GatherResult {
  std::unique_ptr<char[]> data;
  std::vector<int> counts;
  std::vector<int> displacements;
  size_t total = 0;
  bool present = false;
};

using Job = std::function<int()>;
using Resolver = std::function<Napi::Value(Napi::Env)>;

/** Runs one MPI call off the JS thread, keeping the arrays it reads and writes alive meanwhile. */
class CollectiveWorker : public Napi::AsyncWorker {
 public:
  CollectiveWorker(Napi::Env env, Job job, Resolver resolve, Napi::Value keepAlive)
      : Napi::AsyncWorker(env, "hookflow.mpi"), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)), resolve_(std::move(resolve)) {
    if (keepAlive.IsObject()) keepAlive_ = Napi::Persistent(keepAlive.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const int code = job_();
    if (code != MPI_SUCCESS) SetError(MpiErrorText(code));
  }
  void OnOK() override { deferred_.Resolve(resolve_(Env())); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Job job_;
  Resolver resolve_;
  Napi::ObjectReference keepAlive_;
};

Napi::Value Undefined(Napi::Env env) { return env.Undefined(); }

/** Runs `job` on the JS thread, as a settled Promise. */
Napi::Value RunInline(Napi::Env env, const Job& job, const Resolver& resolve) {
  if (!initialised) {
    Napi::Error::New(env, "hookflow mpi: init() was not called").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto deferred = Napi::Promise::Deferred::New(env);
  const int code = job();
  if (code == MPI_SUCCESS) deferred.Resolve(resolve(env));
  else deferred.Reject(Napi::Error::New(env, MpiErrorText(code)).Value());
  return deferred.Promise();
}

/** Runs `job` inline (small payloads) or on the thread pool, as a Promise either way. */
Napi::Value Run(Napi::Env env, size_t bytes, Job job, Resolver resolve, Napi::Value keepAlive) {
  if (bytes < asyncBytes || !initialised) return RunInline(env, job, resolve);
  auto* worker = new CollectiveWorker(env, std::move(job), std::move(resolve), keepAlive);
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

bool CheckArgs(const Napi::CallbackInfo& info, size_t count, const char* usage) {
  if (info.Length() < count) {
    Napi::TypeError::New(info.Env(), std::string("hookflow mpi: expected ") + usage).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

/** Large buffers (Open MPI's temporary ones for every big collective among them) come from the
 * heap and stay there instead of being mmapped and unmapped per call: touching fresh pages is very
 * slow on virtual machines. M_MMAP_THRESHOLD cannot exceed 32 MB, so mmap is switched off; up to
 * 512 MB of freed heap is kept. Measured for 1e7 floats at np 2 (bench/collectives.ts): about
 * half the wall time and a third of the CPU time. */
void KeepLargeAllocationsMapped() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  mallopt(M_ARENA_MAX, 4);
}

/**
 * MPI all-reduce over `comm` that leaves the same bits on every rank: with two ranks a+b == b+a,
 * so MPI_Allreduce does; with more, Open MPI's algorithms may combine in a different order on
 * different ranks, so the root reduces and broadcasts.
 */
int IdenticalAllreduce(float* data, size_t length, MPI_Op op, MPI_Comm comm) {
  int size = 1;
  int rank = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  const int count = static_cast<int>(length);
  if (size <= 2) return MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, op, comm);
  const int code = MPI_Reduce(rank == 0 ? MPI_IN_PLACE : data, data, count, MPI_FLOAT, op, 0, comm);
  return code == MPI_SUCCESS ? MPI_Bcast(data, count, MPI_FLOAT, 0, comm) : code;
}

/**
 * Chooses the all-reduce path, the same on every rank (each call here is collective): shared
 * memory when every rank shares this machine; across machines with several ranks on some,
 * hierarchical (shared memory within each machine, MPI between one leader per machine);
 * otherwise MPI_Allreduce over the world.
 */
void ChooseAllreduce(MPI_Comm local) {
  int widest = localSize;
  MPI_Allreduce(MPI_IN_PLACE, &widest, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (widest == 1) {
    allreducePath = "mpi (one rank per machine)";
    return;
  }
  std::string why;
  if (localSize > 1) nodeAllreduce = hookflow::NodeAllreduce::Create(local, &why);
  int ready = localSize == 1 || nodeAllreduce ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &ready, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!ready) {
    nodeAllreduce.reset();  // collective on this machine, whose ranks all have a window or none
    allreducePath = "mpi (" + (why.empty() ? std::string("no shared-memory window on another machine") : why) + ")";
    return;
  }
  if (localSize == worldSize) {
    allreducePath = "shared-memory";
    return;
  }
  MPI_Comm_split(MPI_COMM_WORLD, localRank == 0 ? 0 : MPI_UNDEFINED, worldRank, &leaders);
  hierarchical = true;
  allreducePath = "hierarchical";
}

/** Sum (or max, min) over the machine in shared memory, over the machines' leaders through MPI, then back to the machine. */
int HierarchicalAllreduce(float* data, size_t length, MPI_Op op, hookflow::ReduceKind kind) {
  if (nodeAllreduce) nodeAllreduce->Run(hookflow::FloatSpans(data, length), kind, false);
  int code = MPI_SUCCESS;
  if (leaders != MPI_COMM_NULL) code = IdenticalAllreduce(data, length, op, leaders);
  // Every rank of the machine takes part in the broadcast, also after a failure on the leader,
  // so none is left waiting in shared memory; the error then reaches JS on the leader.
  if (nodeAllreduce) nodeAllreduce->Broadcast(data, length);
  return code;
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int provided = MPI_THREAD_SINGLE;
  if (!initialised) {
    const Napi::Object options = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
    if (!(options.Has("mallopt") && !options.Get("mallopt").ToBoolean().Value())) KeepLargeAllocationsMapped();
    if (options.Get("asyncBytes").IsNumber()) asyncBytes = static_cast<size_t>(options.Get("asyncBytes").ToNumber().Int64Value());
    // A rank waiting for the others polls; on a machine whose cores are shared (other jobs,
    // V8's helper threads on a bound core) a poller that never yields stalls the rank it waits
    // for. Open MPI reads MCA parameters from the environment at init; a user's setting wins.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    int argc = 0;
    char** argv = nullptr;
    const int code = MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    if (code != MPI_SUCCESS) {
      Napi::Error::New(env, "MPI_Init_thread failed: " + MpiErrorText(code)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (provided < MPI_THREAD_SERIALIZED) {
      Napi::Error::New(env, "this Open MPI does not support MPI_THREAD_SERIALIZED (collectives run on worker threads)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
    MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
    // The ranks that share this machine's memory: the local rank is this rank's place among them.
    // `ranksPerNode` groups consecutive ranks into pretend machines instead (to exercise the
    // multi-machine path on one machine).
    MPI_Comm local;
    const int ranksPerNode = options.Get("ranksPerNode").IsNumber() ? options.Get("ranksPerNode").ToNumber().Int32Value() : 0;
    if (ranksPerNode > 0) MPI_Comm_split(MPI_COMM_WORLD, worldRank / ranksPerNode, worldRank, &local);
    else MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, worldRank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &localRank);
    MPI_Comm_size(local, &localSize);
    const bool wanted = !(options.Has("nodeAllreduce") && !options.Get("nodeAllreduce").ToBoolean().Value());
    if (wanted && worldSize > 1) ChooseAllreduce(local);
    MPI_Comm_free(&local);
    initialised = true;
  } else {
    // Already initialised (a second init is a query, not a collective).
    MPI_Query_thread(&provided);
  }
  auto result = Napi::Object::New(env);
  result.Set("rank", worldRank);
  result.Set("size", worldSize);
  result.Set("localRank", localRank);
  result.Set("localSize", localSize);
  result.Set("threadLevel", provided);
  result.Set("allreduce", allreducePath);
  result.Set("inlineBytes", static_cast<double>(asyncBytes));
  return result;
}

/** An all-reduce's operation, from its JS name. */
struct ReduceOp {
  MPI_Op op;
  hookflow::ReduceKind kind;
  bool mean;
};

/** The operation named by `name`, or false after throwing a TypeError that lists the names. */
bool ParseReduceOp(Napi::Env env, const std::string& name, ReduceOp* out) {
  if (name == "sum" || name == "mean") *out = {MPI_SUM, hookflow::ReduceKind::Sum, name == "mean"};
  else if (name == "max") *out = {MPI_MAX, hookflow::ReduceKind::Max, false};
  else if (name == "min") *out = {MPI_MIN, hookflow::ReduceKind::Min, false};
  else {
    Napi::TypeError::New(env, "hookflow mpi: allreduce op must be sum, mean, max or min, not '" + name + "'").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

/** The all-reduce of `data` on the path init chose: shared memory, hierarchical or MPI_Allreduce. */
int ReduceInPlace(const hookflow::FloatSpans& data, float* contiguous, const ReduceOp& op) {
  if (nodeAllreduce && !hierarchical) {
    nodeAllreduce->Run(data, op.kind, op.mean);
    return static_cast<int>(MPI_SUCCESS);
  }
  const size_t length = data.size();
  const int code = hierarchical ? HierarchicalAllreduce(contiguous, length, op.op, op.kind) : IdenticalAllreduce(contiguous, length, op.op, MPI_COMM_WORLD);
  if (code == MPI_SUCCESS && op.mean) {
    const float size = static_cast<float>(worldSize);
    for (size_t i = 0; i < length; i++) contiguous[i] /= size;
  }
  return code;
}

/** allreduce(values: Float32Array, op: 'sum' | 'mean' | 'max' | 'min'): in place. */
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 2, "allreduce(Float32Array, op)")) return env.Undefined();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(env, "hookflow mpi: allreduce takes a Float32Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto values = info[0].As<Napi::Float32Array>();
  ReduceOp op;
  if (!ParseReduceOp(env, info[1].ToString().Utf8Value(), &op)) return env.Undefined();
  float* data = values.Data();
  const size_t length = values.ElementLength();
  Job job = [data, length, op]() { return ReduceInPlace(hookflow::FloatSpans(data, length), data, op); };
  return Run(env, length * sizeof(float), std::move(job), Undefined, values);
}

/**
 * allreduceParts(parts: Float32Array[], op): the all-reduce of the parts' concatenation, in place,
 * always inline: the parts may be views of memory that moves once JS runs again (the wasm heap).
 * Shared memory reads and writes them where they are; the MPI paths pack them into one buffer.
 */
Napi::Value AllreduceParts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 2, "allreduceParts(Float32Array[], op)")) return env.Undefined();
  if (!info[0].IsArray()) {
    Napi::TypeError::New(env, "hookflow mpi: allreduceParts takes an array of Float32Arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ReduceOp op;
  if (!ParseReduceOp(env, info[1].ToString().Utf8Value(), &op)) return env.Undefined();
  auto list = info[0].As<Napi::Array>();
  hookflow::FloatSpans parts;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value part = list.Get(i);
    if (!part.IsTypedArray() || part.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      Napi::TypeError::New(env, "hookflow mpi: allreduceParts takes an array of Float32Arrays").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto values = part.As<Napi::Float32Array>();
    parts.Add(values.Data(), values.ElementLength());
  }
  // The MPI paths need one buffer; it is kept between calls (first-touch memory is slow).
  static std::vector<float> packed;
  Job job = [&parts, op]() {
    if (nodeAllreduce && !hierarchical) return ReduceInPlace(parts, nullptr, op);
    packed.resize(parts.size());
    parts.Read(0, parts.size(), packed.data());
    const int code = ReduceInPlace(parts, packed.data(), op);
    parts.Write(0, parts.size(), packed.data());
    return code;
  };
  return RunInline(env, job, Undefined);
}

/** bcast(view: ArrayBufferView, root): the root's bytes into every rank's view, in place. */
Napi::Value Bcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 2, "bcast(ArrayBufferView, root)")) return env.Undefined();
  if (!info[0].IsTypedArray() && !info[0].IsDataView()) {
    Napi::TypeError::New(env, "hookflow mpi: bcast takes a typed array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto view = info[0].As<Napi::TypedArray>();
  char* data = static_cast<char*>(view.ArrayBuffer().Data()) + view.ByteOffset();
  const size_t bytes = view.ByteLength();
  const int root = info[1].ToNumber().Int32Value();
  Job job = [data, bytes, root]() { return MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD); };
  return Run(env, bytes, std::move(job), Undefined, view);
}

/** Every rank's bytes in rank order, as views into one buffer handed to JS without a copy. */
Napi::Value GatherViews(Napi::Env env, const std::shared_ptr<GatherResult>& result) {
  if (!result->present) return env.Undefined();
  char* raw = result->data.release();
  auto buffer = Napi::ArrayBuffer::New(env, raw, result->total, [](Napi::Env, void* data) { delete[] static_cast<char*>(data); });
  auto parts = Napi::Array::New(env, result->counts.size());
  for (size_t i = 0; i < result->counts.size(); i++) {
    parts.Set(i, Napi::Uint8Array::New(env, result->counts[i], buffer, result->displacements[i]));
  }
  return parts;
}

/** allgatherv / gatherv of byte strings of any length per rank; `root < 0` means everyone. */
Napi::Value GatherBytes(const Napi::CallbackInfo& info, bool all) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, all ? 1 : 2, all ? "allgatherv(Uint8Array)" : "gatherv(Uint8Array, root)")) return env.Undefined();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "hookflow mpi: gathers take a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto bytes = info[0].As<Napi::Uint8Array>();
  if (bytes.ByteLength() > INT32_MAX) {
    Napi::RangeError::New(env, "hookflow mpi: a gathered value must be under 2 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* data = bytes.Data();
  const int count = static_cast<int>(bytes.ByteLength());
  const int root = all ? -1 : info[1].ToNumber().Int32Value();
  auto result = std::make_shared<GatherResult>();
  Job job = [data, count, root, result]() {
    const bool receives = root < 0 || root == worldRank;
    result->counts.assign(worldSize, 0);
    int code = root < 0 ? MPI_Allgather(&count, 1, MPI_INT, result->counts.data(), 1, MPI_INT, MPI_COMM_WORLD)
                        : MPI_Gather(&count, 1, MPI_INT, result->counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD);
    if (code != MPI_SUCCESS) return code;
    if (receives) {
      result->displacements.assign(worldSize, 0);
      for (int i = 0; i < worldSize; i++) {
        result->displacements[i] = static_cast<int>(result->total);
        result->total += static_cast<size_t>(result->counts[i]);
      }
      if (result->total > INT32_MAX) return static_cast<int>(MPI_ERR_COUNT);
      result->data.reset(new char[result->total > 0 ? result->total : 1]);
      result->present = true;
    }
    char* recv = receives ? result->data.get() : nullptr;
    return root < 0 ? MPI_Allgatherv(data, count, MPI_BYTE, recv, result->counts.data(), result->displacements.data(), MPI_BYTE, MPI_COMM_WORLD)
                    : MPI_Gatherv(data, count, MPI_BYTE, recv, result->counts.data(), result->displacements.data(), MPI_BYTE, root, MPI_COMM_WORLD);
  };
  return Run(env, static_cast<size_t>(count) * worldSize, std::move(job), [result](Napi::Env e) { return GatherViews(e, result); }, bytes);
}

Napi::Value Allgatherv(const Napi::CallbackInfo& info) { return GatherBytes(info, true); }
Napi::Value Gatherv(const Napi::CallbackInfo& info) { return GatherBytes(info, false); }

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  // A barrier waits for the slowest rank: always off the JS thread.
  return Run(info.Env(), SIZE_MAX, []() { return MPI_Barrier(MPI_COMM_WORLD); }, Undefined, info.Env().Undefined());
}

/** abort(code): ends every rank of the job (mpirun reports which rank called it). */
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info.Length() > 0 ? info[0].ToNumber().Int32Value() : 1;
  if (initialised) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (initialised && !finalized) {
    nodeAllreduce.reset();  // frees its window: collective, like MPI_Finalize
    if (leaders != MPI_COMM_NULL) MPI_Comm_free(&leaders);
    MPI_Finalize();
  }
  return info.Env().Undefined();
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce));
  exports.Set("allreduceParts", Napi::Function::New(env, AllreduceParts));
  exports.Set("bcast", Napi::Function::New(env, Bcast));
  exports.Set("allgatherv", Napi::Function::New(env, Allgatherv));
  exports.Set("gatherv", Napi::Function::New(env, Gatherv));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  return exports;
}

}  // namespace

NODE_API_MODULE(mpi, Module)
