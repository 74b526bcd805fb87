// Blocked, packed float32 GEMM (BLIS-style loop order) with a register-tiled micro-kernel
// written with GCC vector extensions, so the ISA of the build machine (-march=native) decides
// the vector width: AVX-512 (16 lanes), AVX2/FMA (8) or SSE/NEON (4). With MK_USE_OPENBLAS the
// single-threaded core is cblas_sgemm instead; threading is ours in both cases.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "kernels.h"

#ifdef MK_USE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

namespace mk {

static int g_threads = 0;

int num_threads() {
  if (g_threads <= 0) {
    int n = (int)std::thread::hardware_concurrency();
    const char* env = std::getenv("METAD2A_THREADS");
    if (env && std::atoi(env) > 0) n = std::atoi(env);
    g_threads = std::max(1, std::min(n, 64));
#ifdef MK_USE_OPENBLAS
    openblas_set_num_threads(1);
#endif
  }
  return g_threads;
}

void set_num_threads(int n) {
  g_threads = std::max(1, std::min(n, 64));
#ifdef MK_USE_OPENBLAS
  openblas_set_num_threads(1);
#endif
}

// parallel_for: native/thread-pool.cc

#if defined(__AVX512F__)
#define MK_ISA "avx512"
constexpr int VW = 16, MR = 12;
#elif defined(__AVX2__) || defined(__AVX__)
#define MK_ISA "avx2"
constexpr int VW = 8, MR = 6;
#else
#define MK_ISA "generic"
constexpr int VW = 4, MR = 4;
#endif
constexpr int KC = 256, MC = MR * 16, NC = VW * 256;

typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4)));

const char* gemm_impl() {
#ifdef MK_USE_OPENBLAS
  return "openblas";
#else
  return "builtin-" MK_ISA;
#endif
}

static float* alloc_floats(size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, std::max<size_t>(n, 16) * sizeof(float)) != 0) throw std::bad_alloc();
  return static_cast<float*>(p);
}

struct FloatBuf {
  float* p;
  explicit FloatBuf(size_t n) : p(alloc_floats(n)) {}
  ~FloatBuf() { std::free(p); }
  FloatBuf(const FloatBuf&) = delete;
  FloatBuf& operator=(const FloatBuf&) = delete;
};

// Pack op(A)[i0:i0+mc, k0:k0+kc] into MR-row panels: panel p holds [k][MR].
static void pack_a(bool trans, const float* A, int lda, int i0, int k0, int mc, int kc, float* out) {
  for (int ip = 0; ip < mc; ip += MR) {
    int mr = std::min(MR, mc - ip);
    float* dst = out + (size_t)ip * kc;
    if (!trans) {
      for (int r = 0; r < MR; ++r) {
        if (r < mr) {
          const float* src = A + (size_t)(i0 + ip + r) * lda + k0;
          for (int k = 0; k < kc; ++k) dst[k * MR + r] = src[k];
        } else {
          for (int k = 0; k < kc; ++k) dst[k * MR + r] = 0.f;
        }
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        const float* src = A + (size_t)(k0 + k) * lda + i0 + ip;
        int r = 0;
        for (; r < mr; ++r) dst[k * MR + r] = src[r];
        for (; r < MR; ++r) dst[k * MR + r] = 0.f;
      }
    }
  }
}

// Pack op(B)[k0:k0+kc, j0:j0+nc] into NR-column panels: panel p holds [k][NR].
template <int NR>
static void pack_b(bool trans, const float* B, int ldb, int k0, int j0, int kc, int nc, float* out) {
  for (int jp = 0; jp < nc; jp += NR) {
    int nr = std::min(NR, nc - jp);
    float* dst = out + (size_t)jp * kc;
    if (!trans) {
      for (int k = 0; k < kc; ++k) {
        const float* src = B + (size_t)(k0 + k) * ldb + j0 + jp;
        int c = 0;
        for (; c < nr; ++c) dst[k * NR + c] = src[c];
        for (; c < NR; ++c) dst[k * NR + c] = 0.f;
      }
    } else {
      for (int c = 0; c < NR; ++c) {
        if (c < nr) {
          const float* src = B + (size_t)(j0 + jp + c) * ldb + k0;
          for (int k = 0; k < kc; ++k) dst[k * NR + c] = src[k];
        } else {
          for (int k = 0; k < kc; ++k) dst[k * NR + c] = 0.f;
        }
      }
    }
  }
}

