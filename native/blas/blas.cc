// Native compute on tensors that live in the tfjs wasm heap (one ArrayBuffer), no copies:
// OpenBLAS sgemm for the matmuls, and the one-pass loops of gradient clipping and SGD.
// JS passes the heap and byte offsets; this file only computes. See README.md.
#include <napi.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}

namespace {

// Activation codes; the same list, in order, as NATIVE_ACTIVATIONS in native-mat-mul.ts.
enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kSigmoid = 3, kElu = 4, kLeakyRelu = 5 };

void Epilogue(float* c, int64_t rows, int64_t n, const float* bias, int64_t biasLen, int activation, float alpha) {
  if (bias != nullptr) {
    for (int64_t r = 0; r < rows; ++r) {
      float* row = c + r * n;
      if (biasLen == 1) {
        for (int64_t j = 0; j < n; ++j) row[j] += bias[0];
      } else {
        for (int64_t j = 0; j < n; ++j) row[j] += bias[j];
      }
    }
  }
  const int64_t size = rows * n;
  switch (activation) {
    case kRelu: for (int64_t i = 0; i < size; ++i) c[i] = c[i] < 0.f ? 0.f : c[i]; break;
    case kRelu6: for (int64_t i = 0; i < size; ++i) c[i] = std::min(6.f, std::max(0.f, c[i])); break;
    case kSigmoid: for (int64_t i = 0; i < size; ++i) c[i] = 1.f / (1.f + std::exp(-c[i])); break;
    case kElu: for (int64_t i = 0; i < size; ++i) c[i] = c[i] < 0.f ? std::expm1(c[i]) : c[i]; break;
    case kLeakyRelu: for (int64_t i = 0; i < size; ++i) c[i] = c[i] < 0.f ? alpha * c[i] : c[i]; break;
    default: break;
  }
}

// sgemm(heap, batch, m, n, k, aOffset, bOffset, cOffset, transposeA, transposeB,
//       aBatchStride, bBatchStride, biasOffset, biasLength, activation, alpha)
// Offsets are in bytes into `heap`, strides in elements (0 broadcasts one matrix over the batch).
// Row-major: a is [m, k] ([k, m] transposed), b is [k, n] ([n, k] transposed), c is [m, n].
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 16 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "sgemm: expected (heap, batch, m, n, k, aOffset, bOffset, cOffset, transposeA, transposeB, aStride, bStride, biasOffset, biasLength, activation, alpha)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  const size_t heapBytes = heap.ByteLength();
  auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t batch = num(1), m = num(2), n = num(3), k = num(4);
  const int64_t aOff = num(5), bOff = num(6), cOff = num(7);
  const bool ta = info[8].ToBoolean().Value(), tb = info[9].ToBoolean().Value();
  const int64_t aStride = num(10), bStride = num(11), biasOff = num(12), biasLen = num(13);
  const int activation = static_cast<int>(num(14));
  const float alpha = static_cast<float>(info[15].As<Napi::Number>().DoubleValue());
  // Every operand must lie inside the heap: a wrong offset must not write outside it.
  auto inside = [&](int64_t off, int64_t elems) { return off >= 0 && elems >= 0 && static_cast<uint64_t>(off) + static_cast<uint64_t>(elems) * 4 <= heapBytes; };
  if (batch < 1 || m < 0 || n < 0 || k < 0 || !inside(aOff, (batch - 1) * aStride + m * k) || !inside(bOff, (batch - 1) * bStride + k * n) ||
      !inside(cOff, batch * m * n) || (biasOff >= 0 && !inside(biasOff, biasLen))) {
    Napi::RangeError::New(env, "sgemm: an operand lies outside the heap").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const float* a = reinterpret_cast<const float*>(base + aOff);
  const float* b = reinterpret_cast<const float*>(base + bOff);
  float* c = reinterpret_cast<float*>(base + cOff);
  const float* bias = biasOff >= 0 ? reinterpret_cast<const float*>(base + biasOff) : nullptr;
  const int lda = ta ? m : k, ldb = tb ? k : n;
  for (int64_t i = 0; i < batch; ++i) {
    if (m > 0 && n > 0) {
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.f,
                  a + i * aStride, lda, b + i * bStride, ldb, 0.f, c + i * m * n, n);
    }
  }
  if (bias != nullptr || activation != kLinear) Epilogue(c, batch * m, n, bias, biasLen, activation, alpha);
  return env.Undefined();
}

// True if `length` floats at byte `offset` lie inside the heap; otherwise throws a JS RangeError.
bool CheckedF32(Napi::Env env, size_t heapBytes, int64_t offset, int64_t length) {
  if (offset >= 0 && length >= 0 && static_cast<uint64_t>(offset) + static_cast<uint64_t>(length) * 4 <= heapBytes) return true;
  Napi::RangeError::New(env, "an operand lies outside the heap").ThrowAsJavaScriptException();
  return false;
}

// sumOfSquares(heap, offsetsAndLengths: Float64Array [offset0, length0, offset1, ...]) -> number
// One pass over every gradient (the global 2-norm of gradient clipping), accumulated in double.
// Sum of x[j]² in float over 16 lanes, folded in a fixed order: the loop vectorises without
// -ffast-math (a single running sum is a serial chain of adds, about 4x slower), and the result
// is the same bits on every machine, whichever clone (AVX2 or baseline SSE) runs.
__attribute__((target_clones("avx2", "default")))
float SumOfSquaresF32(const float* __restrict x, int64_t length) {
  constexpr int64_t kLanes = 16;
  float lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= length; j += kLanes) {
    for (int64_t k = 0; k < kLanes; ++k) lanes[k] += x[j + k] * x[j + k];
  }
  for (int64_t k = 0; j < length; ++j, ++k) lanes[k] += x[j] * x[j];
  float total = 0.f;
  for (int64_t k = 0; k < kLanes; ++k) total += lanes[k];
  return total;
}

