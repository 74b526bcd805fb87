// Direct NHWC convolution for output channels in multiples of the vector width (or of half of it,
// with half-width vectors: NB201's 8-channel stages on AVX-512): a register tile
// of MR output pixels (one output row) × one vector of output channels accumulates
// Σ_{fh, fw, ci} x[pixel shifted by (fh, fw), ci] · w[fh, fw, ci, co..co+VW) with no im2col matrix
// and no GEMM packing (both copy the 9× expanded input for a 3×3 kernel). Out-of-image taps read a
// zero row. Also gives the input gradient of a stride-1 convolution, as the convolution of dy with
// the spatially flipped, in/out-swapped filter (no col2im scatter).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace mk {

namespace {

#if defined(__AVX512F__)
constexpr int DVW = 16, DMR = 12, HMR = 14;  // 32 vector registers: half-width tiles can be taller
#elif defined(__AVX2__) || defined(__AVX__)
constexpr int DVW = 8, DMR = 8, HMR = 8;  // 16 registers: 8 accumulators, the filter vector, broadcasts
#else
constexpr int DVW = 4, DMR = 4, HMR = 4;
#endif
// full and half vector width: a kernel instance is chosen per call by the channel counts
constexpr int HVW = DVW / 2;

// dw = Σ over parts of the N·Ho output rows of part(b, e, out), which adds rows [b, e) into out:
// one partial dW per part (part 0 is dw itself), the parts summed in order at the end, so the
// result depends on the thread count but not on the scheduling.
template <class Part>
void filter_gradient_by_parts(const ConvGeom& g, int64_t wsize, float* dw, const Part& part) {
  const int64_t rows = (int64_t)g.N * g.Ho;
  const int64_t parts = std::min<int64_t>(num_threads(), std::max<int64_t>(1, rows / 4));
  std::vector<float> partial((size_t)(parts - 1) * wsize, 0.f);
  std::memset(dw, 0, sizeof(float) * (size_t)wsize);
  parallel_for(parts, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p)
      part(rows * p / parts, rows * (p + 1) / parts, p == 0 ? dw : partial.data() + (size_t)(p - 1) * wsize);
  });
  for (int64_t p = 1; p < parts; ++p) {
    const float* src = partial.data() + (size_t)(p - 1) * wsize;
    for (int64_t i = 0; i < wsize; ++i) dw[i] += src[i];
  }
}

template <int VW>
struct Vec {
  typedef float v __attribute__((vector_size(VW * sizeof(float))));
  typedef float u __attribute__((vector_size(VW * sizeof(float)), aligned(4)));
};

// acc[r·V + v] += Σ_ci src(r, ci) · w[ci·Co + v·VW + (0..VW)] for R pixels (R ≤ DMR, compile-time for
// the full tile) and V vectors of output channels (one broadcast of src(r, ci) serves all V); CC > 0:
// that many input channels known at compile time (C is ignored), e.g. constant offsets from one pointer
template <int VW, int R, int V, int CC, class Src>
inline void taps(const Src& src, const float* w, int C, int Co, typename Vec<VW>::v* acc) {
  typedef typename Vec<VW>::v dvf;
  typedef typename Vec<VW>::u dvfu;
  const int channels = CC > 0 ? CC : C;
#pragma GCC unroll 8
  for (int ci = 0; ci < channels; ++ci) {
    dvf b[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) b[v] = *(const dvfu*)(w + (size_t)ci * Co + v * VW);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const float s = src(r, ci);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r * V + v] += s * b[v];
    }
  }
}

