// Convolution, depthwise convolution and average pooling (forward and gradients), NHWC.
// Dense convolutions are im2col + GEMM over chunks of output pixels, so the column buffer stays
// small (a few hundred KB per thread) and both cores work on disjoint chunks.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace mk {

namespace {

constexpr int64_t kColBudget = 1 << 17;  // floats per column chunk (512 KB)

bool is_pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padLeft == 0 && g.Ho == g.H &&
         g.Wo == g.W;
}

// 1×1 convolutions with few input channels (NB201's 8–32) run the direct kernel: the GEMM's
// packing costs more than its K ≤ 32 multiply-adds per output.
constexpr int kDirectPointwiseMaxC = 32;

int64_t chunk_rows(int64_t K) { return std::max<int64_t>(16, kColBudget / std::max<int64_t>(1, K)); }

// Rows [r0, r1) of the im2col matrix: row = output pixel (n, oh, ow), columns = (fh, fw, c).
void im2col(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* col) {
  const int64_t K = (int64_t)g.kh * g.kw * g.C;
  const int64_t hw = (int64_t)g.Ho * g.Wo;
  for (int64_t r = r0; r < r1; ++r) {
    const int n = (int)(r / hw);
    const int rem = (int)(r % hw);
    const int oh = rem / g.Wo, ow = rem % g.Wo;
    float* dst = col + (r - r0) * K;
    for (int fh = 0; fh < g.kh; ++fh) {
      const int ih = oh * g.sh - g.padTop + fh * g.dh;
      for (int fw = 0; fw < g.kw; ++fw, dst += g.C) {
        const int iw = ow * g.sw - g.padLeft + fw * g.dw;
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
          std::memset(dst, 0, sizeof(float) * g.C);
        else
          std::memcpy(dst, x + (((int64_t)n * g.H + ih) * g.W + iw) * g.C, sizeof(float) * g.C);
      }
    }
  }
}

// dx += col2im(col) for rows [r0, r1).
void col2im_add(const ConvGeom& g, const float* col, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = (int64_t)g.kh * g.kw * g.C;
  const int64_t hw = (int64_t)g.Ho * g.Wo;
  for (int64_t r = r0; r < r1; ++r) {
    const int n = (int)(r / hw);
    const int rem = (int)(r % hw);
    const int oh = rem / g.Wo, ow = rem % g.Wo;
    const float* src = col + (r - r0) * K;
    for (int fh = 0; fh < g.kh; ++fh) {
      const int ih = oh * g.sh - g.padTop + fh * g.dh;
      for (int fw = 0; fw < g.kw; ++fw, src += g.C) {
        const int iw = ow * g.sw - g.padLeft + fw * g.dw;
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
        float* d = dx + (((int64_t)n * g.H + ih) * g.W + iw) * g.C;
        for (int c = 0; c < g.C; ++c) d[c] += src[c];
      }
    }
  }
}

struct Floats {
  std::vector<float> v;
  explicit Floats(size_t n) : v(n) {}
  float* data() { return v.data(); }
};

}  // namespace

void conv2d(const ConvGeom& g, const float* x, const float* w, float* y) {
  const int64_t rows = (int64_t)g.N * g.Ho * g.Wo;
  const int K = g.kh * g.kw * g.C;
  if (is_pointwise(g) && !(g.C <= kDirectPointwiseMaxC && conv2d_direct_applies(g))) {
    sgemm(false, false, (int)rows, g.Co, g.C, x, g.C, w, g.Co, y, g.Co, false);
    return;
  }
  if (conv2d_direct_applies(g)) return conv2d_direct(g, x, w, y);
  const int64_t chunk = chunk_rows(K);
  parallel_for(rows, [&](int64_t b, int64_t e) {
    Floats col((size_t)std::min(chunk, e - b) * K);
    for (int64_t r = b; r < e; r += chunk) {
      const int64_t cr = std::min(chunk, e - r);
      im2col(g, x, r, r + cr, col.data());
      sgemm_st(false, false, (int)cr, g.Co, K, col.data(), K, w, g.Co, y + r * g.Co, g.Co, false);
    }
  }, 32);
}

