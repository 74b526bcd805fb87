// NB201's ReLUConvBN in training mode (ReLU → Conv2d(bias=False) → BatchNorm2d with batch
// statistics) as one forward and one backward call: the filter arrives in PyTorch's [out, in, k, k]
// layout and is transposed here (tfjs would run a Transpose op each way), the ReLU and its gradient
// mask are loops fused around the convolutions, and BatchNorm is batchnorm.cc's two-pass kernel.
// Exactly the ops of the composite graph in the same order, so results match it to float rounding
// of the shared kernels (the same kernels run in both).
#include <vector>

#include "kernels.h"

namespace mk {

namespace {

// [Co, Ci, kh, kw] → [kh, kw, Ci, Co] (or back with `toOihw`)
void transpose_filter(const ConvGeom& g, const float* src, float* dst, bool toOihw) {
  for (int co = 0; co < g.Co; ++co)
    for (int ci = 0; ci < g.C; ++ci)
      for (int fh = 0; fh < g.kh; ++fh)
        for (int fw = 0; fw < g.kw; ++fw) {
          const size_t oihw = (((size_t)co * g.C + ci) * g.kh + fh) * g.kw + fw;
          const size_t hwio = (((size_t)fh * g.kw + fw) * g.C + ci) * g.Co + co;
          if (toOihw)
            dst[oihw] = src[hwio];
          else
            dst[hwio] = src[oihw];
        }
}

// the calling thread's scratch array of at least n floats, reused across calls (contents undefined):
// the gradient's dconv is fully written before it is read, and a fresh zero-filled vector per call
// cost a malloc and a memset of the activation size (256 KB for an 8-channel 16×16 batch of 32)
float* scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace

void relu_conv_bn_train(const ConvGeom& g, bool relu, float eps, const float* x, const float* wOihw, const float* gamma,
                        const float* beta, float* y, float* mean, float* var, float* activated, float* conv) {
  const int64_t inSize = (int64_t)g.N * g.H * g.W * g.C;
  parallel_for(inSize, [&](int64_t b, int64_t e) {
    if (relu)
      for (int64_t i = b; i < e; ++i) activated[i] = x[i] > 0.f ? x[i] : 0.f;
    else
      for (int64_t i = b; i < e; ++i) activated[i] = x[i];
  }, 65536);
  std::vector<float> w((size_t)g.kh * g.kw * g.C * g.Co);
  transpose_filter(g, wOihw, w.data(), false);
  conv2d(g, activated, w.data(), conv);
  batchnorm_train(conv, gamma, beta, eps, (int64_t)g.N * g.Ho * g.Wo, g.Co, y, mean, var);
}

void relu_conv_bn_train_grad(const ConvGeom& g, bool relu, float eps, const float* dy, const float* dmean,
                             const float* dvar, const float* activated, const float* conv, const float* wOihw,
                             const float* gamma, const float* mean, const float* var, float* dx, float* dwOihw,
                             float* dgamma, float* dbeta) {
  const int64_t outSize = (int64_t)g.N * g.Ho * g.Wo * g.Co;
  const int64_t inSize = (int64_t)g.N * g.H * g.W * g.C;
  float* dconv = scratch((size_t)outSize);  // every element written by batchnorm_train_grad
  batchnorm_train_grad(dy, conv, gamma, mean, var, dmean, dvar, eps, (int64_t)g.N * g.Ho * g.Wo, g.Co, dconv,
                       dgamma, dbeta);
  const size_t wsize = (size_t)g.kh * g.kw * g.C * g.Co;
  std::vector<float> w(dx != nullptr ? wsize : 0), dw(wsize);
  if (dx != nullptr) {  // null: the caller needs no input gradient (e.g. a network's stem, whose input is data)
    transpose_filter(g, wOihw, w.data(), false);
    conv2d_backprop_input(g, dconv, w.data(), dx);
    if (relu)  // tfjs' ReLU gradient: dy · step(x), step(x) = x > 0 (activated > 0 exactly when x > 0)
      parallel_for(inSize, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dx[i] = activated[i] > 0.f ? dx[i] : 0.f;
      }, 65536);
  }
  conv2d_backprop_filter(g, activated, dconv, dw.data());
  transpose_filter(g, dw.data(), dwOihw, true);
}

}  // namespace mk