// One output row segment [ow0, ow0 + R) of image n, output row oh, channels [co, co + V·VW).
template <int VW, int R, int V>
inline void tile(const ConvGeom& g, const float* x, const float* w, const float* zeros, int n, int oh, int ow0, int co,
                 float* y) {
  typedef typename Vec<VW>::v dvf;
  typedef typename Vec<VW>::u dvfu;
  dvf acc[R > 0 ? R * V : 1];
#pragma GCC unroll 16
  for (int r = 0; r < R * V; ++r) acc[r] = (dvf){};
  const float* src[R > 0 ? R : 1];
  for (int fh = 0; fh < g.kh; ++fh) {
    const int ih = oh * g.sh - g.padTop + fh;
    if (ih < 0 || ih >= g.H) continue;
    const float* xrow = x + ((size_t)n * g.H + ih) * g.W * g.C;
    for (int fw = 0; fw < g.kw; ++fw) {
      const float* wt = w + ((size_t)fh * g.kw + fw) * g.C * g.Co + co;
      const int iw0 = ow0 * g.sw - g.padLeft + fw;
      if (g.C == 8 && g.sw == 1 && iw0 >= 0 && iw0 + R <= g.W) {
        // 8 channels, R adjacent in-image pixels of a stride-1 row: one base pointer, constant offsets
        const float* src0 = xrow + (size_t)iw0 * 8;
        taps<VW, R, V, 8>([src0](int r, int ci) { return src0[r * 8 + ci]; }, wt, 8, g.Co, acc);
        continue;
      }
      for (int r = 0; r < R; ++r) {
        const int iw = (ow0 + r) * g.sw - g.padLeft + fw;
        src[r] = (iw < 0 || iw >= g.W) ? zeros : xrow + (size_t)iw * g.C;
      }
      taps<VW, R, V, 0>([&src](int r, int ci) { return src[r][ci]; }, wt, g.C, g.Co, acc);
    }
  }
  float* out = y + (((size_t)n * g.Ho + oh) * g.Wo + ow0) * g.Co + co;
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) *(dvfu*)(out + (size_t)r * g.Co + v * VW) = acc[r * V + v];
}

template <int VW, int R, int V>
inline void tile_rest(int rest, const ConvGeom& g, const float* x, const float* w, const float* zeros, int n, int oh,
                      int ow0, int co, float* y) {
  if constexpr (R > 0) {
    if (rest == R) return tile<VW, R, V>(g, x, w, zeros, n, oh, ow0, co, y);
    tile_rest<VW, R - 1, V>(rest, g, x, w, zeros, n, oh, ow0, co, y);
  }
}

// Tiles of up to MR pixels × V vectors of output channels (Co a multiple of V·VW).
template <int VW, int MR, int V = 1>
void conv2d_direct_vw(const ConvGeom& g, const float* x, const float* w, float* y) {
  const std::vector<float> zeros((size_t)g.C, 0.f);
  const int64_t rows = (int64_t)g.N * g.Ho;
  // a row in equal tiles of at most MR pixels (16 = 8 + 8, not 12 + 4): a short tile has too few
  // independent accumulators to hide the FMA latency. Each output's sum is the same either way.
  const int tiles = (g.Wo + MR - 1) / MR;
  parallel_for(rows, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = (int)(row / g.Ho), oh = (int)(row % g.Ho);
      for (int co = 0; co < g.Co; co += V * VW)
        for (int t = 0; t < tiles; ++t) {
          const int ow = g.Wo * t / tiles;
          tile_rest<VW, MR, V>(g.Wo * (t + 1) / tiles - ow, g, x, w, zeros.data(), n, oh, ow, co, y);
        }
    }
  }, 2);
}

