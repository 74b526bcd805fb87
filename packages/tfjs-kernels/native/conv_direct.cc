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

}  // namespace

bool conv2d_direct_applies(const ConvGeom& g) { return g.Co % HVW == 0 && HVW >= 4 && g.dh == 1 && g.dw == 1 && g.C > 0; }

void conv2d_direct(const ConvGeom& g, const float* x, const float* w, float* y) {
#if !defined(__AVX512F__) && (defined(__AVX2__) || defined(__AVX__))
  // 16 registers: 4 pixels × 2 vectors of output channels keep 8 independent sums (16 or 32
  // channels; 8 pixels × 1 vector for 8). Every output's sum runs over the same taps in the same order.
  if (g.Co % (2 * DVW) == 0) return conv2d_direct_vw<DVW, DMR / 2, 2>(g, x, w, y);
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
  const int64_t rows = (int64_t)g.N * g.Ho;
  const int64_t wsize = (int64_t)g.kh * g.kw * g.C * g.Co;
  // one partial dW per part (part 0 is dw itself), summed at the end
  const int64_t parts = std::min<int64_t>(num_threads(), std::max<int64_t>(1, rows / 4));
  std::vector<float> partial((size_t)(parts - 1) * wsize, 0.f);
  std::memset(dw, 0, sizeof(float) * (size_t)wsize);
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
  parallel_for(parts, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p) {
      float* out = p == 0 ? dw : partial.data() + (size_t)(p - 1) * wsize;
      const int64_t b = rows * p / parts, e = rows * (p + 1) / parts;
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
    }
  });
  for (int64_t p = 1; p < parts; ++p) {
    const float* src = partial.data() + (size_t)(p - 1) * wsize;
    for (int64_t i = 0; i < wsize; ++i) dw[i] += src[i];
  }
}

}  // namespace

bool conv2d_backprop_filter_direct_applies(const ConvGeom& g) { return g.Co % HVW == 0 && HVW >= 4 && g.dh == 1 && g.dw == 1; }

void conv2d_backprop_filter_direct(const ConvGeom& g, const float* x, const float* dy, float* dw) {
#if !defined(__AVX512F__) && (defined(__AVX2__) || defined(__AVX__))
  // as conv2d_direct: 4 input channels × 2 vectors of output channels (one broadcast serves both)
  if (g.Co % (2 * DVW) == 0) return conv2d_backprop_filter_direct_vw<DVW, DMR / 2, 2>(g, x, dy, dw);
#endif
  if (g.Co % DVW == 0) return conv2d_backprop_filter_direct_vw<DVW, DMR>(g, x, dy, dw);
  conv2d_backprop_filter_direct_vw<HVW, HMR>(g, x, dy, dw);
}

}  // namespace mk