Napi::Value SumOfSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Float64Array spans = info[1].As<Napi::Float64Array>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  double total = 0;  // float per tensor, double across tensors
  for (size_t i = 0; i + 1 < spans.ElementLength(); i += 2) {
    const auto offset = static_cast<int64_t>(spans[i]), length = static_cast<int64_t>(spans[i + 1]);
    if (!CheckedF32(env, heap.ByteLength(), offset, length)) return env.Undefined();
    total += SumOfSquaresF32(reinterpret_cast<const float*>(base + offset), length);
  }
  return Napi::Number::New(env, total);
}

// sgdUpdate(heap, n, paramOffset, gradOffset, bufferOffset (-1: none yet), outParamOffset,
//           outBufferOffset (-1: no momentum), lr, momentum, dampening, weightDecay, nesterov)
// PyTorch's SGD step in one pass: d = g + wd·p; buf = d on the first step, else
// momentum·buf + (1 − dampening)·d; d = nesterov ? d + momentum·buf : buf; p' = p − lr·d.
// The outputs are fresh tensors, never the inputs, so the pointers do not alias; each case is
// its own loop so that every loop vectorises (float arithmetic in the same order as the JS
// loop in sgd-update.ts, no FMA contraction, so both give the same bits).
struct SgdStep {
  const float* __restrict p;
  const float* __restrict g;
  const float* __restrict buf;  // null on the first momentum step
  float* __restrict outP;
  float* __restrict outB;       // null without momentum
  float lr, momentum, keep, wd;  // keep = 1 − dampening
  bool nesterov;
};

__attribute__((target_clones("avx2", "default")))
void RunSgdStep(const SgdStep& s, int64_t n) {
  const float* __restrict p = s.p;
  const float* __restrict g = s.g;
  const float* __restrict buf = s.buf;
  float* __restrict outP = s.outP;
  float* __restrict outB = s.outB;
  const float lr = s.lr, m = s.momentum, keep = s.keep, wd = s.wd;
  if (outB == nullptr) {
    for (int64_t i = 0; i < n; ++i) outP[i] = p[i] - lr * (g[i] + wd * p[i]);
  } else if (buf == nullptr && !s.nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      outB[i] = d;
      outP[i] = p[i] - lr * d;
    }
  } else if (buf == nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      outB[i] = d;
      outP[i] = p[i] - lr * (d + m * d);
    }
  } else if (!s.nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      const float b = m * buf[i] + keep * (g[i] + wd * p[i]);
      outB[i] = b;
      outP[i] = p[i] - lr * b;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      const float b = m * buf[i] + keep * d;
      outB[i] = b;
      outP[i] = p[i] - lr * (d + m * b);
    }
  }
}

// Float32 views of the heap at the `count` byte offsets in arguments `first`... of `n` floats
// each. Bit k of `optional` allows offset k to be -1 (an absent operand: a null view); any other
// offset outside the heap throws a JS RangeError and returns false.
bool HeapViews(const Napi::CallbackInfo& info, int first, int count, int64_t n, uint32_t optional, float** out) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  for (int k = 0; k < count; ++k) {
    const int64_t offset = info[first + k].As<Napi::Number>().Int64Value();
    if (offset == -1 && (optional >> k & 1u)) {
      out[k] = nullptr;
      continue;
    }
    if (!CheckedF32(info.Env(), heap.ByteLength(), offset, n)) return false;
    out[k] = reinterpret_cast<float*>(base + offset);
  }
  return true;
}

// Argument i as a float (a hyper-parameter rounded as tfjs rounds its scalars).
float Real(const Napi::CallbackInfo& info, int i) { return static_cast<float>(info[i].As<Napi::Number>().DoubleValue()); }

Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  const int64_t n = info[1].As<Napi::Number>().Int64Value();
  float* at[5];  // param, grad, buffer (optional), outParam, outBuffer (optional)
  if (!HeapViews(info, 2, 5, n, 0b10100, at)) return info.Env().Undefined();
  const SgdStep step{at[0], at[1], at[2], at[3], at[4], Real(info, 7), Real(info, 8), 1.f - Real(info, 9), Real(info, 10), info[11].ToBoolean().Value()};
  RunSgdStep(step, n);
  return info.Env().Undefined();
}

// adamUpdate(heap, n, paramOffset, gradOffset, expAvgOffset, expAvgSqOffset, outParamOffset,
// outExpAvgOffset, outExpAvgSqOffset, decay, weightDecay, beta1, 1 - beta1, beta2, 1 - beta2,
// sqrtBias2, eps, stepSize), the scalars computed in double by the caller as tfjs's ops get them:
// one Adam/AdamW step, float32 operation for operation as the generic tfjs ops compute it (see
// src/backend/kernels/adam-update.ts): decay = 1 - lr·wd for AdamW's decoupled decay (else 1),
// weightDecay = the coupled (L2) decay (else 0), stepSize = lr / (1 - beta1^step).
// Pointers and scalars as parameters: gcc 12 does not vectorise this loop when they come from a
// struct (even copied into restrict locals first).
__attribute__((target_clones("avx2", "default")))
void RunAdamStep(const float* __restrict p, const float* __restrict g, const float* __restrict m, const float* __restrict v,
                 float* __restrict outP, float* __restrict outM, float* __restrict outV, int64_t n, float decay, float wd,
                 float beta1, float keep1, float beta2, float keep2, float sqrtBias2, float eps, float stepSize) {
  // A zero coupled decay adds nothing in the generic path (and 0·inf would be NaN); the compiler
  // unswitches the loop on this invariant.
  const bool coupled = wd != 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const float grad = coupled ? g[i] + p[i] * wd : g[i];
    const float mi = m[i] * beta1 + grad * keep1;
    const float vi = v[i] * beta2 + (grad * grad) * keep2;
    const float denom = __builtin_sqrtf(vi) / sqrtBias2 + eps;
    outM[i] = mi;
    outV[i] = vi;
    outP[i] = p[i] * decay - (mi / denom) * stepSize;
  }
}

Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const int64_t n = info[1].As<Napi::Number>().Int64Value();
  float* at[7];
  if (!HeapViews(info, 2, 7, n, 0, at)) return info.Env().Undefined();
  RunAdamStep(at[0], at[1], at[2], at[3], at[4], at[5], at[6], n, Real(info, 9), Real(info, 10), Real(info, 11), Real(info, 12),
              Real(info, 13), Real(info, 14), Real(info, 15), Real(info, 16), Real(info, 17));
  return info.Env().Undefined();
}