void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t rows = (int64_t)g.N * g.Ho * g.Wo;
  const int K = g.kh * g.kw * g.C;
  const bool pw = is_pointwise(g);
  if (!pw && conv2d_backprop_filter_direct_applies(g)) return conv2d_backprop_filter_direct(g, x, dy, dw);
  const int64_t chunk = chunk_rows(K);
  const int T = num_threads();
  // one partial dW per thread range, summed at the end
  const int64_t parts = std::min<int64_t>(T, std::max<int64_t>(1, rows / 64));
  std::vector<float> partial((size_t)(parts > 1 ? parts - 1 : 0) * K * g.Co);
  parallel_for(parts, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p) {
      const int64_t b = rows * p / parts, e = rows * (p + 1) / parts;
      float* out = p == 0 ? dw : partial.data() + (size_t)(p - 1) * K * g.Co;
      bool acc = false;
      if (pw) {
        sgemm_st(true, false, K, g.Co, (int)(e - b), x + b * g.C, g.C, dy + b * g.Co, g.Co, out, g.Co, false);
        continue;
      }
      Floats col((size_t)std::min(chunk, std::max<int64_t>(1, e - b)) * K);
      for (int64_t r = b; r < e; r += chunk) {
        const int64_t cr = std::min(chunk, e - r);
        im2col(g, x, r, r + cr, col.data());
        sgemm_st(true, false, K, g.Co, (int)cr, col.data(), K, dy + r * g.Co, g.Co, out, g.Co, acc);
        acc = true;
      }
      if (!acc) std::memset(out, 0, sizeof(float) * K * g.Co);
    }
  });
  const int64_t total = (int64_t)K * g.Co;
  for (int64_t p = 1; p < parts; ++p) {
    const float* src = partial.data() + (size_t)(p - 1) * total;
    for (int64_t i = 0; i < total; ++i) dw[i] += src[i];
  }
}

void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t rows = (int64_t)g.N * g.Ho * g.Wo;
  const int K = g.kh * g.kw * g.C;
  if (is_pointwise(g) && !(g.Co <= kDirectPointwiseMaxC && conv2d_backprop_input_direct_applies(g))) {
    sgemm(false, true, (int)rows, g.C, g.Co, dy, g.Co, w, g.Co, dx, g.C, false);
    return;
  }
  if (conv2d_backprop_input_direct_applies(g)) return conv2d_backprop_input_direct(g, dy, w, dx);
  std::memset(dx, 0, sizeof(float) * (size_t)g.N * g.H * g.W * g.C);
  const int64_t chunk = chunk_rows(K);
  const int64_t hw = (int64_t)g.Ho * g.Wo;
  const int T = num_threads();
  if (g.N >= T && T > 1) {
    // whole images per thread: col2im scatters never cross threads
    parallel_for(g.N, [&](int64_t nb, int64_t ne) {
      const int64_t b = nb * hw, e = ne * hw;
      Floats col((size_t)std::min(chunk, e - b) * K);
      for (int64_t r = b; r < e; r += chunk) {
        const int64_t cr = std::min(chunk, e - r);
        sgemm_st(false, true, (int)cr, K, g.Co, dy + r * g.Co, g.Co, w, g.Co, col.data(), K, false);
        col2im_add(g, col.data(), r, r + cr, dx);
      }
    });
    return;
  }
  Floats col((size_t)std::min(chunk, rows) * K);
  for (int64_t r = 0; r < rows; r += chunk) {
    const int64_t cr = std::min(chunk, rows - r);
    sgemm(false, true, (int)cr, K, g.Co, dy + r * g.Co, g.Co, w, g.Co, col.data(), K, false);
    col2im_add(g, col.data(), r, r + cr, dx);
  }
}

// ---- depthwise: filter [kh, kw, C, M], output channel c*M + q ----

