// Training-mode batch normalisation over the last axis (x viewed as [M, C]): the forward pass
// (batch mean, biased variance, normalise, affine) and its full gradient in two passes each,
// instead of the ~25 broadcasting element-wise ops and reductions of the composite tfjs graph.
//
// Per-channel sums are taken over fixed blocks of rows (float within a block, double across
// blocks, blocks added in order), so results do not depend on the number of threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace mk {

namespace {

constexpr int64_t kRowsPerBlock = 512;

// 8 channels as one value: the per-channel loops of NB201's 8/16/32-channel layers run 8 lanes
// at a time with the same float operations, per channel and row order, as the scalar loops.
typedef float v8 __attribute__((vector_size(8 * sizeof(float))));
typedef float v8u __attribute__((vector_size(8 * sizeof(float)), aligned(4)));
inline v8 ld(const float* p) { return *(const v8u*)p; }
inline void st(float* p, v8 v) { *(v8u*)p = v; }

/**
 * partial[b·C + c] = Σ over rows r of block b (f(r0, r1, acc) adds rows [r0, r1) to acc in row order, in
 * float); 
 * returns the per-channel totals in double (blocks added in order).
 */
template <typename F>
std::vector<double> channel_sums(int64_t M, int C, F f, int outputs, std::vector<double>* second = nullptr) {
  const int64_t blocks = std::max<int64_t>(1, (M + kRowsPerBlock - 1) / kRowsPerBlock);
  std::vector<float> partial((size_t)(blocks * C * outputs), 0.f);
  parallel_for(blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      f(b * kRowsPerBlock, std::min(M, (b + 1) * kRowsPerBlock), partial.data() + b * C * outputs);
    }
  }, std::max<int64_t>(1, 8192 / std::max(1, C)));
  std::vector<double> total((size_t)C, 0.0);
  if (second) second->assign((size_t)C, 0.0);
  for (int64_t b = 0; b < blocks; ++b) {
    const float* p = partial.data() + b * C * outputs;
    for (int c = 0; c < C; ++c) total[c] += p[c];
    if (second)
      for (int c = 0; c < C; ++c) (*second)[c] += p[C + c];
  }
  return total;
}

}  // namespace

void batchnorm_train(const float* x, const float* gamma, const float* beta, float eps, int64_t M, int C, float* y,
                     float* mean, float* var) {
  if (M <= 0) {
    for (int c = 0; c < C; ++c) mean[c] = var[c] = NAN;
    return;
  }
  const bool lanes = C % 8 == 0;
  // lanes: 8 channels held in a register over the rows of a block (a memory accumulator would
  // serialise every row on a store-to-load round trip)
  const std::vector<double> sum = channel_sums(M, C, [&](int64_t r0, int64_t r1, float* acc) {
    if (lanes)
      for (int c = 0; c < C; c += 8) {
        v8 a = ld(acc + c);
        for (int64_t r = r0; r < r1; ++r) a += ld(x + r * C + c);
        st(acc + c, a);
      }
    else
      for (int64_t r = r0; r < r1; ++r)
        for (int c = 0; c < C; ++c) acc[c] += x[r * C + c];
  }, 1);
  for (int c = 0; c < C; ++c) mean[c] = (float)(sum[c] / (double)M);
  const std::vector<double> sq = channel_sums(M, C, [&](int64_t r0, int64_t r1, float* acc) {
    if (lanes)
      for (int c = 0; c < C; c += 8) {
        const v8 m = ld(mean + c);
        v8 a = ld(acc + c);
        for (int64_t r = r0; r < r1; ++r) {
          const v8 d = ld(x + r * C + c) - m;
          a += d * d;
        }
        st(acc + c, a);
      }
    else
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = x + r * C;
        for (int c = 0; c < C; ++c) {
          const float d = row[c] - mean[c];
          acc[c] += d * d;
        }
      }
  }, 1);
  std::vector<float> scale((size_t)C);
  for (int c = 0; c < C; ++c) {
    var[c] = (float)(sq[c] / (double)M);
    scale[c] = gamma[c] / std::sqrt(var[c] + eps);
  }
  const float* sc = scale.data();
  parallel_for(M, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* in = x + r * C;
      float* out = y + r * C;
      if (lanes)
        for (int c = 0; c < C; c += 8) st(out + c, (ld(in + c) - ld(mean + c)) * ld(sc + c) + ld(beta + c));
      else
        for (int c = 0; c < C; ++c) out[c] = (in[c] - mean[c]) * sc[c] + beta[c];
    }
  }, std::max<int64_t>(1, 32768 / std::max(1, C)));
}

