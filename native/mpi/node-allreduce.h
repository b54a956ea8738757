// An all-reduce for ranks that share one machine's memory, through an MPI shared-memory window
// and nothing else: each rank copies its values, but for its own share of the elements, into its
// slot, reduces its share across all ranks (in rank order, so every rank ends with the same bits),
// and copies the other shares back. It makes no system call and needs no MPI progress, so it is
// not stalled by what slows Open MPI's path on a busy 2-core machine (see node-allreduce.cc).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hookflow {

enum class ReduceKind { Sum, Max, Min };

/**
 * Several float arrays seen as one, in order: an all-reduce of arrays that live apart (gradients
 * on the wasm heap) without packing them into one buffer first and unpacking after.
 */
class FloatSpans {
 public:
  FloatSpans() = default;
  FloatSpans(float* data, size_t length) { Add(data, length); }
  void Add(float* data, size_t length);
  size_t size() const { return total_; }
  /** Copies elements [at, at + n) into `out`. */
  void Read(size_t at, size_t n, float* out) const;
  /** Copies `in` over elements [at, at + n). */
  void Write(size_t at, size_t n, const float* in) const;
  /** Elements [at, at + n) as one pointer when they lie in one array, else null. */
  const float* Contiguous(size_t at, size_t n) const;

 private:
  /** The array holding element `at` (< size()): the last one starting at or before it. */
  size_t Find(size_t at) const;
  /** Calls `visit(pointer, count)` for the pieces of elements [at, at + n), array by array. */
  template <typename Visit>
  void ForEachPiece(size_t at, size_t n, Visit visit) const {
    for (size_t i = n > 0 ? Find(at) : 0; n > 0; i++) {
      const size_t offset = at - starts_[i];
      const size_t count = std::min(n, lengths_[i] - offset);
      visit(data_[i] + offset, count);
      at += count;
      n -= count;
    }
  }
  std::vector<float*> data_;
  std::vector<size_t> starts_;
  std::vector<size_t> lengths_;
  size_t total_ = 0;
};

class NodeAllreduce {
 public:
  /**
   * Allocates the shared window on `node` (every rank of it must call this: it is collective) or
   * returns null with the reason in `why`.
   */
  static std::unique_ptr<NodeAllreduce> Create(MPI_Comm node, std::string* why);
  ~NodeAllreduce();
  NodeAllreduce(const NodeAllreduce&) = delete;
  NodeAllreduce& operator=(const NodeAllreduce&) = delete;

  /** Reduces `data` in place across the node's ranks; `mean` divides the sum by their number. */
  void Run(const FloatSpans& data, ReduceKind kind, bool mean);

  /** Copies node rank 0's `data` into every other node rank's `data`. */
  void Broadcast(float* data, size_t length);

 private:
  /** One rank's progress, each counter on a cache line of its own. */
  struct alignas(64) Counter {
    std::atomic<uint64_t> value;
  };

  NodeAllreduce(MPI_Win window, char* base, int rank, int size, size_t slotFloats);
  float* Slot(uint64_t round, int owner) const;
  /** Waits until `counter` has reached `round`: spins briefly, then yields the core between looks. */
  static void Await(const Counter& counter, uint64_t round);
  /** Waits until every rank's counter in `counters` has reached `round`. */
  void AwaitAll(Counter* counters, uint64_t round) const;
  /** One round over elements [start, start + length) of `data`. */
  void RunChunk(const FloatSpans& data, size_t start, size_t length, ReduceKind kind, bool mean);
  /**
   * Reduces the chunk's elements [lo, hi), in rank order (this rank's from `data`, the others'
   * from their slots), into `data` (and `alsoInto`, the chunk's slot of this rank, unless null).
   */
  void ReduceRange(uint64_t round, size_t lo, size_t hi, const FloatSpans& data, size_t start, float* alsoInto, ReduceKind kind, bool mean) const;
  void BroadcastChunk(float* data, size_t length);

  MPI_Win window_;
  int rank_;
  int size_;
  size_t slotFloats_;
  Counter* copiedIn_;
  Counter* reduced_;
  float* slots_;
  uint64_t round_ = 0;
};

}  // namespace hookflow