void depthwise_conv2d(const ConvGeom& g, const float* x, const float* w, float* y) {
  const int M = g.Co / g.C;
  const int64_t outRows = (int64_t)g.N * g.Ho;
  parallel_for(outRows, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = (int)(row / g.Ho), oh = (int)(row % g.Ho);
      for (int ow = 0; ow < g.Wo; ++ow) {
        float* out = y + ((row * g.Wo) + ow) * g.Co;
        std::memset(out, 0, sizeof(float) * g.Co);
        for (int fh = 0; fh < g.kh; ++fh) {
          const int ih = oh * g.sh - g.padTop + fh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          for (int fw = 0; fw < g.kw; ++fw) {
            const int iw = ow * g.sw - g.padLeft + fw * g.dw;
            if (iw < 0 || iw >= g.W) continue;
            const float* in = x + (((int64_t)n * g.H + ih) * g.W + iw) * g.C;
            const float* wf = w + ((int64_t)fh * g.kw + fw) * g.Co;
            if (M == 1) {
              for (int c = 0; c < g.C; ++c) out[c] += in[c] * wf[c];
            } else {
              for (int c = 0; c < g.C; ++c)
                for (int q = 0; q < M; ++q) out[c * M + q] += in[c] * wf[c * M + q];
            }
          }
        }
      }
    }
  }, 4);
}

void depthwise_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int M = g.Co / g.C;
  const int64_t inRows = (int64_t)g.N * g.H;
  parallel_for(inRows, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = (int)(row / g.H), ih = (int)(row % g.H);
      for (int iw = 0; iw < g.W; ++iw) {
        float* out = dx + (row * g.W + iw) * g.C;
        std::memset(out, 0, sizeof(float) * g.C);
        for (int fh = 0; fh < g.kh; ++fh) {
          const int th = ih + g.padTop - fh * g.dh;
          if (th < 0 || th % g.sh != 0) continue;
          const int oh = th / g.sh;
          if (oh >= g.Ho) continue;
          for (int fw = 0; fw < g.kw; ++fw) {
            const int tw = iw + g.padLeft - fw * g.dw;
            if (tw < 0 || tw % g.sw != 0) continue;
            const int ow = tw / g.sw;
            if (ow >= g.Wo) continue;
            const float* d = dy + (((int64_t)n * g.Ho + oh) * g.Wo + ow) * g.Co;
            const float* wf = w + ((int64_t)fh * g.kw + fw) * g.Co;
            if (M == 1) {
              for (int c = 0; c < g.C; ++c) out[c] += d[c] * wf[c];
            } else {
              for (int c = 0; c < g.C; ++c) {
                float s = 0.f;
                for (int q = 0; q < M; ++q) s += d[c * M + q] * wf[c * M + q];
                out[c] += s;
              }
            }
          }
        }
      }
    }
  }, 4);
}

void depthwise_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int M = g.Co / g.C;
  const int64_t outRows = (int64_t)g.N * g.Ho;
  const int64_t fsize = (int64_t)g.kh * g.kw * g.Co;
  const int64_t parts = std::min<int64_t>(num_threads(), std::max<int64_t>(1, outRows / 4));
  std::vector<float> partial((size_t)parts * fsize, 0.f);
  parallel_for(parts, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p) {
      float* acc = partial.data() + p * fsize;
      const int64_t b = outRows * p / parts, e = outRows * (p + 1) / parts;
      for (int64_t row = b; row < e; ++row) {
        const int n = (int)(row / g.Ho), oh = (int)(row % g.Ho);
        for (int ow = 0; ow < g.Wo; ++ow) {
          const float* d = dy + (row * g.Wo + ow) * g.Co;
          for (int fh = 0; fh < g.kh; ++fh) {
            const int ih = oh * g.sh - g.padTop + fh * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (int fw = 0; fw < g.kw; ++fw) {
              const int iw = ow * g.sw - g.padLeft + fw * g.dw;
              if (iw < 0 || iw >= g.W) continue;
              const float* in = x + (((int64_t)n * g.H + ih) * g.W + iw) * g.C;
              float* a = acc + ((int64_t)fh * g.kw + fw) * g.Co;
              if (M == 1) {
                for (int c = 0; c < g.C; ++c) a[c] += in[c] * d[c];
              } else {
                for (int c = 0; c < g.C; ++c)
                  for (int q = 0; q < M; ++q) a[c * M + q] += in[c] * d[c * M + q];
              }
            }
          }
        }
      }
    }
  });
  std::memcpy(dw, partial.data(), sizeof(float) * fsize);
  for (int64_t p = 1; p < parts; ++p)
    for (int64_t i = 0; i < fsize; ++i) dw[i] += partial[(size_t)p * fsize + i];
}