// adagradUpdate(heap, n, paramOffset, gradOffset, sumOffset, outParamOffset, outSumOffset,
// weightDecay, clr, eps): one Adagrad step, float32 operation for operation as the generic tfjs
// ops (src/backend/kernels/adagrad-update.ts); clr = lr / (1 + (step - 1) · lrDecay).
__attribute__((target_clones("avx2", "default")))
void RunAdagradStep(const float* __restrict p, const float* __restrict g, const float* __restrict sum, float* __restrict outP,
                    float* __restrict outSum, int64_t n, float wd, float clr, float eps) {
  const bool decayed = wd != 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const float grad = decayed ? g[i] + p[i] * wd : g[i];
    const float si = sum[i] + grad * grad;
    outSum[i] = si;
    outP[i] = p[i] - (grad / (__builtin_sqrtf(si) + eps)) * clr;
  }
}

// rmspropUpdate(heap, n, paramOffset, gradOffset, squareAvgOffset, gradAvgOffset (-1: not
// centered), bufferOffset (-1: no momentum), outParamOffset, outSquareAvgOffset, outGradAvgOffset,
// outBufferOffset, weightDecay, alpha, 1 - alpha, eps, momentum, lr): one RMSProp step, float32
// operation for operation as the generic tfjs ops (src/backend/kernels/rmsprop-update.ts).
// One loop per variant: a load or store under a condition keeps gcc from vectorising.
template <bool kCentered, bool kMomentum>
inline void RmspropLoop(const float* __restrict p, const float* __restrict g, const float* __restrict sq, const float* __restrict ga,
                        const float* __restrict buf, float* __restrict outP, float* __restrict outSq, float* __restrict outGa,
                        float* __restrict outBuf, int64_t n, float wd, float alpha, float keep, float eps, float momentum, float lr) {
  const bool decayed = wd != 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const float grad = decayed ? g[i] + p[i] * wd : g[i];
    const float si = sq[i] * alpha + (grad * grad) * keep;
    outSq[i] = si;
    float avg;
    if (kCentered) {
      const float gi = ga[i] * alpha + grad * keep;
      outGa[i] = gi;
      avg = __builtin_sqrtf(si - gi * gi) + eps;
    } else {
      avg = __builtin_sqrtf(si) + eps;
    }
    if (kMomentum) {
      const float b = buf[i] * momentum + grad / avg;
      outBuf[i] = b;
      outP[i] = p[i] - b * lr;
    } else {
      outP[i] = p[i] - (grad / avg) * lr;
    }
  }
}

__attribute__((target_clones("avx2", "default")))
void RunRmspropStep(const float* __restrict p, const float* __restrict g, const float* __restrict sq, const float* __restrict ga,
                    const float* __restrict buf, float* __restrict outP, float* __restrict outSq, float* __restrict outGa,
                    float* __restrict outBuf, int64_t n, float wd, float alpha, float keep, float eps, float momentum, float lr,
                    bool centered, bool withMomentum) {
  if (centered && withMomentum) RmspropLoop<true, true>(p, g, sq, ga, buf, outP, outSq, outGa, outBuf, n, wd, alpha, keep, eps, momentum, lr);
  else if (centered) RmspropLoop<true, false>(p, g, sq, ga, buf, outP, outSq, outGa, outBuf, n, wd, alpha, keep, eps, momentum, lr);
  else if (withMomentum) RmspropLoop<false, true>(p, g, sq, ga, buf, outP, outSq, outGa, outBuf, n, wd, alpha, keep, eps, momentum, lr);
  else RmspropLoop<false, false>(p, g, sq, ga, buf, outP, outSq, outGa, outBuf, n, wd, alpha, keep, eps, momentum, lr);
}

Napi::Value AdagradUpdate(const Napi::CallbackInfo& info) {
  const int64_t n = info[1].As<Napi::Number>().Int64Value();
  float* at[5];
  if (!HeapViews(info, 2, 5, n, 0, at)) return info.Env().Undefined();
  RunAdagradStep(at[0], at[1], at[2], at[3], at[4], n, Real(info, 7), Real(info, 8), Real(info, 9));
  return info.Env().Undefined();
}

Napi::Value RmspropUpdate(const Napi::CallbackInfo& info) {
  const int64_t n = info[1].As<Napi::Number>().Int64Value();
  float* at[9];  // gradAvg, buffer and their outputs (3, 4, 7, 8) are optional
  if (!HeapViews(info, 2, 9, n, 0b110011000, at)) return info.Env().Undefined();
  const bool centered = at[3] && at[7];
  const bool withMomentum = at[4] && at[8];
  RunRmspropStep(at[0], at[1], at[2], at[3], at[4], at[5], at[6], at[7], at[8], n, Real(info, 11), Real(info, 12), Real(info, 13),
                 Real(info, 14), Real(info, 15), Real(info, 16), centered, withMomentum);
  return info.Env().Undefined();
}

// Four floats, four int32s as one SIMD register (GCC/Clang vector extensions: SSE on x86-64,
// NEON on arm64).
typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

