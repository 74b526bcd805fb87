// Element-wise (broadcasting binary, unary) and reduction kernels: the cpu backend's JS loops
// for these dominate a training step once convolutions are native.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace mk {

namespace {

template <typename F>
inline void inner_loop(float* o, const float* a, const float* b, int64_t n, int64_t sa, int64_t sb, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i * sa], b[i * sb]);
  }
}

template <typename F>
void binary_impl(const BroadcastGeom& g, const float* a, const float* b, float* out, F f) {
  const int r = g.rank;
  const int64_t inner = g.shape[r - 1];
  int64_t outer = 1;
  for (int d = 0; d < r - 1; ++d) outer *= g.shape[d];
  const int64_t minRows = std::max<int64_t>(1, 131072 / std::max<int64_t>(1, inner));
  parallel_for(outer, [&](int64_t b0, int64_t b1) {
    int64_t idx[kMaxRank] = {0};
    unravel_index(b0, g.shape, r - 1, idx);
    for (int64_t row = b0; row < b1; ++row) {
      int64_t oa = 0, ob = 0;
      for (int d = 0; d < r - 1; ++d) {
        oa += idx[d] * g.aStride[d];
        ob += idx[d] * g.bStride[d];
      }
      inner_loop(out + row * inner, a + oa, b + ob, inner, g.aStride[r - 1], g.bStride[r - 1], f);
      next_index(g.shape, r - 1, idx);
    }
  }, minRows);
}

}  // namespace

void binary_op(int op, const BroadcastGeom& g, const float* a, const float* b, float* out) {
  switch (op) {
    case BIN_ADD: return binary_impl(g, a, b, out, [](float x, float y) { return x + y; });
    case BIN_SUB: return binary_impl(g, a, b, out, [](float x, float y) { return x - y; });
    case BIN_MUL: return binary_impl(g, a, b, out, [](float x, float y) { return x * y; });
    case BIN_DIV: return binary_impl(g, a, b, out, [](float x, float y) { return x / y; });
    case BIN_MAX: return binary_impl(g, a, b, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : (x > y ? x : y); });
    case BIN_MIN: return binary_impl(g, a, b, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : (x < y ? x : y); });
    case BIN_SQDIFF: return binary_impl(g, a, b, out, [](float x, float y) { return (x - y) * (x - y); });
    default: return;
  }
}

template <typename F>
static void unary_impl(const float* x, float* y, int64_t n, F f) {
  parallel_for(n, [&](int64_t b, int64_t e) {
    // a local copy: stores to y cannot alias its captures (a captured alpha otherwise blocks vectorisation)
    const F local = f;
    for (int64_t i = b; i < e; ++i) y[i] = local(x[i]);
  }, 131072);
}

void unary_op(int op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
    case UN_RELU: return unary_impl(x, y, n, [](float v) { return std::isnan(v) ? v : (v > 0.f ? v : 0.f); });
    case UN_STEP: return unary_impl(x, y, n, [alpha](float v) { return std::isnan(v) ? NAN : (v > 0.f ? 1.f : alpha); });
    case UN_NEG: return unary_impl(x, y, n, [](float v) { return -v; });
    case UN_SQUARE: return unary_impl(x, y, n, [](float v) { return v * v; });
    case UN_SQRT: return unary_impl(x, y, n, [](float v) { return std::sqrt(v); });
    case UN_RSQRT: return unary_impl(x, y, n, [](float v) { return 1.f / std::sqrt(v); });
    case UN_EXP: return unary_impl(x, y, n, [](float v) { return std::exp(v); });
    case UN_LOG: return unary_impl(x, y, n, [](float v) { return std::log(v); });
    case UN_RELU6: return unary_impl(x, y, n, [](float v) { return std::isnan(v) ? v : std::min(6.f, std::max(0.f, v)); });
    case UN_SIGMOID: return unary_impl(x, y, n, [](float v) { return 1.f / (1.f + std::exp(-v)); });
    case UN_TANH: return unary_impl(x, y, n, [](float v) { return std::tanh(v); });
    default: return;
  }
}

void clip_op(const float* x, float* y, int64_t n, double lo, double hi) {
  const float flo = (float)lo, fhi = (float)hi;
  unary_impl(x, y, n, [lo, hi, flo, fhi](float v) { return (double)v > hi ? fhi : ((double)v < lo ? flo : v); });
}

void reduce_op(int op, const float* x, float* out, int64_t k1, int64_t r, int64_t k2) {
  // out[i][j] = reduce_t x[i][t][j]; accumulated in double (the cpu backend sums in JS doubles)
  parallel_for(k1, [&](int64_t i0, int64_t i1) {
    std::vector<double> acc((size_t)k2);
    for (int64_t i = i0; i < i1; ++i) {
      const float* base = x + i * r * k2;
      if (op == RED_MAX) {
        for (int64_t j = 0; j < k2; ++j) acc[j] = r > 0 ? base[j] : -INFINITY;
        for (int64_t t = 1; t < r; ++t) {
          const float* row = base + t * k2;
          for (int64_t j = 0; j < k2; ++j) {
            const double v = row[j];
            if (v > acc[j] || std::isnan(v)) acc[j] = v;
          }
        }
      } else if (k2 == 1) {
        double s = 0;
        for (int64_t t = 0; t < r; ++t) s += base[t];
        acc[0] = s;
      } else {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t t = 0; t < r; ++t) {
          const float* row = base + t * k2;
          for (int64_t j = 0; j < k2; ++j) acc[j] += row[j];
        }
      }
      const double scale = op == RED_MEAN ? 1.0 / (double)r : 1.0;
      for (int64_t j = 0; j < k2; ++j) out[i * k2 + j] = (float)(op == RED_MAX ? acc[j] : acc[j] * scale);
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, r * k2)));
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      float m = -INFINITY;
      for (int64_t c = 0; c < cols; ++c) m = std::max(m, in[c]);
      double s = 0;
      for (int64_t c = 0; c < cols; ++c) {
        out[c] = std::exp(in[c] - m);
        s += out[c];
      }
      const float inv = (float)(1.0 / s);
      for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
    }
  }, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, cols)));
}

// A transpose is a strided copy: y in row-major order, read from x with x's strides permuted.
void transpose(const float* x, float* y, int rank, const int64_t* inShape, const int* perm) {
  int64_t inStride[kMaxRank];
  int64_t acc = 1;
  for (int d = rank - 1; d >= 0; --d) {
    inStride[d] = acc;
    acc *= inShape[d];
  }
  StridedGeom g{};
  g.rank = rank;
  for (int d = 0; d < rank; ++d) {
    g.shape[d] = inShape[perm[d]];
    g.srcStride[d] = inStride[perm[d]];
  }
  acc = 1;
  for (int d = rank - 1; d >= 0; --d) {
    g.dstStride[d] = acc;
    acc *= g.shape[d];
  }
  strided_copy(x, y, g);
}

}  // namespace mk
