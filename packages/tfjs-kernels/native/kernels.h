// Float32 CPU kernels behind the `native` tfjs backend. All tensors are dense row-major
// (tfjs layout: NHWC activations, HWIO conv filters, HW(C·M) depthwise filters).
#pragma once
#include <cstdint>
#include <functional>

namespace mk {

/** Number of worker threads used by parallel kernels (default: hardware concurrency, env METAD2A_THREADS). */
int num_threads();
void set_num_threads(int n);

/** How long pool threads poll for work before they sleep (env METAD2A_SPIN_US, default 100; 0: never). */
int spin_microseconds();
/** Run fn(begin, end) over [0, n) split into at most num_threads() contiguous ranges. */
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_per_thread = 1);

/** Which GEMM implementation was compiled in ("openblas" or "builtin-<isa>"). */
const char* gemm_impl();

/**
 * C[M,N] (+)= op(A)[M,K] · op(B)[K,N]; op(A) = A or Aᵀ (A stored [K,M] when transposed).
 * `accumulate` adds to C instead of overwriting it. Single-threaded.
 */
void sgemm_st(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
              int ldc, bool accumulate);
/** Same contract, using all threads when the problem is large enough. */
void sgemm(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
           int ldc, bool accumulate);

/** Activation codes shared with the TypeScript side. */
enum Activation { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_SIGMOID = 3, ACT_LEAKYRELU = 4, ACT_ELU = 5 };
/** y[r, c] = act(y[r, c] + bias[c]) (bias may be null; biasLen 1 broadcasts one value). */
void bias_activation(float* y, int64_t rows, int cols, const float* bias, int biasLen, int act, float alpha);

/** Geometry of a 2-D convolution / pooling window over NHWC data. */
struct ConvGeom {
  int N, H, W, C;        // input
  int Ho, Wo, Co;        // output (Co: conv output channels; depthwise: C·multiplier; pooling: C)
  int kh, kw, sh, sw, dh, dw, padTop, padLeft;
};

void conv2d(const ConvGeom& g, const float* x, const float* w, float* y);
void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw);

/** Direct (no im2col) convolution when Co is a multiple of the vector width and dilation is 1 (conv_direct.cc). */
bool conv2d_direct_applies(const ConvGeom& g);
/** Whether 8 → 8 channel convolutions (stride 1) run their own kernel (AVX-512 builds). */
bool conv2d_8x8_kernel();
void conv2d_direct(const ConvGeom& g, const float* x, const float* w, float* y);
/** Input gradient of a stride-1, dilation-1 convolution with C a multiple of the vector width, as a direct convolution. */
bool conv2d_backprop_input_direct_applies(const ConvGeom& g);
void conv2d_backprop_input_direct(const ConvGeom& g, const float* dy, const float* w, float* dx);
/** Filter gradient by direct accumulation (Co a multiple of the vector width, dilation 1). */
bool conv2d_backprop_filter_direct_applies(const ConvGeom& g);
void conv2d_backprop_filter_direct(const ConvGeom& g, const float* x, const float* dy, float* dw);

void depthwise_conv2d(const ConvGeom& g, const float* x, const float* w, float* y);
void depthwise_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
void depthwise_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw);

/** Average pooling that divides by the number of in-bounds window pixels (tfjs / count_include_pad=False). */
void avg_pool(const ConvGeom& g, const float* x, float* y);
/** Exact gradient of avg_pool (each output's share divided by its own in-bounds count). */
void avg_pool_grad(const ConvGeom& g, const float* dy, float* dx);

/** Broadcast geometry of a binary op: output shape, and per-dim input strides (0 = broadcast). */
constexpr int kMaxRank = 8;
struct BroadcastGeom {
  int rank;
  int64_t shape[kMaxRank];
  int64_t aStride[kMaxRank];
  int64_t bStride[kMaxRank];
};
/** idx[0..dims) = the row-major multi-index of `flat` over shape[0..dims). */
inline void unravel_index(int64_t flat, const int64_t* shape, int dims, int64_t* idx) {
  for (int d = dims - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
}
/** Step the multi-index idx[0..dims) to the next row-major position (odometer). */
inline void next_index(const int64_t* shape, int dims, int64_t* idx) {
  for (int d = dims - 1; d >= 0; --d) {
    if (++idx[d] < shape[d]) return;
    idx[d] = 0;
  }
}
enum BinaryOp { BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3, BIN_MAX = 4, BIN_MIN = 5, BIN_SQDIFF = 6 };
enum UnaryOp { UN_RELU = 0, UN_STEP = 1, UN_NEG = 2, UN_SQUARE = 3, UN_SQRT = 4, UN_RSQRT = 5, UN_EXP = 6, UN_LOG = 7, UN_RELU6 = 8, UN_SIGMOID = 9, UN_TANH = 10 };
enum ReduceOp { RED_SUM = 0, RED_MEAN = 1, RED_MAX = 2 };
void binary_op(int op, const BroadcastGeom& g, const float* a, const float* b, float* out);
void unary_op(int op, const float* x, float* y, int64_t n, float alpha);
/** tfjs ClipByValue: y = x > hi ? hi : (x < lo ? lo : x), compared in double as the cpu kernel (NaN passes). */
void clip_op(const float* x, float* y, int64_t n, double lo, double hi);
/** out[i, j] = reduce over t of x[i, t, j] for x viewed as [k1, r, k2]. */
void reduce_op(int op, const float* x, float* out, int64_t k1, int64_t r, int64_t k2);
/** Row-wise softmax of x viewed as [rows, cols]. */
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);
/** y = x transposed by perm (y.shape[d] = x.shape[perm[d]]). */
void transpose(const float* x, float* y, int rank, const int64_t* inShape, const int* perm);

