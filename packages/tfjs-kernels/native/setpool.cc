// Fused inference of MetaD2A's SetPool (sabPF: SAB -> SAB -> PMA -> Linear, no layer norm) over
// many small sets whose first-SAB projections are cached per feature row (see kernels.h).
//
// The sets are tiny (MetaD2A: 20 rows x 56 features, 4 heads of width 14), too small for a GEMM or
// for vectorising along a row. So the kernel vectorises ACROSS sets: a group of kLanes sets is
// stored lane-interleaved (every value is a vector holding that value for kLanes sets), and every
// step of the block (projections, scores, softmax, weighted sums, ReLU) is written once, as plain
// scalar-looking code over those vectors, with no horizontal operation anywhere. GCC's vector
// extensions lower the vectors to AVX-512, AVX2 or SSE, whichever -march allows.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace mk {
namespace {

// One lane group per hardware vector register: 16 floats with AVX-512, 8 with AVX/AVX2, 4 otherwise
// (SSE, NEON). A generic vector wider than the hardware's is split by GCC into pieces that go
// through the stack (measured with AVX2 at 16 lanes: 14x slower, ~2 GMAC/s). Every lane computes
// the same operations in the same order whatever the width, so the results do not depend on it.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float vf __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(kLanes * sizeof(int32_t))));

inline vf splat(float x) { return vf{} + x; }
inline vf vmax(vf a, vf b) { return a > b ? a : b; }

// exp(x) lane by lane for x <= 0 (softmax after subtracting the max): Cephes' expf (range
// reduction by ln 2, degree-5 polynomial), within 2 ulp of expf for x >= -87, 0 below.
inline vf vexp_nonpositive(vf x) {
  const vf v = vmax(x, splat(-87.f));
  const vf magic = splat(12582912.f);  // 1.5 * 2^23: adding and subtracting it rounds to nearest
  const vf k = (v * 1.44269504088896341f + magic) - magic;
  const vf r = (v - k * 0.693359375f) - k * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const vf e = p * r * r + r + 1.f;
  const vi bits = (__builtin_convertvector(k, vi) + 127) << 23;
  vf scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < splat(-87.f) ? splat(0.f) : e * scale;
}

// y[r][o] = (sum_i x[r][i] w[o][i] + b[o]) * scale for rows x (lane vectors); w PyTorch [out, in].
void linear(const vf* __restrict x, int rows, int in, const LinearWeights& lw, int out, float scale, vf* __restrict y) {
  constexpr int OB = 8;
  for (int r = 0; r < rows; ++r) {
    const vf* xr = x + (int64_t)r * in;
    vf* yr = y + (int64_t)r * out;
    int o = 0;
    for (; o + OB <= out; o += OB) {
      vf acc[OB];
      for (int j = 0; j < OB; ++j) acc[j] = splat(lw.b ? lw.b[o + j] : 0.f);
      const float* w0 = lw.w + (int64_t)o * in;
      for (int i = 0; i < in; ++i) {
        const vf xi = xr[i];
        for (int j = 0; j < OB; ++j) acc[j] += xi * w0[(int64_t)j * in + i];
      }
      for (int j = 0; j < OB; ++j) yr[o + j] = scale == 1.f ? acc[j] : acc[j] * scale;
    }
    for (; o < out; ++o) {
      vf acc = splat(lw.b ? lw.b[o] : 0.f);
      const float* wo = lw.w + (int64_t)o * in;
      for (int i = 0; i < in; ++i) acc += xr[i] * wo[i];
      yr[o] = scale == 1.f ? acc : acc * scale;
    }
  }
}

// o[r][j*w + t] = q[r][j*w + t] + sum_c softmax_c(q_j[r] . k_j[c]) v[c][j*w + t] per head j
// (k already carries the 1/sqrt(d) scale); p: scratch of nk vectors.
void attend(const vf* __restrict q, int nq, const vf* __restrict k, const vf* __restrict v, int nk, int d, int heads, vf* __restrict p,
            vf* __restrict o) {
  const int w = d / heads;
  for (int r = 0; r < nq; ++r) {
    const vf* qr = q + (int64_t)r * d;
    vf* orow = o + (int64_t)r * d;
    for (int j = 0; j < heads; ++j) {
      const vf* qh = qr + j * w;
      vf mx = splat(-INFINITY);
      for (int c = 0; c < nk; ++c) {
        const vf* kc = k + (int64_t)c * d + j * w;
        vf s = splat(0.f);
        for (int t = 0; t < w; ++t) s += qh[t] * kc[t];
        p[c] = s;
        mx = vmax(mx, s);
      }
      vf sum = splat(0.f);
      for (int c = 0; c < nk; ++c) {
        p[c] = vexp_nonpositive(p[c] - mx);
        sum += p[c];
      }
      const vf inv = splat(1.f) / sum;
      vf* oh = orow + j * w;
      for (int t = 0; t < w; ++t) oh[t] = splat(0.f);
      for (int c = 0; c < nk; ++c) {
        const vf pc = p[c] * inv;
        const vf* vc = v + (int64_t)c * d + j * w;
        for (int t = 0; t < w; ++t) oh[t] += pc * vc[t];
      }
      for (int t = 0; t < w; ++t) oh[t] += qh[t];
    }
  }
}

// h = o + relu(fc_o(o)) over rows x d; tmp: rows x d scratch.
void mab_finish(const vf* __restrict o, int rows, int d, const LinearWeights& fo, vf* __restrict tmp, vf* __restrict h) {
  linear(o, rows, d, fo, d, 1.f, tmp);
  const int64_t m = (int64_t)rows * d;
  for (int64_t i = 0; i < m; ++i) h[i] = o[i] + vmax(tmp[i], splat(0.f));
}

}  // namespace