inline F4 LoadF4(const float* p) {
  F4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// maxPoolGrad(heap, xOffset, dyOffset, dxOffset, batch, inH, inW, channels, outH, outW, strideH, strideW,
//             dilationH, dilationW, effectiveFilterH, effectiveFilterW, padTop, padLeft)
// NHWC; dx is overwritten (zeroed here, then accumulated). Each dy element goes to the first
// strict maximum of its window (as tfjs's cpu backend); an all-NaN window drops it. Four
// channels at a time, the running maximum and its index selected in SIMD registers, where a
// branchy compare per channel mispredicts on half the elements: 0.28 ms per call on the MNIST
// CNN's [64, 26, 26, 8] pool against 0.47 ms for that loop (zeroing included).
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t xOff = num(1), dyOff = num(2), dxOff = num(3), batch = num(4), inH = num(5), inW = num(6), ch = num(7);
  const int64_t outH = num(8), outW = num(9), sH = num(10), sW = num(11), dH = num(12), dW = num(13), fH = num(14), fW = num(15);
  const int64_t padTop = num(16), padLeft = num(17);
  const size_t bytes = heap.ByteLength();
  const int64_t xSize = batch * inH * inW * ch;
  if (dH < 1 || dW < 1 || xSize > std::numeric_limits<int32_t>::max() || !CheckedF32(env, bytes, xOff, xSize) ||
      !CheckedF32(env, bytes, dxOff, xSize) || !CheckedF32(env, bytes, dyOff, batch * outH * outW * ch)) {
    return env.Undefined();
  }
  const float* x = reinterpret_cast<const float*>(base + xOff);
  const float* dy = reinterpret_cast<const float*>(base + dyOff);
  float* dx = reinterpret_cast<float*>(base + dxOff);
  std::fill(dx, dx + xSize, 0.f);
  const I4 lanes = {0, 1, 2, 3};
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t yR = 0; yR < outH; ++yR) {
      const int64_t rCorner = yR * sH - padTop;
      int64_t rMin = rCorner;
      while (rMin < 0) rMin += dH;
      const int64_t rMax = std::min(inH, rCorner + fH);
      for (int64_t yC = 0; yC < outW; ++yC) {
        const int64_t cCorner = yC * sW - padLeft;
        int64_t cMin = cCorner;
        while (cMin < 0) cMin += dW;
        const int64_t cMax = std::min(inW, cCorner + fW);
        const float* g = dy + ((b * outH + yR) * outW + yC) * ch;
        int64_t d0 = 0;
        for (; d0 + 4 <= ch; d0 += 4) {
          F4 best = F4{} - std::numeric_limits<float>::infinity();
          I4 at = I4{} - 1;  // stays -1 for an all-NaN or empty window
          for (int64_t r = rMin; r < rMax; r += dH) {
            for (int64_t c = cMin; c < cMax; c += dW) {
              const int32_t pixel = static_cast<int32_t>(((b * inH + r) * inW + c) * ch + d0);
              const F4 xv = LoadF4(x + pixel);
              const I4 greater = xv > best;
              best = greater ? xv : best;
              at = greater ? lanes + pixel : at;
            }
          }
          for (int k = 0; k < 4; ++k) {
            if (at[k] >= 0) dx[at[k]] += g[d0 + k];
          }
        }
        for (; d0 < ch; ++d0) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          for (int64_t r = rMin; r < rMax; r += dH) {
            for (int64_t c = cMin; c < cMax; c += dW) {
              const int64_t idx = ((b * inH + r) * inW + c) * ch + d0;
              if (x[idx] > best) { best = x[idx]; at = idx; }
            }
          }
          if (at >= 0) dx[at] += g[d0];
        }
      }
    }
  }
  return env.Undefined();
}

// maxPool(heap, xOffset, yOffset, batch, inH, inW, channels, outH, outW, strideH, strideW,
//         effectiveFilterH, effectiveFilterW, padTop, padLeft)
// NHWC max pooling: each output is the largest value of its window, found with strict `>` from
// -Infinity in row-major window order, so NaN is never taken and an all-NaN (or empty) window
// gives -Infinity, as tfjs's cpu backend. Four channels at a time in SIMD registers.
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t xOff = num(1), yOff = num(2), batch = num(3), inH = num(4), inW = num(5), ch = num(6), outH = num(7), outW = num(8);
  const int64_t sH = num(9), sW = num(10), fH = num(11), fW = num(12), padTop = num(13), padLeft = num(14);
  const size_t bytes = heap.ByteLength();
  if (!CheckedF32(env, bytes, xOff, batch * inH * inW * ch) || !CheckedF32(env, bytes, yOff, batch * outH * outW * ch)) return env.Undefined();
  const float* x = reinterpret_cast<const float*>(base + xOff);
  float* y = reinterpret_cast<float*>(base + yOff);
  const float lowest = -std::numeric_limits<float>::infinity();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t yR = 0; yR < outH; ++yR) {
      const int64_t rMin = std::max<int64_t>(0, yR * sH - padTop), rMax = std::min(inH, yR * sH - padTop + fH);
      for (int64_t yC = 0; yC < outW; ++yC) {
        const int64_t cMin = std::max<int64_t>(0, yC * sW - padLeft), cMax = std::min(inW, yC * sW - padLeft + fW);
        float* out = y + ((b * outH + yR) * outW + yC) * ch;
        int64_t d0 = 0;
        for (; d0 + 4 <= ch; d0 += 4) {
          F4 best = F4{} + lowest;
          for (int64_t r = rMin; r < rMax; ++r) {
            for (int64_t c = cMin; c < cMax; ++c) {
              const F4 xv = LoadF4(x + ((b * inH + r) * inW + c) * ch + d0);
              best = xv > best ? xv : best;
            }
          }
          std::memcpy(out + d0, &best, sizeof best);
        }
        for (; d0 < ch; ++d0) {
          float best = lowest;
          for (int64_t r = rMin; r < rMax; ++r) {
            for (int64_t c = cMin; c < cMax; ++c) {
              const float v = x[((b * inH + r) * inW + c) * ch + d0];
              best = v > best ? v : best;
            }
          }
          out[d0] = best;
        }
      }
    }
  }
  return env.Undefined();
}