#if defined(__AVX512F__)
// 8 input and 8 output channels (NB201's first stage at C = 8) on 16-lane vectors: a half-width
// tile would leave half of every FMA idle. A vector holds two adjacent pixels × 8 input channels
// (one contiguous NHWC load, masked at the image border), multiplied by that tap's filter column
// of one output channel (duplicated for both pixels); after all taps the 8 per-output-channel
// vectors are summed over their input-channel lanes by a shuffle tree into [pixel a: co 0..7,
// pixel b: co 0..7]. The sums run over taps per lane, then over input channels in a tree.
namespace c8 {

struct Perm {
  __m512i l1e, l1o, l2a, l2b, l3a, l3b;
  Perm() {
    alignas(64) int32_t v[6][16];
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 8; ++i) {
        const int m = i >> 1, c = i & 1, q = i >> 2, d = i & 3;
        v[0][8 * h + i] = (c ? 16 : 0) + 8 * h + 2 * m;  // level 1: ci 2m of co 2j + c
        v[1][8 * h + i] = (c ? 16 : 0) + 8 * h + 2 * m + 1;
        v[2][8 * h + i] = (d < 2 ? 0 : 16) + 8 * h + 4 * q + (d & 1);  // level 2: ci pairs 2q, 2q + 1
        v[3][8 * h + i] = (d < 2 ? 0 : 16) + 8 * h + 4 * q + 2 + (d & 1);
        v[4][8 * h + i] = (i < 4 ? 0 : 16) + 8 * h + (i & 3);  // level 3: ci quads 0, 1
        v[5][8 * h + i] = (i < 4 ? 0 : 16) + 8 * h + 4 + (i & 3);
      }
    l1e = _mm512_load_si512(v[0]);
    l1o = _mm512_load_si512(v[1]);
    l2a = _mm512_load_si512(v[2]);
    l2b = _mm512_load_si512(v[3]);
    l3a = _mm512_load_si512(v[4]);
    l3b = _mm512_load_si512(v[5]);
  }
};

// acc[co] lanes [pixel a: ci 0..7 | pixel b: ci 0..7] → [pixel a: co 0..7 | pixel b: co 0..7]
inline __m512 reduce(const Perm& p, const __m512* acc) {
  __m512 s[4], t[2];
  for (int j = 0; j < 4; ++j)
    s[j] = _mm512_add_ps(_mm512_permutex2var_ps(acc[2 * j], p.l1e, acc[2 * j + 1]),
                         _mm512_permutex2var_ps(acc[2 * j], p.l1o, acc[2 * j + 1]));
  for (int k = 0; k < 2; ++k)
    t[k] = _mm512_add_ps(_mm512_permutex2var_ps(s[2 * k], p.l2a, s[2 * k + 1]),
                         _mm512_permutex2var_ps(s[2 * k], p.l2b, s[2 * k + 1]));
  return _mm512_add_ps(_mm512_permutex2var_ps(t[0], p.l3a, t[1]), _mm512_permutex2var_ps(t[0], p.l3b, t[1]));
}

// Output pixels [ow0, ow0 + count) of row (n, oh), count ≤ 2R; wd: per tap and co, 16 floats.
// K: the filter's height and width when known at compile time (3 or 1; 0: from g)
template <int R, bool Interior, int K>
inline void tile(const ConvGeom& g, const Perm& p, const float* x, const float* wd, int n, int oh, int ow0, int count,
                 float* y) {
  const int kh = K > 0 ? K : g.kh, kw = K > 0 ? K : g.kw;
  __m512 acc[R * 8];
#pragma GCC unroll 32
  for (int i = 0; i < R * 8; ++i) acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 3
  for (int fh = 0; fh < kh; ++fh) {
    const int ih = oh * g.sh - g.padTop + fh;
    if (ih < 0 || ih >= g.H) continue;
    const float* xrow = x + ((size_t)n * g.H + ih) * g.W * 8;
#pragma GCC unroll 3
    for (int fw = 0; fw < kw; ++fw) {
      const float* wt = wd + (size_t)(fh * kw + fw) * 8 * 16;
      __m512 X[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const int a = ow0 + 2 * r - g.padLeft + fw;  // input column of the pair's first pixel
        if (Interior) {  // every pixel of the tile and its taps inside the row
          X[r] = _mm512_loadu_ps(xrow + (ptrdiff_t)a * 8);
          continue;
        }
        const bool inA = 2 * r < count && a >= 0 && a < g.W, inB = 2 * r + 1 < count && a + 1 >= 0 && a + 1 < g.W;
        // masked-off lanes are not read (AVX-512 fault suppression), so the address may be one pixel out
        X[r] = _mm512_maskz_loadu_ps((__mmask16)((inA ? 0x00FF : 0) | (inB ? 0xFF00 : 0)), xrow + (ptrdiff_t)a * 8);
      }
#pragma GCC unroll 8
      for (int co = 0; co < 8; ++co) {
        const __m512 wv = _mm512_loadu_ps(wt + co * 16);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r * 8 + co] = _mm512_fmadd_ps(X[r], wv, acc[r * 8 + co]);
      }
    }
  }
  float* out = y + (((size_t)n * g.Ho + oh) * g.Wo + ow0) * 8;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int left = count - 2 * r;  // output pixels of this pair inside the tile: ≤ 0, 1 or ≥ 2
    if (left > 0) _mm512_mask_storeu_ps(out + 16 * r, left >= 2 ? 0xFFFF : 0x00FF, reduce(p, acc + r * 8));
  }
}