void set_pool_projected(const SetPoolWeights& W, const SetPoolGeom& g, const float* qc, const float* kc, const float* vc,
                        const int32_t* slots, float* out) {
  const int d = g.dim, h = g.heads, w = d / h, n = g.perSet, k = g.numOutputs, dout = g.outDim;
  const float scale = 1.f / std::sqrt((float)d);
  const int64_t groups = (g.sets + kLanes - 1) / kLanes;
  parallel_for(groups, [&](int64_t g0, int64_t g1) {
    const int64_t nd = (int64_t)n * d;
    std::vector<vf> Q(nd), K(nd), V(nd), O(nd), H(nd), T(nd), P(std::max(n, 1)), S((int64_t)k * d), QS((int64_t)k * d),
        OP((int64_t)k * d), HP((int64_t)k * d), TP((int64_t)k * d), Y((int64_t)k * dout);
    // the PMA queries fc_q(S) are the same for every set (every lane)
    for (int64_t i = 0; i < (int64_t)k * d; ++i) S[i] = splat(W.seeds[i]);
    linear(S.data(), k, d, W.pmaQ, d, 1.f, QS.data());
    for (int64_t grp = g0; grp < g1; ++grp) {
      const int64_t s0 = grp * kLanes;
      const int lanes = (int)std::min<int64_t>(kLanes, g.sets - s0);
      // 1. gather the cached head-major projections, lane l = set s0 + l (missing lanes repeat set s0)
      for (int r = 0; r < n; ++r) {
        for (int l = 0; l < kLanes; ++l) {
          const int64_t slot = slots[(s0 + (l < lanes ? l : 0)) * n + r];
          for (int j = 0; j < h; ++j) {
            const int64_t from = (j * g.capacity + slot) * w;
            const int64_t to = (int64_t)r * d + j * w;
            for (int t = 0; t < w; ++t) {
              Q[to + t][l] = qc[from + t];
              K[to + t][l] = kc[from + t];
              V[to + t][l] = vc[from + t];
            }
          }
        }
      }
      // 2. SAB 1 (projections cached): attention, then O + relu(fc_o(O))
      attend(Q.data(), n, K.data(), V.data(), n, d, h, P.data(), O.data());
      mab_finish(O.data(), n, d, W.sab1O, T.data(), H.data());
      // 3. SAB 2
      linear(H.data(), n, d, W.sab2Q, d, 1.f, Q.data());
      linear(H.data(), n, d, W.sab2K, d, scale, K.data());
      linear(H.data(), n, d, W.sab2V, d, 1.f, V.data());
      attend(Q.data(), n, K.data(), V.data(), n, d, h, P.data(), O.data());
      mab_finish(O.data(), n, d, W.sab2O, T.data(), H.data());
      // 4. PMA: the k seed queries over the n rows
      linear(H.data(), n, d, W.pmaK, d, scale, K.data());
      linear(H.data(), n, d, W.pmaV, d, 1.f, V.data());
      attend(QS.data(), k, K.data(), V.data(), n, d, h, P.data(), OP.data());
      mab_finish(OP.data(), k, d, W.pmaO, TP.data(), HP.data());
      // 5. output Linear, scattered back to [set, k, dout]
      linear(HP.data(), k, d, W.out, dout, 1.f, Y.data());
      for (int l = 0; l < lanes; ++l)
        for (int64_t i = 0; i < (int64_t)k * dout; ++i) out[(s0 + l) * k * dout + i] = Y[i][l];
    }
  });
}

}  // namespace mk