// acc[MR][NR] = Ap(panel, [k][MR]) · Bp(panel, [k][NR]); then C (+)= acc for the mr×nr corner.
template <int NV>
static inline void micro_kernel(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int ldc,
                                bool accumulate, int mr, int nr) {
  constexpr int NR = NV * VW;
  vf acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = (vf){};
  for (int k = 0; k < kc; ++k) {
    vf b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = *(const vf*)(Bp + k * NR + v * VW);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const float a = Ap[k * MR + r];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] += a * b[v];
    }
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        vfu* dst = (vfu*)(C + (size_t)r * ldc + v * VW);
        if (accumulate)
          *dst += acc[r][v];
        else
          *dst = acc[r][v];
      }
    return;
  }
  alignas(64) float tmp[MR * NR];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) *(vf*)(tmp + r * NR + v * VW) = acc[r][v];
  for (int r = 0; r < mr; ++r) {
    float* dst = C + (size_t)r * ldc;
    if (accumulate)
      for (int c = 0; c < nr; ++c) dst[c] += tmp[r * NR + c];
    else
      for (int c = 0; c < nr; ++c) dst[c] = tmp[r * NR + c];
  }
}

template <int NV>
static void sgemm_blocked(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                          float* C, int ldc, bool accumulate) {
  constexpr int NR = NV * VW;
  const int ncMax = std::min(NC, (N + NR - 1) / NR * NR);
  const int mcMax = std::min(MC, (M + MR - 1) / MR * MR);
  const int kcMax = std::min(KC, K);
  FloatBuf bbuf((size_t)kcMax * ncMax), abuf((size_t)kcMax * mcMax);
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const bool acc = accumulate || pc > 0;
      pack_b<NR>(transB, B, ldb, pc, jc, kc, nc, bbuf.p);
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        pack_a(transA, A, lda, ic, pc, mc, kc, abuf.p);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          for (int ir = 0; ir < mc; ir += MR) {
            micro_kernel<NV>(kc, abuf.p + (size_t)ir * kc, bbuf.p + (size_t)jr * kc,
                             C + (size_t)(ic + ir) * ldc + jc + jr, ldc, acc, std::min(MR, mc - ir), nr);
          }
        }
      }
    }
  }
}

void sgemm_st(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; ++i) std::memset(C + (size_t)i * ldc, 0, sizeof(float) * N);
    return;
  }
#ifdef MK_USE_OPENBLAS
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
              lda, B, ldb, accumulate ? 1.0f : 0.0f, C, ldc);
#else
  if (N <= VW)
    sgemm_blocked<1>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
  else
    sgemm_blocked<2>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
#endif
}

void sgemm(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
           int ldc, bool accumulate) {
  const int T = num_threads();
  const double work = (double)M * N * K;
  if (T <= 1 || work < 262144.0) {
    sgemm_st(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return;
  }
  constexpr int NR = 2 * VW;
  if (M >= T * MR * 2 || M >= N) {
    // split rows of C (and of op(A))
    const int blocks = (M + MR - 1) / MR;
    parallel_for(blocks, [&](int64_t b, int64_t e) {
      const int i0 = (int)b * MR, i1 = std::min(M, (int)e * MR);
      if (i1 <= i0) return;
      const float* Ai = transA ? A + i0 : A + (size_t)i0 * lda;
      sgemm_st(transA, transB, i1 - i0, N, K, Ai, lda, B, ldb, C + (size_t)i0 * ldc, ldc, accumulate);
    });
  } else {
    const int blocks = (N + NR - 1) / NR;
    parallel_for(blocks, [&](int64_t b, int64_t e) {
      const int j0 = (int)b * NR, j1 = std::min(N, (int)e * NR);
      if (j1 <= j0) return;
      const float* Bj = transB ? B + (size_t)j0 * ldb : B + j0;
      sgemm_st(transA, transB, M, j1 - j0, K, A, lda, Bj, ldb, C + j0, ldc, accumulate);
    });
  }
}

static inline float activate(float v, int act, float alpha) {
  switch (act) {
    case ACT_RELU: return v > 0.f ? v : 0.f;
    case ACT_RELU6: return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
    case ACT_SIGMOID: return 1.f / (1.f + std::exp(-v));
    case ACT_LEAKYRELU: return v < 0.f ? alpha * v : v;
    case ACT_ELU: return v >= 0.f ? v : std::expm1(v);
    default: return v;
  }
}

void bias_activation(float* y, int64_t rows, int cols, const float* bias, int biasLen, int act, float alpha) {
  if (!bias && act == ACT_LINEAR) return;
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = y + r * cols;
      if (bias) {
        if (biasLen == 1)
          for (int c = 0; c < cols; ++c) row[c] += bias[0];
        else
          for (int c = 0; c < cols; ++c) row[c] += bias[c];
      }
      if (act == ACT_RELU)
        for (int c = 0; c < cols; ++c) row[c] = row[c] > 0.f ? row[c] : 0.f;
      else if (act != ACT_LINEAR)
        for (int c = 0; c < cols; ++c) row[c] = activate(row[c], act, alpha);
    }
  }, std::max<int64_t>(1, 65536 / std::max(1, cols)));
}

}  // namespace mk
