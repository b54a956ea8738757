// Why not MPI_Allreduce between ranks of one machine: with 2 ranks on 2 cores (MNIST MLP, 101,773
// gradient floats per step), Open MPI's shared-memory path took 0.17 ms at the median but several
// milliseconds in 1-2% of the calls even when both ranks had arrived (a barrier just before it),
// which the other rank then waited for: 0.45 ms per call on average. This path only copies, adds
// and spins on counters in shared memory.
//
// The protocol, per chunk of at most `slotFloats_` elements ("round" r, counting from 1):
//   1. copy the chunk, except this rank's own share of its elements, into this rank's slot of
//      set r % 2; copiedIn[rank] = r;
//   2. once every copiedIn >= r: reduce this rank's share over the other ranks' slots and its own
//      data, in rank order, into its data and slot; reduced[rank] = r;
//   3. once every reduced >= r: copy the other ranks' shares from their slots.
// Leaving out the own share in step 1 saves 1/N of the copying in (MNIST MLP, 2 ranks: 200 KB of
// the 400 KB per step). With few elements (the ranks' stop agreement: one float), every rank
// copies all of them in and reduces all of them itself after step 1 (the same bits: the same
// order), which waits for the other ranks once instead of twice. Not for large arrays: at 2
// ranks and 1e5 floats, reading all of the other rank's slot took 0.11 ms against 0.08-0.09 ms
// for the three steps.
// Slots alternate between two sets. The rule that keeps them safe: a rank writes round r + 2's
// slots only once every rank has finished reading round r's. Passing step 1's wait of round
// r + 1 proves it (every rank has started round r + 1), and so does step 2's.

#include "node-allreduce.h"

#include <sched.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace hookflow {
namespace {

/**
 * The shared slots' total size, whatever the number of ranks (chunks get smaller): 1 MiB, so a
 * chunk's slots and data stay in L2 (2 ranks, 4e6 floats: 3.9-4.0 ms per call against 4.3 ms
 * with 8 MiB).
 */
constexpr size_t kSlotBytesTotal = 1u << 20;
/** Busy-wait this many times before yielding the core to whatever else wants it. */
constexpr unsigned kSpinsBeforeYield = 4096;
/** Elements reduced per block: 8 KiB, well inside L1. */
constexpr size_t kBlockFloats = 2048;
/** Every rank reduces all elements itself while elements x ranks stay under this (64 KiB of slots). */
constexpr size_t kReduceEverywhereFloats = 16384;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

std::unique_ptr<NodeAllreduce> NodeAllreduce::Create(MPI_Comm node, std::string* why) {
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_size(node, &size);
  const size_t slotFloats = std::max<size_t>(4096, kSlotBytesTotal / sizeof(float) / (2 * static_cast<size_t>(size)));
  const size_t countersBytes = 2 * static_cast<size_t>(size) * sizeof(Counter);
  const size_t bytes = countersBytes + 2 * static_cast<size_t>(size) * slotFloats * sizeof(float);
  // Rank 0 allocates the whole window (one contiguous segment); the others map it.
  char* base = nullptr;
  MPI_Win window = MPI_WIN_NULL;
  int code = MPI_Win_allocate_shared(rank == 0 ? static_cast<MPI_Aint>(bytes) : 0, 1, MPI_INFO_NULL, node, &base, &window);
  if (code != MPI_SUCCESS) {
    *why = "MPI_Win_allocate_shared failed";
    return nullptr;
  }
  MPI_Aint size0 = 0;
  int unit = 0;
  code = MPI_Win_shared_query(window, 0, &size0, &unit, &base);
  // Every rank of the node must take the same path, and freeing the window is collective.
  int mapped = code == MPI_SUCCESS && base != nullptr && static_cast<size_t>(size0) >= bytes ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &mapped, 1, MPI_INT, MPI_MIN, node);
  if (!mapped) {
    MPI_Win_free(&window);
    *why = "MPI_Win_shared_query failed";
    return nullptr;
  }
  if (rank == 0) {
    // Counters start at round 0; touching the slots now keeps first-touch page faults (slow on
    // virtual machines) out of the first training steps.
    auto* counters = reinterpret_cast<Counter*>(base);
    for (int i = 0; i < 2 * size; i++) new (&counters[i]) Counter{{0}};
    std::memset(base + countersBytes, 0, bytes - countersBytes);
  }
  MPI_Barrier(node);
  return std::unique_ptr<NodeAllreduce>(new NodeAllreduce(window, base, rank, size, slotFloats));
}

NodeAllreduce::NodeAllreduce(MPI_Win window, char* base, int rank, int size, size_t slotFloats)
    : window_(window), rank_(rank), size_(size), slotFloats_(slotFloats) {
  copiedIn_ = reinterpret_cast<Counter*>(base);
  reduced_ = copiedIn_ + size;
  slots_ = reinterpret_cast<float*>(reduced_ + size);
}

NodeAllreduce::~NodeAllreduce() { MPI_Win_free(&window_); }

float* NodeAllreduce::Slot(uint64_t round, int owner) const {
  return slots_ + ((round & 1) * static_cast<size_t>(size_) + static_cast<size_t>(owner)) * slotFloats_;
}

void NodeAllreduce::Await(const Counter& counter, uint64_t round) {
  unsigned spins = 0;
  while (counter.value.load(std::memory_order_acquire) < round) {
    if (++spins < kSpinsBeforeYield) CpuRelax();
    else sched_yield();
  }
}

void NodeAllreduce::AwaitAll(Counter* counters, uint64_t round) const {
  for (int r = 0; r < size_; r++) Await(counters[r], round);
}