template <int K>
void rows(const ConvGeom& g, const Perm& perm, const float* x, const float* wd, float* y) {
  constexpr int R = 2;  // 2 pairs: 16 accumulators, the inputs and one filter vector in 32 registers
  parallel_for((int64_t)g.N * g.Ho, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = (int)(row / g.Ho), oh = (int)(row % g.Ho);
      for (int ow = 0; ow < g.Wo; ow += 2 * R) {
        const int count = std::min(2 * R, g.Wo - ow);
        if (count == 2 * R && ow - g.padLeft >= 0 && ow + 2 * R - 1 - g.padLeft + g.kw - 1 < g.W)
          tile<R, true, K>(g, perm, x, wd, n, oh, ow, count, y);
        else
          tile<R, false, K>(g, perm, x, wd, n, oh, ow, count, y);
      }
    }
  }, 2);
}

void conv2d(const ConvGeom& g, const float* x, const float* w, float* y) {
  static const Perm perm;
  const int taps = g.kh * g.kw;
  // wd[(tap·8 + co)·16 + h·8 + ci] = w[tap][ci][co] (HWIO), for both pixels h of a pair
  std::vector<float> wd((size_t)taps * 8 * 16);
  for (int t = 0; t < taps; ++t)
    for (int co = 0; co < 8; ++co)
      for (int ci = 0; ci < 8; ++ci)
        wd[((size_t)t * 8 + co) * 16 + ci] = wd[((size_t)t * 8 + co) * 16 + 8 + ci] = w[((size_t)t * 8 + ci) * 8 + co];
  if (g.kh == 3 && g.kw == 3) return rows<3>(g, perm, x, wd.data(), y);
  if (g.kh == 1 && g.kw == 1) return rows<1>(g, perm, x, wd.data(), y);
  rows<0>(g, perm, x, wd.data(), y);
}