void batchnorm_train_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* var,
                          const float* dmean, const float* dvar, float eps, int64_t M, int C, float* dx, float* dgamma,
                          float* dbeta) {
  if (M <= 0) {
    for (int c = 0; c < C; ++c) dgamma[c] = dbeta[c] = 0.f;
    return;
  }
  // S1 = Σ dy, S2 = Σ dy·(x − mean) per channel
  std::vector<double> s2;
  const bool lanes = C % 8 == 0;
  const std::vector<double> s1 = channel_sums(M, C, [&](int64_t r0, int64_t r1, float* acc) {
    float* a2 = acc + C;
    if (lanes)
      for (int c = 0; c < C; c += 8) {
        const v8 m = ld(mean + c);
        v8 s = ld(acc + c), t = ld(a2 + c);
        for (int64_t r = r0; r < r1; ++r) {
          const v8 gv = ld(dy + r * C + c);
          s += gv;
          t += gv * (ld(x + r * C + c) - m);
        }
        st(acc + c, s);
        st(a2 + c, t);
      }
    else
      for (int64_t r = r0; r < r1; ++r) {
        const float* g = dy + r * C;
        const float* in = x + r * C;
        for (int c = 0; c < C; ++c) {
          acc[c] += g[c];
          a2[c] += g[c] * (in[c] - mean[c]);
        }
      }
  }, 2, &s2);
  // dx = a·dy + b + k·(x − mean) with invstd = 1/√(var+eps), a = γ·invstd,
  // b = (dmean − a·S1)/M, k = (2·dvar − a·invstd²·S2)/M
  std::vector<float> a((size_t)C), b((size_t)C), k((size_t)C);
  const double invM = 1.0 / (double)M;
  for (int c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt((double)var[c] + (double)eps);
    const double ac = (double)gamma[c] * invstd;
    a[c] = (float)ac;
    b[c] = (float)(((dmean ? (double)dmean[c] : 0.0) - ac * s1[c]) * invM);
    k[c] = (float)(((dvar ? 2.0 * (double)dvar[c] : 0.0) - ac * invstd * invstd * s2[c]) * invM);
    dbeta[c] = (float)s1[c];
    dgamma[c] = (float)(s2[c] * invstd);
  }
  const float *pa = a.data(), *pb = b.data(), *pk = k.data();
  parallel_for(M, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = dy + r * C;
      const float* in = x + r * C;
      float* out = dx + r * C;
      if (lanes)
        for (int c = 0; c < C; c += 8)
          st(out + c, ld(pa + c) * ld(g + c) + ld(pb + c) + ld(pk + c) * (ld(in + c) - ld(mean + c)));
      else
        for (int c = 0; c < C; ++c) out[c] = pa[c] * g[c] + pb[c] + pk[c] * (in[c] - mean[c]);
    }
  }, std::max<int64_t>(1, 32768 / std::max(1, C)));
}

void batchnorm_infer(const float* x, const float* mean, const float* var, const float* offset, const float* scale, double eps,
                     int64_t M, int C, float* y) {
  std::vector<double> m((size_t)C), s((size_t)C), off((size_t)C), r((size_t)C);
  for (int c = 0; c < C; ++c) {
    m[c] = mean[c];
    s[c] = scale ? (double)scale[c] : 1.0;
    off[c] = offset ? (double)offset[c] : 0.0;
    r[c] = std::sqrt((double)var[c] + eps);
  }
  parallel_for(M, [&](int64_t i0, int64_t i1) {
    const double *pm = m.data(), *ps = s.data(), *po = off.data(), *pr = r.data();
    for (int64_t i = i0; i < i1; ++i) {
      const float* xi = x + i * C;
      float* yi = y + i * C;
      for (int c = 0; c < C; ++c) yi[c] = (float)(po[c] + ((double)xi[c] - pm[c]) * ps[c] / pr[c]);
    }
  }, std::max<int64_t>(1, 65536 / std::max(1, C)));
}

}  // namespace mk