// An NHWC conv2d's geometry, as JS passes it: a Float64Array [batch, inHeight, inWidth,
// inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight,
// strideWidth, dilationHeight, dilationWidth, padTop, padLeft].
struct ConvGeometry {
  int64_t batch, inH, inW, inC, outH, outW, outC, fH, fW, sH, sW, dH, dW, padTop, padLeft;

  int64_t InputSize() const { return batch * inH * inW * inC; }
  int64_t OutputSize() const { return batch * outH * outW * outC; }
  int64_t Weights() const { return fH * fW * inC * outC; }
};

// A direct conv call's arguments, (heap, aOffset, bOffset, outOffset, geometry), read and checked
// to lie inside the heap. ReadConvCall takes each operand's element count (the input's, the
// filter's, the output's) as a member function of ConvGeometry.
struct ConvCall {
  ConvGeometry g;
  const float* a;
  const float* b;
  float* out;
};

using ConvSize = int64_t (ConvGeometry::*)() const;

bool ReadConvCall(const Napi::CallbackInfo& info, const char* kernel, ConvSize aSize, ConvSize bSize, ConvSize outSize, ConvCall* call) {
  Napi::Env env = info.Env();
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[4].As<Napi::Float64Array>().ElementLength() != 15) {
    Napi::TypeError::New(env, std::string(kernel) + ": geometry must be a Float64Array of 15 numbers").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Float64Array geo = info[4].As<Napi::Float64Array>();
  int64_t v[15];
  for (int i = 0; i < 15; ++i) v[i] = static_cast<int64_t>(geo[i]);
  for (int i = 0; i < 13; ++i) {
    if (v[i] < 0 || (i >= 9 && v[i] < 1)) {
      Napi::RangeError::New(env, std::string(kernel) + ": sizes must be >= 0 and strides and dilations >= 1").ThrowAsJavaScriptException();
      return false;
    }
  }
  const ConvGeometry& g = call->g = ConvGeometry{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  const size_t bytes = heap.ByteLength();
  const int64_t aOff = info[1].As<Napi::Number>().Int64Value(), bOff = info[2].As<Napi::Number>().Int64Value();
  const int64_t outOff = info[3].As<Napi::Number>().Int64Value();
  if (!CheckedF32(env, bytes, aOff, (g.*aSize)()) || !CheckedF32(env, bytes, bOff, (g.*bSize)()) || !CheckedF32(env, bytes, outOff, (g.*outSize)())) {
    return false;
  }
  call->a = reinterpret_cast<const float*>(base + aOff);
  call->b = reinterpret_cast<const float*>(base + bOff);
  call->out = reinterpret_cast<float*>(base + outOff);
  return true;
}

// The first and one-past-last output index whose tap offset `tap` lands in [0, size).
inline void ValidOutputs(int64_t size, int64_t outSize, int64_t stride, int64_t tap, int64_t* first, int64_t* last) {
  // input index = o * stride + tap; need 0 <= o * stride + tap < size
  const int64_t lo = tap >= 0 ? 0 : (-tap + stride - 1) / stride;
  const int64_t hi = size - tap <= 0 ? 0 : (size - tap - 1) / stride + 1;
  *first = std::min(lo, outSize);
  *last = std::max(*first, std::min(hi, outSize));
}

// One filter tap (wR, wC), one input channel d1 and output channels [d2, d2 + 4V) of one image's
// filter gradient: the sum over the output pixels whose tap lands inside the input of
// x[tap pixel, d1] * dy[pixel, d2 + l], in float registers with two accumulator sets (even and
// odd columns, so consecutive adds do not wait for each other; four measured slower), added to
// `total` in double.
template <int V>
void FilterGradTap(const ConvGeometry& g, const float* xImage, const float* dyImage, int64_t wR, int64_t wC, int64_t d1,
                   int64_t d2, double* total) {
  int64_t r0, r1, c0, c1;
  ValidOutputs(g.inH, g.outH, g.sH, wR * g.dH - g.padTop, &r0, &r1);
  ValidOutputs(g.inW, g.outW, g.sW, wC * g.dW - g.padLeft, &c0, &c1);
  F4 even[V] = {}, odd[V] = {};
  const int64_t xStep = g.sW * g.inC;
  for (int64_t yR = r0; yR < r1; ++yR) {
    const int64_t xR = yR * g.sH - g.padTop + wR * g.dH;
    const float* xp = xImage + (xR * g.inW + c0 * g.sW - g.padLeft + wC * g.dW) * g.inC + d1;
    const float* gp = dyImage + (yR * g.outW + c0) * g.outC + d2;
    int64_t yC = c0;
    for (; yC + 1 < c1; yC += 2, xp += 2 * xStep, gp += 2 * g.outC) {
      const float x0 = xp[0], x1 = xp[xStep];
      for (int v = 0; v < V; ++v) even[v] += x0 * LoadF4(gp + 4 * v);
      for (int v = 0; v < V; ++v) odd[v] += x1 * LoadF4(gp + g.outC + 4 * v);
    }
    if (yC < c1) {
      for (int v = 0; v < V; ++v) even[v] += xp[0] * LoadF4(gp + 4 * v);
    }
  }
  double* t = total + d1 * g.outC + d2;  // `total` points at the tap's weights
  for (int v = 0; v < V; ++v) {
    for (int l = 0; l < 4; ++l) t[4 * v + l] += static_cast<double>(even[v][l]) + static_cast<double>(odd[v][l]);
  }
}

// FilterGradTap for the last one to three output channels, one at a time.
void FilterGradTapScalar(const ConvGeometry& g, const float* xImage, const float* dyImage, int64_t wR, int64_t wC, int64_t d1,
                         int64_t d2, int64_t lanes, double* total) {
  int64_t r0, r1, c0, c1;
  ValidOutputs(g.inH, g.outH, g.sH, wR * g.dH - g.padTop, &r0, &r1);
  ValidOutputs(g.inW, g.outW, g.sW, wC * g.dW - g.padLeft, &c0, &c1);
  for (int64_t l = 0; l < lanes; ++l) {
    float sum = 0.f;
    for (int64_t yR = r0; yR < r1; ++yR) {
      const int64_t xR = yR * g.sH - g.padTop + wR * g.dH;
      const float* xp = xImage + (xR * g.inW + c0 * g.sW - g.padLeft + wC * g.dW) * g.inC + d1;
      const float* gp = dyImage + (yR * g.outW + c0) * g.outC + d2 + l;
      for (int64_t yC = c0; yC < c1; ++yC, xp += g.sW * g.inC, gp += g.outC) sum += xp[0] * gp[0];
    }
    total[d1 * g.outC + d2 + l] += sum;
  }
}

// conv2dBackpropFilterDirect(heap, xOffset, dyOffset, dwOffset, geometry)
// dW[wR, wC, d1, d2] = sum over b, yR, yC of x[b, yR*sH - padTop + wR*dH, yC*sW - padLeft + wC*dW, d1]
// * dy[b, yR, yC, d2], NHWC, taps outside the input skipped. For filters with few weights (the
// first conv of a network: one to three input channels), where the im2col + GEMM path builds a
// K = fH*fW*inC matrix as long as the batch's pixels for a GEMM with a tiny output. Each weight is
// summed per image in float, in registers, four or eight output channels at a time, and across
// images in double.
Napi::Value Conv2dBackpropFilterDirect(const Napi::CallbackInfo& info) {
  ConvCall call;
  if (!ReadConvCall(info, "conv2dBackpropFilterDirect", &ConvGeometry::InputSize, &ConvGeometry::OutputSize, &ConvGeometry::Weights, &call)) {
    return info.Env().Undefined();
  }
  const ConvGeometry& g = call.g;
  const float* x = call.a;
  const float* dy = call.b;
  float* dw = call.out;
  const int64_t weights = g.Weights();
  std::vector<double> total(static_cast<size_t>(weights), 0.0);
  const int64_t tapSize = g.inC * g.outC;
  for (int64_t b = 0; b < g.batch; ++b) {
    const float* xImage = x + b * g.inH * g.inW * g.inC;
    const float* dyImage = dy + b * g.outH * g.outW * g.outC;
    for (int64_t wR = 0; wR < g.fH; ++wR) {
      for (int64_t wC = 0; wC < g.fW; ++wC) {
        double* tap = total.data() + (wR * g.fW + wC) * tapSize;
        for (int64_t d1 = 0; d1 < g.inC; ++d1) {
          int64_t d2 = 0;
          for (; d2 + 8 <= g.outC; d2 += 8) FilterGradTap<2>(g, xImage, dyImage, wR, wC, d1, d2, tap);
          if (d2 + 4 <= g.outC) {
            FilterGradTap<1>(g, xImage, dyImage, wR, wC, d1, d2, tap);
            d2 += 4;
          }
          if (d2 < g.outC) FilterGradTapScalar(g, xImage, dyImage, wR, wC, d1, d2, g.outC - d2, tap);
        }
      }
    }
  }
  for (int64_t i = 0; i < weights; ++i) dw[i] = static_cast<float>(total[i]);
  return info.Env().Undefined();
}

// `K` output pixels of row yR, columns yC, yC + 1, ... (all taps inside the input when `Checked` is
// false), output channels [d2, d2 + 4V): y = sum over wR, wC, d1 (in that order) of x * w, each
// pixel in its own registers (K independent chains of adds), the filter's vectors loaded once for
// all K.
template <int V, int K, bool Checked>
void ConvPixels(const ConvGeometry& g, const float* xImage, const float* w, float* yImage, int64_t yR, int64_t yC, int64_t d2) {
  F4 acc[K][V] = {};
  for (int64_t wR = 0; wR < g.fH; ++wR) {
    const int64_t xR = yR * g.sH - g.padTop + wR * g.dH;
    if (xR < 0 || xR >= g.inH) continue;
    const float* xRow = xImage + xR * g.inW * g.inC;
    for (int64_t wC = 0; wC < g.fW; ++wC) {
      const int64_t xC = yC * g.sW - g.padLeft + wC * g.dW;
      if (Checked && (xC < 0 || xC >= g.inW)) continue;
      const float* xp = xRow + xC * g.inC;
      const float* wp = w + (wR * g.fW + wC) * g.inC * g.outC + d2;
      for (int64_t d1 = 0; d1 < g.inC; ++d1, wp += g.outC) {
        F4 wv[V];
        for (int v = 0; v < V; ++v) wv[v] = LoadF4(wp + 4 * v);
        for (int k = 0; k < K; ++k) {
          const float xv = xp[k * g.sW * g.inC + d1];
          for (int v = 0; v < V; ++v) acc[k][v] += xv * wv[v];
        }
      }
    }
  }
  for (int k = 0; k < K; ++k) {
    float* yp = yImage + (yR * g.outW + yC + k) * g.outC + d2;
    for (int v = 0; v < V; ++v) std::memcpy(yp + 4 * v, &acc[k][v], sizeof(F4));
  }
}

// One output row, output channels [d2, d2 + 4V): the columns whose taps all lie inside the input
// four at a time, the others (padding) one at a time with bounds checks.
template <int V>
void ConvRow(const ConvGeometry& g, const float* xImage, const float* w, float* yImage, int64_t yR, int64_t d2) {
  int64_t c0, c1, unused;
  ValidOutputs(g.inW, g.outW, g.sW, -g.padLeft, &c0, &unused);                           // first tap inside
  ValidOutputs(g.inW, g.outW, g.sW, (g.fW - 1) * g.dW - g.padLeft, &unused, &c1);         // last tap inside
  c1 = std::max(c0, c1);
  int64_t yC = 0;
  for (; yC < c0; ++yC) ConvPixels<V, 1, true>(g, xImage, w, yImage, yR, yC, d2);
  for (; yC + 4 <= c1; yC += 4) ConvPixels<V, 4, false>(g, xImage, w, yImage, yR, yC, d2);
  for (; yC < c1; ++yC) ConvPixels<V, 1, false>(g, xImage, w, yImage, yR, yC, d2);
  for (; yC < g.outW; ++yC) ConvPixels<V, 1, true>(g, xImage, w, yImage, yR, yC, d2);
}

// conv2dDirect(heap, xOffset, filterOffset, yOffset, geometry)
// The forward conv2d of NHWC x with an HWIO filter, taps outside the input skipped (zero
// padding), for filters with few weights: with one to three input channels XNNPACK's conv
// (im2col-free GEMM microkernels) spends most of its time on a K of 9-27. Output channels four or
// eight at a time in SIMD registers (the rest one at a time), four pixels in flight.
Napi::Value Conv2dDirect(const Napi::CallbackInfo& info) {
  ConvCall call;
  if (!ReadConvCall(info, "conv2dDirect", &ConvGeometry::InputSize, &ConvGeometry::Weights, &ConvGeometry::OutputSize, &call)) {
    return info.Env().Undefined();
  }
  const ConvGeometry& g = call.g;
  const float* x = call.a;
  const float* w = call.b;
  float* y = call.out;
  for (int64_t b = 0; b < g.batch; ++b) {
    const float* xImage = x + b * g.inH * g.inW * g.inC;
    float* yImage = y + b * g.outH * g.outW * g.outC;
    for (int64_t yR = 0; yR < g.outH; ++yR) {
      int64_t d2 = 0;
      for (; d2 + 8 <= g.outC; d2 += 8) ConvRow<2>(g, xImage, w, yImage, yR, d2);
      if (d2 + 4 <= g.outC) {
        ConvRow<1>(g, xImage, w, yImage, yR, d2);
        d2 += 4;
      }
      // The last one to three channels, one at a time.
      for (; d2 < g.outC; ++d2) {
        for (int64_t yC = 0; yC < g.outW; ++yC) {
          float sum = 0.f;
          for (int64_t wR = 0; wR < g.fH; ++wR) {
            const int64_t xR = yR * g.sH - g.padTop + wR * g.dH;
            if (xR < 0 || xR >= g.inH) continue;
            for (int64_t wC = 0; wC < g.fW; ++wC) {
              const int64_t xC = yC * g.sW - g.padLeft + wC * g.dW;
              if (xC < 0 || xC >= g.inW) continue;
              const float* xp = xImage + (xR * g.inW + xC) * g.inC;
              const float* wp = w + (wR * g.fW + wC) * g.inC * g.outC + d2;
              for (int64_t d1 = 0; d1 < g.inC; ++d1) sum += xp[d1] * wp[d1 * g.outC];
            }
          }
          yImage[(yR * g.outW + yC) * g.outC + d2] = sum;
        }
      }
    }
  }
  return info.Env().Undefined();
}

// reluGrad(heap, dyOffset, xOffset, outOffset, n)
// out = dy * step(x), step(x) = NaN for NaN x, else 1 for x > 0 and 0 otherwise: tfjs's relu
// gradient (Step, Cast, Multiply) in one pass, with the same float32 results, signed zeros and
// NaNs included.
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t dyOff = num(1), xOff = num(2), outOff = num(3), n = num(4);
  const size_t bytes = heap.ByteLength();
  if (!CheckedF32(env, bytes, dyOff, n) || !CheckedF32(env, bytes, xOff, n) || !CheckedF32(env, bytes, outOff, n)) return env.Undefined();
  const float* dy = reinterpret_cast<const float*>(base + dyOff);
  const float* x = reinterpret_cast<const float*>(base + xOff);
  float* out = reinterpret_cast<float*>(base + outOff);
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x[i];
    float step = xi > 0.f ? 1.f : 0.f;
    step = xi != xi ? xi : step;
    out[i] = dy[i] * step;
  }
  return env.Undefined();
}