// Filter gradient: dw[fh][fw][ci][co] = Σ over output pixels of x[tap's input pixel][ci] · dy[pixel][co].
// A vector holds a pair of output pixels' inputs (ci lanes) times [dy(a, co) × 8 | dy(b, co) × 8]
// (one permute of the pair's dy per co, shared by the kw taps of a filter row); the two halves are
// added at the end. K (3 or 1) is the filter size; rows [row0, row1) of N·Ho add into out.
template <int K>
void filter_rows(const ConvGeom& g, const float* x, const float* dy, int64_t row0, int64_t row1, float* out) {
  __m512i pick[8];  // pick[co]: lanes 0..7 ← dy(a, co), lanes 8..15 ← dy(b, co)
  for (int co = 0; co < 8; ++co) pick[co] = _mm512_setr_epi32(co, co, co, co, co, co, co, co, 8 + co, 8 + co, 8 + co, 8 + co, 8 + co, 8 + co, 8 + co, 8 + co);
  for (int fh = 0; fh < K; ++fh)
    for (int half = 0; half < 2; ++half) {  // output channels 4·half .. 4·half + 3: 12 accumulators
      __m512 acc[K][4];
#pragma GCC unroll 3
      for (int fw = 0; fw < K; ++fw)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) acc[fw][j] = _mm512_setzero_ps();
      for (int64_t row = row0; row < row1; ++row) {
        const int n = (int)(row / g.Ho), oh = (int)(row % g.Ho);
        const int ih = oh * g.sh - g.padTop + fh;
        if (ih < 0 || ih >= g.H) continue;
        const float* xrow = x + ((size_t)n * g.H + ih) * g.W * 8;
        const float* drow = dy + (size_t)row * g.Wo * 8;
        for (int ow = 0; ow < g.Wo; ow += 2) {
          const bool two = ow + 1 < g.Wo;
          const __m512 d = _mm512_maskz_loadu_ps(two ? 0xFFFF : 0x00FF, drow + (size_t)ow * 8);
          __m512 D[4];
#pragma GCC unroll 4
          for (int j = 0; j < 4; ++j) D[j] = _mm512_permutexvar_ps(pick[4 * half + j], d);
          const bool interior = two && ow - g.padLeft >= 0 && ow + 1 - g.padLeft + K - 1 < g.W;
#pragma GCC unroll 3
          for (int fw = 0; fw < K; ++fw) {
            const int a = ow - g.padLeft + fw;
            const float* src = xrow + (ptrdiff_t)a * 8;
            __m512 X;
            if (interior) {
              X = _mm512_loadu_ps(src);
            } else {  // masked-off lanes are not read (AVX-512 fault suppression)
              const bool inA = a >= 0 && a < g.W, inB = two && a + 1 >= 0 && a + 1 < g.W;
              X = _mm512_maskz_loadu_ps((__mmask16)((inA ? 0x00FF : 0) | (inB ? 0xFF00 : 0)), src);
            }
#pragma GCC unroll 4
            for (int j = 0; j < 4; ++j) acc[fw][j] = _mm512_fmadd_ps(X, D[j], acc[fw][j]);
          }
        }
      }
#pragma GCC unroll 3
      for (int fw = 0; fw < K; ++fw)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          alignas(64) float t[16];
          _mm512_store_ps(t, acc[fw][j]);
          float* o = out + ((size_t)(fh * K + fw) * 8) * 8 + 4 * half + j;
          for (int ci = 0; ci < 8; ++ci) o[ci * 8] += t[ci] + t[8 + ci];
        }
    }
}

bool filter_applies(const ConvGeom& g) {
  return g.C == 8 && g.Co == 8 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.kh == g.kw && (g.kh == 3 || g.kh == 1);
}

void backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  filter_gradient_by_parts(g, (int64_t)g.kh * g.kw * 64, dw, [&](int64_t b, int64_t e, float* out) {
    if (g.kh == 3)
      filter_rows<3>(g, x, dy, b, e, out);
    else
      filter_rows<1>(g, x, dy, b, e, out);
  });
}

}  // namespace c8
#endif

}  // namespace

