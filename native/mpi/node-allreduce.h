// An all-reduce for ranks that share one machine's memory, through an MPI shared-memory window
// and nothing else: each rank copies its values into its slot, reduces its share of the elements
// across all slots (in rank order, so every rank ends with the same bits), and copies the other
// shares back. It makes no system call and needs no MPI progress, so it is not stalled by what
// slows Open MPI's path on a busy 2-core machine (see node-allreduce.cc).
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace hookflow {

enum class ReduceKind { Sum, Max, Min };

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
  void Run(float* data, size_t length, ReduceKind kind, bool mean);

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
  void RunChunk(float* data, size_t length, ReduceKind kind, bool mean);
  /** Reduces elements [lo, hi) of round `round`'s slots, in rank order, into `data` (and `alsoInto` unless null). */
  void ReduceRange(uint64_t round, size_t lo, size_t hi, float* data, float* alsoInto, ReduceKind kind, bool mean) const;
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