// im2colT(heap, xOffset, colOffset, geometry: Float64Array [r0, r1, outHeight, outWidth, inHeight, inWidth,
//          inChannels, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth,
//          padTop, padLeft, xBatch, xChan, xRow, xCol])
// The transposed im2col matrix [K = fH·fW·inC, M = (r1 − r0)·outW] of output rows [r0, r1)
// (r = b·outH + yR), zero outside the input; x strides are in elements, for NHWC or NCHW.
// Same loop as backpropFilterByMatMul in conv2d-backprop-filter.ts.
Napi::Value Im2colT(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  const int64_t xOff = info[1].As<Napi::Number>().Int64Value(), colOff = info[2].As<Napi::Number>().Int64Value();
  Napi::Float64Array geo = info[3].As<Napi::Float64Array>();
  if (geo.ElementLength() != 19) {
    Napi::TypeError::New(env, "im2colT: geometry must have 19 numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t v[19];
  for (int i = 0; i < 19; ++i) v[i] = static_cast<int64_t>(geo[i]);
  const int64_t r0 = v[0], r1 = v[1], outH = v[2], outW = v[3], inH = v[4], inW = v[5], inC = v[6], fH = v[7], fW = v[8];
  const int64_t sH = v[9], sW = v[10], dH = v[11], dW = v[12], padTop = v[13], padLeft = v[14];
  const int64_t xBatch = v[15], xChan = v[16], xRow = v[17], xCol = v[18];
  const int64_t M = (r1 - r0) * outW, K = fH * fW * inC;
  const int64_t batches = outH > 0 ? (r1 + outH - 1) / outH : 0;
  if (r0 < 0 || r1 < r0 || !CheckedF32(env, heap.ByteLength(), colOff, K * M) || !CheckedF32(env, heap.ByteLength(), xOff, batches * xBatch)) {
    return env.Undefined();
  }
  const float* x = reinterpret_cast<const float*>(base + xOff);
  float* col = reinterpret_cast<float*>(base + colOff);
  int64_t k = 0;
  for (int64_t wR = 0; wR < fH; ++wR) {
    for (int64_t wC = 0; wC < fW; ++wC) {
      for (int64_t d1 = 0; d1 < inC; ++d1, ++k) {
        float* out = col + k * M;
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t b = r / outH, yR = r - b * outH;
          const int64_t xR = yR * sH - padTop + wR * dH;
          if (xR < 0 || xR >= inH) {
            std::fill(out, out + outW, 0.f);
            out += outW;
            continue;
          }
          const float* xRowPtr = x + b * xBatch + d1 * xChan + xR * xRow;
          for (int64_t yC = 0; yC < outW; ++yC) {
            const int64_t xC = yC * sW - padLeft + wC * dW;
            *out++ = xC >= 0 && xC < inW ? xRowPtr[xC * xCol] : 0.f;
          }
        }
      }
    }
  }
  return env.Undefined();
}

// addBias(heap, xOffset, biasOffset, outOffset, rows, channels)
// out[r, c] = x[r, c] + bias[c] for row-major [rows, channels]: the bias add of a layer whose
// output is [..., channels] (wasm's broadcasting Add walks indices element by element).
Napi::Value AddBias(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t xOff = num(1), bOff = num(2), outOff = num(3), rows = num(4), ch = num(5);
  const size_t bytes = heap.ByteLength();
  if (rows < 0 || ch < 0 || !CheckedF32(env, bytes, xOff, rows * ch) || !CheckedF32(env, bytes, bOff, ch) ||
      !CheckedF32(env, bytes, outOff, rows * ch)) {
    return env.Undefined();
  }
  const float* x = reinterpret_cast<const float*>(base + xOff);
  const float* b = reinterpret_cast<const float*>(base + bOff);
  float* out = reinterpret_cast<float*>(base + outOff);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ch;
    float* outr = out + r * ch;
    for (int64_t c = 0; c < ch; ++c) outr[c] = xr[c] + b[c];
  }
  return env.Undefined();
}