bool conv2d_8x8_kernel() {
#if defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}

bool conv2d_direct_applies(const ConvGeom& g) { return g.Co % HVW == 0 && HVW >= 4 && g.dh == 1 && g.dw == 1 && g.C > 0; }

void conv2d_direct(const ConvGeom& g, const float* x, const float* w, float* y) {
#if defined(__AVX512F__)
  if (g.C == 8 && g.Co == 8 && g.sw == 1 && g.dh == 1 && g.dw == 1) return c8::conv2d(g, x, w, y);
#endif
#if !defined(__AVX512F__) && (defined(__AVX2__) || defined(__AVX__))
  // 16 registers: 4 pixels × 2 vectors of output channels keep 8 independent sums (16 or 32
  // channels; 8 pixels × 1 vector for 8). Every output's sum runs over the same taps in the same order.
  if (g.Co % (2 * DVW) == 0) return conv2d_direct_vw<DVW, DMR / 2, 2>(g, x, w, y);
#endif
#if defined(__AVX512F__)
  // rows of ≤ 8 pixels (NB201's last stages): a one-vector tile would hold ≤ 8 sums, too few to
  // hide the FMA latency; 2 vectors of output channels double them (#24: 32 channels at 4×4,
  // 110 → 67 µs per batch-64 forward, one thread). The same sums in the same order.
  if (g.Co % (2 * DVW) == 0 && g.Wo <= 8) return conv2d_direct_vw<DVW, 8, 2>(g, x, w, y);
#endif
  if (g.Co % DVW == 0) return conv2d_direct_vw<DVW, DMR>(g, x, w, y);
  conv2d_direct_vw<HVW, HMR>(g, x, w, y);
}

bool conv2d_backprop_input_direct_applies(const ConvGeom& g) {
  return g.C % HVW == 0 && HVW >= 4 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.padTop < g.kh && g.padLeft < g.kw;
}

void conv2d_backprop_input_direct(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  // w'[fh'][fw'][co][ci] = w[kh−1−fh'][kw−1−fw'][ci][co]
  std::vector<float> wf((size_t)g.kh * g.kw * g.C * g.Co);
  for (int fh = 0; fh < g.kh; ++fh)
    for (int fw = 0; fw < g.kw; ++fw) {
      const float* src = w + ((size_t)(g.kh - 1 - fh) * g.kw + (g.kw - 1 - fw)) * g.C * g.Co;
      float* dst = wf.data() + ((size_t)fh * g.kw + fw) * g.Co * g.C;
      for (int ci = 0; ci < g.C; ++ci)
        for (int co = 0; co < g.Co; ++co) dst[(size_t)co * g.C + ci] = src[(size_t)ci * g.Co + co];
    }
  ConvGeom t = g;
  t.H = g.Ho;
  t.W = g.Wo;
  t.C = g.Co;
  t.Ho = g.H;
  t.Wo = g.W;
  t.Co = g.C;
  t.padTop = g.kh - 1 - g.padTop;
  t.padLeft = g.kw - 1 - g.padLeft;
  conv2d_direct(t, dy, wf.data(), dx);
}

namespace {

// dw[fh, fw, ci0..ci0+R, co..co+VW) += Σ over output pixels of rows [row0, row1) of
// x[input pixel of tap (fh, fw), ci] · dy[pixel, co..co+VW)
template <int VW, int R, int V>
inline void filter_tile(const ConvGeom& g, const float* x, const float* dy, int64_t row0, int64_t row1, int fh, int fw,
                        int owLo, int owHi, int ci0, int co, float* dw) {
  typedef typename Vec<VW>::v dvf;
  typedef typename Vec<VW>::u dvfu;
  float* out = dw + (((size_t)fh * g.kw + fw) * g.C + ci0) * g.Co + co;
  dvf acc[R > 0 ? R * V : 1];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r * V + v] = *(const dvfu*)(out + (size_t)r * g.Co + v * VW);
  for (int64_t row = row0; row < row1; ++row) {
    const int n = (int)(row / g.Ho), oh = (int)(row % g.Ho);
    const int ih = oh * g.sh - g.padTop + fh;
    if (ih < 0 || ih >= g.H) continue;
    const float* xs = x + (((size_t)n * g.H + ih) * g.W + ((int64_t)owLo * g.sw - g.padLeft + fw)) * g.C + ci0;
    const float* d = dy + ((size_t)row * g.Wo + owLo) * g.Co + co;
    const size_t xStep = (size_t)g.sw * g.C;
    for (int ow = owLo; ow < owHi; ++ow, xs += xStep, d += g.Co) {
      dvf b[V];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) b[v] = *(const dvfu*)(d + v * VW);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float s = xs[r];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[r * V + v] += s * b[v];
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) *(dvfu*)(out + (size_t)r * g.Co + v * VW) = acc[r * V + v];
}

template <int VW, int R, int V>
inline void filter_tile_rest(int rest, const ConvGeom& g, const float* x, const float* dy, int64_t row0, int64_t row1,
                             int fh, int fw, int owLo, int owHi, int ci0, int co, float* dw) {
  if constexpr (R > 0) {
    if (rest == R) return filter_tile<VW, R, V>(g, x, dy, row0, row1, fh, fw, owLo, owHi, ci0, co, dw);
    filter_tile_rest<VW, R - 1, V>(rest, g, x, dy, row0, row1, fh, fw, owLo, owHi, ci0, co, dw);
  }
}

// Tiles of up to MR input channels × V vectors of output channels (Co a multiple of V·VW).
template <int VW, int MR, int V = 1>
void conv2d_backprop_filter_direct_vw(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  // output columns whose tap fw lands inside the image: [owLo[fw], owHi[fw])
  std::vector<int> owLo((size_t)g.kw), owHi((size_t)g.kw);
  for (int fw = 0; fw < g.kw; ++fw) {
    int lo = 0, hi = g.Wo;
    while (lo < hi && lo * g.sw - g.padLeft + fw < 0) ++lo;
    while (hi > lo && (hi - 1) * g.sw - g.padLeft + fw >= g.W) --hi;
    owLo[fw] = lo;
    owHi[fw] = hi;
  }
  const int64_t rowBlock = std::max<int64_t>(1, 256 / std::max(1, g.Wo));
  filter_gradient_by_parts(g, (int64_t)g.kh * g.kw * g.C * g.Co, dw, [&](int64_t b, int64_t e, float* out) {
    for (int64_t r0 = b; r0 < e; r0 += rowBlock) {
      const int64_t r1 = std::min(e, r0 + rowBlock);
      for (int fh = 0; fh < g.kh; ++fh)
        for (int fw = 0; fw < g.kw; ++fw) {
          if (owLo[fw] >= owHi[fw]) continue;
          for (int ci0 = 0; ci0 < g.C; ci0 += MR)
            for (int co = 0; co < g.Co; co += V * VW) {
              if (ci0 + MR <= g.C)
                filter_tile<VW, MR, V>(g, x, dy, r0, r1, fh, fw, owLo[fw], owHi[fw], ci0, co, out);
              else
                filter_tile_rest<VW, MR - 1, V>(g.C - ci0, g, x, dy, r0, r1, fh, fw, owLo[fw], owHi[fw], ci0, co, out);
            }
        }
    }
  });
}

}  // namespace

bool conv2d_backprop_filter_direct_applies(const ConvGeom& g) { return g.Co % HVW == 0 && HVW >= 4 && g.dh == 1 && g.dw == 1; }

void conv2d_backprop_filter_direct(const ConvGeom& g, const float* x, const float* dy, float* dw) {
#if defined(__AVX512F__)
  if (c8::filter_applies(g)) return c8::backprop_filter(g, x, dy, dw);
#endif
#if !defined(__AVX512F__) && (defined(__AVX2__) || defined(__AVX__))
  // as conv2d_direct: 4 input channels × 2 vectors of output channels (one broadcast serves both)
  if (g.Co % (2 * DVW) == 0) return conv2d_backprop_filter_direct_vw<DVW, DMR / 2, 2>(g, x, dy, dw);
#endif
  if (g.Co % DVW == 0) return conv2d_backprop_filter_direct_vw<DVW, DMR>(g, x, dy, dw);
  conv2d_backprop_filter_direct_vw<HVW, HMR>(g, x, dy, dw);
}

}  // namespace mk