// ---- average pooling ----
// Divisors (in-bounds taps, PyTorch count_include_pad=False) and the valid taps of every output
// row / column are computed once per call; the channel loops run in blocks of 8 lanes when C
// allows. Every output element sees the same float operations in the same order as the plain
// loops (0 + taps in (fh, fw) order, then × 1/count; gradient: Σ dy · 1/count in (fh, fw) order).

namespace {

// the taps of one output row (or column) that fall inside the input: input index per tap, -1 outside
std::vector<int> tap_inputs(int outLen, int inLen, int k, int stride, int dil, int pad) {
  std::vector<int> t((size_t)outLen * k);
  for (int o = 0; o < outLen; ++o)
    for (int f = 0; f < k; ++f) {
      const int i = o * stride - pad + f * dil;
      t[(size_t)o * k + f] = (i >= 0 && i < inLen) ? i : -1;
    }
  return t;
}

// 1 / (valid taps) per output pixel [Ho·Wo]
std::vector<float> pool_inverse_counts(const ConvGeom& g, const std::vector<int>& th, const std::vector<int>& tw) {
  std::vector<float> inv((size_t)g.Ho * g.Wo);
  for (int oh = 0; oh < g.Ho; ++oh) {
    int ch = 0;
    for (int f = 0; f < g.kh; ++f) ch += th[(size_t)oh * g.kh + f] >= 0;
    for (int ow = 0; ow < g.Wo; ++ow) {
      int cw = 0;
      for (int f = 0; f < g.kw; ++f) cw += tw[(size_t)ow * g.kw + f] >= 0;
      const int count = ch * cw;
      inv[(size_t)oh * g.Wo + ow] = count > 0 ? 1.f / (float)count : 0.f;
    }
  }
  return inv;
}

typedef float v8 __attribute__((vector_size(8 * sizeof(float))));
typedef float v8u __attribute__((vector_size(8 * sizeof(float)), aligned(4)));
inline v8 ld8(const float* p) { return *(const v8u*)p; }
inline void st8(float* p, v8 v) { *(v8u*)p = v; }

// the channel loops of the pooling kernels when C is not a multiple of 8 (else: registers, below)
inline void add_into(float* out, const float* in, int C) {
  for (int c = 0; c < C; ++c) out[c] += in[c];
}

inline void add_scaled_into(float* out, const float* d, float inv, int C) {
  for (int c = 0; c < C; ++c) out[c] += d[c] * inv;
}

}  // namespace

void avg_pool(const ConvGeom& g, const float* x, float* y) {
  const std::vector<int> th = tap_inputs(g.Ho, g.H, g.kh, g.sh, g.dh, g.padTop);
  const std::vector<int> tw = tap_inputs(g.Wo, g.W, g.kw, g.sw, g.dw, g.padLeft);
  const std::vector<float> inv = pool_inverse_counts(g, th, tw);
  const int64_t outRows = (int64_t)g.N * g.Ho;
  parallel_for(outRows, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = (int)(row / g.Ho), oh = (int)(row % g.Ho);
      if (g.C % 8 == 0) {
        // 8 channels of 4 output pixels at a time, summed in registers (a memory accumulator put a
        // store/load round trip on every tap; 4 pixels keep 4 independent chains of adds): the same
        // 0 + taps in (fh, fw) order, then × 1/count, per element
        const float* xn = x + (int64_t)n * g.H * g.W * g.C;
        for (int ow0 = 0; ow0 < g.Wo; ow0 += 4) {
          const int m = std::min(4, g.Wo - ow0);
          for (int c = 0; c < g.C; c += 8) {
            v8 acc[4] = {};
            for (int fh = 0; fh < g.kh; ++fh) {
              const int ih = th[(size_t)oh * g.kh + fh];
              if (ih < 0) continue;
              const float* xr = xn + (int64_t)ih * g.W * g.C + c;
              for (int fw = 0; fw < g.kw; ++fw)
                for (int j = 0; j < m; ++j) {
                  const int iw = tw[(size_t)(ow0 + j) * g.kw + fw];
                  if (iw >= 0) acc[j] += ld8(xr + (int64_t)iw * g.C);
                }
            }
            for (int j = 0; j < m; ++j) st8(y + (row * g.Wo + ow0 + j) * g.C + c, acc[j] * inv[(size_t)oh * g.Wo + ow0 + j]);
          }
        }
        continue;
      }
      for (int ow = 0; ow < g.Wo; ++ow) {
        float* out = y + (row * g.Wo + ow) * g.C;
        const float s = inv[(size_t)oh * g.Wo + ow];
        std::memset(out, 0, sizeof(float) * g.C);
        for (int fh = 0; fh < g.kh; ++fh) {
          const int ih = th[(size_t)oh * g.kh + fh];
          if (ih < 0) continue;
          for (int fw = 0; fw < g.kw; ++fw) {
            const int iw = tw[(size_t)ow * g.kw + fw];
            if (iw < 0) continue;
            add_into(out, x + (((int64_t)n * g.H + ih) * g.W + iw) * g.C, g.C);
          }
        }
        for (int c = 0; c < g.C; ++c) out[c] *= s;
      }
    }
  }, 4);
}