/** A PyTorch Linear: w [out, in] row-major, b [out] (may be null). */
struct LinearWeights {
  const float* w;
  const float* b;
};
/** Weights of MetaD2A's SetPool (sabPF, no layer norm) after the first SAB's fc_q/fc_k/fc_v. */
struct SetPoolWeights {
  LinearWeights sab1O, sab2Q, sab2K, sab2V, sab2O;
  const float* seeds;  // PMA seeds [numOutputs, dim]
  LinearWeights pmaQ, pmaK, pmaV, pmaO, out;
};
struct SetPoolGeom {
  int heads, dim, numOutputs, outDim, perSet;
  int64_t sets, capacity;
};
/**
 * Inference of SetPool over `sets` sets of `perSet` rows whose first-SAB projections are cached
 * head-major [heads, capacity, dim/heads] in qc, kc (already times 1/sqrt(dim)) and vc; set s's
 * rows are the cache slots slots[s*perSet ...]. out: [sets, numOutputs, outDim]. Slots must be valid.
 */
void set_pool_projected(const SetPoolWeights& w, const SetPoolGeom& g, const float* qc, const float* kc, const float* vc,
                        const int32_t* slots, float* out);

/** The graph decoder's weights as prepared by @metad2a/graph-generator's `prepareDecoderWeights` (float64). */
struct DecoderWeights64 {
  int hs, nz;
  const double *fc3W, *fc3B, *giByType, *whh, *bhh, *av0W, *av0B, *av2W, *av2B, *aeOld, *aeNew, *ae0B, *ae2W;
  double ae2B;
  const double *gateH, *gateByVid, *mapH, *mapByVid;
};
struct DecodeGeom {
  int nvt, maxN, startType, endType, batch;
  bool stochastic;
};
/**
 * Decode `batch` graphs from z [batch, nz] (graph-generator's `decodeBatch`, same draws from the
 * xoshiro128** state `rngState`, which is advanced in place). Outputs: types [batch, maxN] (-1
 * after a graph's end), edges [batch, maxN(maxN-1)/2, 2] in insertion order with edgeCounts [batch],
 * typeLogits [batch, maxN-2, nvt] (NaN where not decided), edgeProbs [batch, maxN, maxN] (-1 where none).
 */
void decode_graphs(const DecoderWeights64& w, const DecodeGeom& g, const float* z, uint32_t* rngState, int32_t* types,
                   int32_t* edges, int32_t* edgeCounts, float* typeLogits, float* edgeProbs);
/**
 * Training-mode batch normalisation of x viewed as [M, C] (channels last): mean / biased variance
 * per channel, y = (x − mean)·γ/√(var + eps) + β.
 */
void batchnorm_train(const float* x, const float* gamma, const float* beta, float eps, int64_t M, int C, float* y,
                     float* mean, float* var);
/**
 * tfjs FusedBatchNorm (inference) over the last axis of x viewed as [M, C]: the cpu kernel's
 * off + (x − mean)·scale / sqrt(var + eps) in double, rounded once (so bit-identical to it);
 * offset / scale may be null (0 / 1).
 */
void batchnorm_infer(const float* x, const float* mean, const float* var, const float* offset, const float* scale, double eps,
                     int64_t M, int C, float* y);
/** Gradient of batchnorm_train w.r.t. x, γ, β given dy and the gradients of its mean / variance outputs (null = 0). */
void batchnorm_train_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* var,
                          const float* dmean, const float* dvar, float eps, int64_t M, int C, float* dx, float* dgamma,
                          float* dbeta);

/**
 * ReLU (when `relu`) → conv2d (filter in PyTorch's [Co, C, kh, kw] layout) → batchnorm_train, keeping
 * the activated input and the conv output for the gradient (relu_conv_bn.cc).
 */
void relu_conv_bn_train(const ConvGeom& g, bool relu, float eps, const float* x, const float* wOihw, const float* gamma,
                        const float* beta, float* y, float* mean, float* var, float* activated, float* conv);
/** Its gradient: dx (ReLU-masked), dW in [Co, C, kh, kw], dγ, dβ (dmean / dvar may be null; dx null: not computed). */
void relu_conv_bn_train_grad(const ConvGeom& g, bool relu, float eps, const float* dy, const float* dmean,
                             const float* dvar, const float* activated, const float* conv, const float* wOihw,
                             const float* gamma, const float* mean, const float* var, float* dx, float* dwOihw,
                             float* dgamma, float* dbeta);

/** dst[dstOffset + Σ i_d·dstStride_d] = src[srcOffset + Σ i_d·srcStride_d] for every index i < shape. */
struct StridedGeom {
  int rank;
  int64_t shape[kMaxRank];
  int64_t srcStride[kMaxRank];
  int64_t dstStride[kMaxRank];
  int64_t srcOffset, dstOffset;
};
void strided_copy(const float* src, float* dst, const StridedGeom& g);

/** The float32 scalars of one Adam step (see native/adam.cc). */
struct AdamScalars {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, sqrtBc2, eps, stepSize;
};
/** One fused Adam update of n elements (outputs may not alias inputs). */
void adam_update(const float* p, const float* m, const float* v, const float* g, float* pOut, float* mOut, float* vOut,
                 int64_t n, const AdamScalars& s);

struct SgdScalars {
  float lr, momentum, weightDecay;
  bool nesterov;
};
/** One fused SGD-with-momentum update of n elements (sgd.cc; outputs may not alias inputs). */
void sgd_update(const float* p, const float* b, const float* g, float* pOut, float* bOut, int64_t n, const SgdScalars& s);

}  // namespace mk