// sumRows(heap, xOffset, outOffset, rows, channels)
// out[c] = sum over r of x[r, c] for row-major [rows, channels]: the bias gradient (a Sum over
// every axis but the last). Few channels make a short inner loop, so rows are taken `group` at
// a time as one contiguous span of at least 64 floats, summed lane by lane (vectorised) in float
// over blocks of spans, then in double across blocks, and folded to channels at the end.
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(heap.Data());
  auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t xOff = num(1), outOff = num(2), rows = num(3), ch = num(4);
  const size_t bytes = heap.ByteLength();
  if (rows < 0 || ch <= 0 || !CheckedF32(env, bytes, xOff, rows * ch) || !CheckedF32(env, bytes, outOff, ch)) return env.Undefined();
  const float* x = reinterpret_cast<const float*>(base + xOff);
  float* out = reinterpret_cast<float*>(base + outOff);
  const int64_t group = ch >= 64 ? 1 : (64 + ch - 1) / ch, width = group * ch, spans = rows / group;
  std::vector<double> total(static_cast<size_t>(width), 0.0);
  std::vector<float> block(static_cast<size_t>(width));
  constexpr int64_t kBlock = 32;
  for (int64_t s0 = 0; s0 < spans; s0 += kBlock) {
    std::fill(block.begin(), block.end(), 0.f);
    const int64_t s1 = std::min(spans, s0 + kBlock);
    float* acc = block.data();
    for (int64_t s = s0; s < s1; ++s) {
      const float* xs = x + s * width;
      for (int64_t j = 0; j < width; ++j) acc[j] += xs[j];
    }
    for (int64_t j = 0; j < width; ++j) total[j] += block[j];
  }
  for (int64_t r = spans * group; r < rows; ++r) {
    for (int64_t c = 0; c < ch; ++c) total[c] += x[r * ch + c];
  }
  for (int64_t c = 0; c < ch; ++c) {
    double sum = 0;
    for (int64_t g = 0; g < group; ++g) sum += total[g * ch + c];
    out[c] = static_cast<float>(sum);
  }
  return env.Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  openblas_set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("library", Napi::String::New(info.Env(), "OpenBLAS"));
  out.Set("config", Napi::String::New(info.Env(), openblas_get_config()));
  out.Set("threads", Napi::Number::New(info.Env(), openblas_get_num_threads()));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("sumOfSquares", Napi::Function::New(env, SumOfSquares));
  exports.Set("sgdUpdate", Napi::Function::New(env, SgdUpdate));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("adagradUpdate", Napi::Function::New(env, AdagradUpdate));
  exports.Set("rmspropUpdate", Napi::Function::New(env, RmspropUpdate));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("conv2dBackpropFilterDirect", Napi::Function::New(env, Conv2dBackpropFilterDirect));
  exports.Set("conv2dDirect", Napi::Function::New(env, Conv2dDirect));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad));
  exports.Set("im2colT", Napi::Function::New(env, Im2colT));
  exports.Set("addBias", Napi::Function::New(env, AddBias));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(blas, Init)