void avg_pool_grad(const ConvGeom& g, const float* dy, float* dx) {
  // per input row / column: the (tap, output) pairs that read it, in tap order
  auto readers = [](int inLen, int outLen, int k, int stride, int dil, int pad) {
    std::vector<std::vector<int>> r((size_t)inLen);  // pairs (f, o) flattened
    for (int i = 0; i < inLen; ++i)
      for (int f = 0; f < k; ++f) {
        const int t = i + pad - f * dil;
        if (t < 0 || t % stride != 0) continue;
        const int o = t / stride;
        if (o >= outLen) continue;
        r[(size_t)i].push_back(o);
      }
    return r;
  };
  const std::vector<int> th = tap_inputs(g.Ho, g.H, g.kh, g.sh, g.dh, g.padTop);
  const std::vector<int> tw = tap_inputs(g.Wo, g.W, g.kw, g.sw, g.dw, g.padLeft);
  const std::vector<float> inv = pool_inverse_counts(g, th, tw);
  const auto rh = readers(g.H, g.Ho, g.kh, g.sh, g.dh, g.padTop);
  const auto rw = readers(g.W, g.Wo, g.kw, g.sw, g.dw, g.padLeft);
  const int64_t inRows = (int64_t)g.N * g.H;
  parallel_for(inRows, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = (int)(row / g.H), ih = (int)(row % g.H);
      if (g.C % 8 == 0) {  // as the forward: 4 input pixels in registers, the same products and sums in the same order
        const float* dyn = dy + (int64_t)n * g.Ho * g.Wo * g.C;
        for (int iw0 = 0; iw0 < g.W; iw0 += 4) {
          const int m = std::min(4, g.W - iw0);
          for (int c = 0; c < g.C; c += 8) {
            v8 acc[4] = {};
            for (const int oh : rh[(size_t)ih]) {
              const float* dr = dyn + (int64_t)oh * g.Wo * g.C + c;
              const float* ir = inv.data() + (size_t)oh * g.Wo;
              for (int j = 0; j < m; ++j)
                for (const int ow : rw[(size_t)(iw0 + j)]) acc[j] += ld8(dr + (int64_t)ow * g.C) * ir[ow];
            }
            for (int j = 0; j < m; ++j) st8(dx + (row * g.W + iw0 + j) * g.C + c, acc[j]);
          }
        }
        continue;
      }
      for (int iw = 0; iw < g.W; ++iw) {
        float* out = dx + (row * g.W + iw) * g.C;
        std::memset(out, 0, sizeof(float) * g.C);
        for (const int oh : rh[(size_t)ih])
          for (const int ow : rw[(size_t)iw])
            add_scaled_into(out, dy + (((int64_t)n * g.Ho + oh) * g.Wo + ow) * g.C, inv[(size_t)oh * g.Wo + ow], g.C);
      }
    }
  }, 4);
}

}  // namespace mk