void FloatSpans::Add(float* data, size_t length) {
  data_.push_back(data);
  starts_.push_back(total_);
  lengths_.push_back(length);
  total_ += length;
}

size_t FloatSpans::Find(size_t at) const {
  // Empty arrays share their start with the next one; the last array starting at or before `at`
  // is the one that holds it.
  return static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), at) - starts_.begin()) - 1;
}

void FloatSpans::Read(size_t at, size_t n, float* out) const {
  ForEachPiece(at, n, [&out](float* piece, size_t count) {
    std::memcpy(out, piece, count * sizeof(float));
    out += count;
  });
}

void FloatSpans::Write(size_t at, size_t n, const float* in) const {
  ForEachPiece(at, n, [&in](float* piece, size_t count) {
    std::memcpy(piece, in, count * sizeof(float));
    in += count;
  });
}

const float* FloatSpans::Contiguous(size_t at, size_t n) const {
  const size_t i = Find(at);
  return at - starts_[i] + n <= lengths_[i] ? data_[i] + (at - starts_[i]) : nullptr;
}

void NodeAllreduce::Run(const FloatSpans& data, ReduceKind kind, bool mean) {
  for (size_t at = 0; at < data.size(); at += slotFloats_) RunChunk(data, at, std::min(slotFloats_, data.size() - at), kind, mean);
}

void NodeAllreduce::ReduceRange(uint64_t round, size_t lo, size_t hi, const FloatSpans& data, size_t start, float* alsoInto, ReduceKind kind, bool mean) const {
  // Block by block, so each block is read once and stays in L1 for the passes. This rank's values
  // are read from `data` (its slot may hold only the other ranks' shares), in rank order all the
  // same, so every rank computes the same bits.
  const float count = static_cast<float>(size_);
  float stack[kBlockFloats];
  float ownCopy[kBlockFloats];
  for (size_t b = lo; b < hi; b += kBlockFloats) {
    const size_t n = std::min(kBlockFloats, hi - b);
    const float* own = data.Contiguous(start + b, n);
    if (!own) {
      data.Read(start + b, n, ownCopy);
      own = ownCopy;
    }
    const auto from = [&](int q) -> const float* { return q == rank_ ? own : Slot(round, q) + b; };
    float* out = alsoInto ? alsoInto + b : stack;
    std::memcpy(out, from(0), n * sizeof(float));
    for (int q = 1; q < size_; q++) {
      const float* in = from(q);
      switch (kind) {
        case ReduceKind::Sum: for (size_t i = 0; i < n; i++) out[i] += in[i]; break;
        case ReduceKind::Max: for (size_t i = 0; i < n; i++) out[i] = in[i] > out[i] ? in[i] : out[i]; break;
        case ReduceKind::Min: for (size_t i = 0; i < n; i++) out[i] = in[i] < out[i] ? in[i] : out[i]; break;
      }
    }
    if (mean) for (size_t i = 0; i < n; i++) out[i] /= count;
    data.Write(start + b, n, out);
  }
}

void NodeAllreduce::RunChunk(const FloatSpans& data, size_t start, size_t length, ReduceKind kind, bool mean) {
  const uint64_t round = ++round_;
  float* mine = Slot(round, rank_);
  const bool everywhere = length * static_cast<size_t>(size_) <= kReduceEverywhereFloats;
  const size_t share = (length + size_ - 1) / size_;
  const auto range = [&](int r, size_t* lo, size_t* hi) {
    *lo = std::min(length, static_cast<size_t>(r) * share);
    *hi = std::min(length, *lo + share);
  };
  size_t lo, hi;
  range(rank_, &lo, &hi);
  // The others read this rank's values of their shares only: its own share stays in `data`.
  if (everywhere) {
    data.Read(start, length, mine);
  } else {
    data.Read(start, lo, mine);
    data.Read(start + hi, length - hi, mine + hi);
  }
  copiedIn_[rank_].value.store(round, std::memory_order_release);
  AwaitAll(copiedIn_, round);

  if (everywhere) {
    ReduceRange(round, 0, length, data, start, nullptr, kind, mean);
    return;
  }
  ReduceRange(round, lo, hi, data, start, mine, kind, mean);
  reduced_[rank_].value.store(round, std::memory_order_release);
  AwaitAll(reduced_, round);

  for (int q = 0; q < size_; q++) {
    if (q == rank_) continue;
    range(q, &lo, &hi);
    data.Write(start + lo, hi - lo, Slot(round, q) + lo);
  }
}

void NodeAllreduce::Broadcast(float* data, size_t length) {
  for (size_t at = 0; at < length; at += slotFloats_) BroadcastChunk(data + at, std::min(slotFloats_, length - at));
}

// A broadcast round: rank 0 fills its slot, the others copy it out, and every rank waits until
// all have (so, as after a reduction round, nobody reads this round's slots any more when the
// next round starts writing the other set).
void NodeAllreduce::BroadcastChunk(float* data, size_t length) {
  const uint64_t round = ++round_;
  float* source = Slot(round, 0);
  if (rank_ == 0) {
    std::memcpy(source, data, length * sizeof(float));
    copiedIn_[0].value.store(round, std::memory_order_release);
  } else {
    Await(copiedIn_[0], round);
    std::memcpy(data, source, length * sizeof(float));
    copiedIn_[rank_].value.store(round, std::memory_order_release);
  }
  reduced_[rank_].value.store(round, std::memory_order_release);
  AwaitAll(reduced_, round);
}

}  // namespace hookflow
