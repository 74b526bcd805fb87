// Node-API bindings: every function takes Float32Arrays (zero copy, the tfjs cpu backend's own
// storage) plus integer geometry, checks every length, and computes synchronously.
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "kernels.h"

namespace {

struct F32 {
  float* data;
  size_t length;
};

F32 f32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a Float32Array");
  auto a = info[i].As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength()};
}

int64_t num(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a number");
  return info[i].As<Napi::Number>().Int64Value();
}

void need(const Napi::Env& env, const F32& a, int64_t n, const char* what) {
  if (n < 0 || a.length < (size_t)n)
    throw Napi::RangeError::New(env, std::string(what) + ": array has " + std::to_string(a.length) +
                                         " elements, needs " + std::to_string(n));
}

mk::ConvGeom geom(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), "geometry: expected an Int32Array");
  auto a = info[i].As<Napi::Int32Array>();
  if (a.ElementLength() != 15) throw Napi::RangeError::New(info.Env(), "geometry: expected 15 integers");
  const int32_t* v = a.Data();
  mk::ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  if (g.N < 0 || g.H < 0 || g.W < 0 || g.C <= 0 || g.Ho < 0 || g.Wo < 0 || g.Co <= 0 || g.kh <= 0 || g.kw <= 0 ||
      g.sh <= 0 || g.sw <= 0 || g.dh <= 0 || g.dw <= 0)
    throw Napi::RangeError::New(info.Env(), "geometry: invalid convolution geometry");
  return g;
}

inline int64_t in_size(const mk::ConvGeom& g) { return (int64_t)g.N * g.H * g.W * g.C; }
inline int64_t out_size(const mk::ConvGeom& g) { return (int64_t)g.N * g.Ho * g.Wo * g.Co; }

// matmul(a, b, out, batch, aStride, bStride, M, N, K, transA, transB)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 a = f32(info, 0, "a"), b = f32(info, 1, "b"), c = f32(info, 2, "out");
  const int64_t batch = num(info, 3, "batch"), sa = num(info, 4, "aStride"), sb = num(info, 5, "bStride");
  const int M = (int)num(info, 6, "M"), N = (int)num(info, 7, "N"), K = (int)num(info, 8, "K");
  const bool ta = info[9].ToBoolean(), tb = info[10].ToBoolean();
  if (batch < 0 || M < 0 || N < 0 || K < 0 || sa < 0 || sb < 0) throw Napi::RangeError::New(env, "matmul: negative size");
  need(env, a, batch > 0 ? (batch - 1) * sa + (int64_t)M * K : 0, "matmul a");
  need(env, b, batch > 0 ? (batch - 1) * sb + (int64_t)K * N : 0, "matmul b");
  need(env, c, batch * M * N, "matmul out");
  const int lda = ta ? M : K, ldb = tb ? K : N;
  const double per = (double)M * N * K;
  if (batch > 1 && per < 4.0e6) {
    mk::parallel_for(batch, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        mk::sgemm_st(ta, tb, M, N, K, a.data + i * sa, lda, b.data + i * sb, ldb, c.data + i * M * N, N, false);
    }, std::max<int64_t>(1, (int64_t)(262144.0 / std::max(1.0, per))));
  } else {
    for (int64_t i = 0; i < batch; ++i)
      mk::sgemm(ta, tb, M, N, K, a.data + i * sa, lda, b.data + i * sb, ldb, c.data + i * M * N, N, false);
  }
  return env.Undefined();
}

// biasActivation(y, rows, cols, bias | null, act, alpha)
Napi::Value BiasActivation(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 y = f32(info, 0, "y");
  const int64_t rows = num(info, 1, "rows");
  const int cols = (int)num(info, 2, "cols");
  need(env, y, rows * cols, "biasActivation y");
  const float* bias = nullptr;
  int biasLen = 0;
  if (info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined()) {
    F32 bb = f32(info, 3, "bias");
    biasLen = (int)bb.length;
    if (biasLen != 1 && biasLen != cols) throw Napi::RangeError::New(env, "biasActivation: bias must have 1 or cols elements");
    bias = bb.data;
  }
  const int act = (int)num(info, 4, "activation");
  const float alpha = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().FloatValue() : 0.f;
  mk::bias_activation(y.data, rows, cols, bias, biasLen, act, alpha);
  return env.Undefined();
}

#define CONV_BINDING(NAME, FN, IN0, IN0SIZE, IN1, IN1SIZE, OUTSIZE)                 \
  Napi::Value NAME(const Napi::CallbackInfo& info) {                                 \
    auto env = info.Env();                                                           \
    F32 p = f32(info, 0, #IN0), q = f32(info, 1, #IN1), o = f32(info, 2, "out");     \
    mk::ConvGeom g = geom(info, 3);                                                  \
    need(env, p, IN0SIZE, #NAME " " #IN0);                                           \
    need(env, q, IN1SIZE, #NAME " " #IN1);                                           \
    need(env, o, OUTSIZE, #NAME " out");                                             \
    mk::FN(g, p.data, q.data, o.data);                                               \
    return env.Undefined();                                                          \
  }

#define FILTER_SIZE ((int64_t)g.kh * g.kw * g.C * g.Co)
#define DW_FILTER_SIZE ((int64_t)g.kh * g.kw * g.Co)
CONV_BINDING(Conv2D, conv2d, x, in_size(g), w, FILTER_SIZE, out_size(g))
CONV_BINDING(Conv2DBackpropInput, conv2d_backprop_input, dy, out_size(g), w, FILTER_SIZE, in_size(g))
CONV_BINDING(Conv2DBackpropFilter, conv2d_backprop_filter, x, in_size(g), dy, out_size(g), FILTER_SIZE)
CONV_BINDING(Depthwise, depthwise_conv2d, x, in_size(g), w, DW_FILTER_SIZE, out_size(g))
CONV_BINDING(DepthwiseBackpropInput, depthwise_backprop_input, dy, out_size(g), w, DW_FILTER_SIZE, in_size(g))
CONV_BINDING(DepthwiseBackpropFilter, depthwise_backprop_filter, x, in_size(g), dy, out_size(g), DW_FILTER_SIZE)

Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 x = f32(info, 0, "x"), y = f32(info, 1, "out");
  mk::ConvGeom g = geom(info, 2);
  need(env, x, in_size(g), "avgPool x");
  need(env, y, (int64_t)g.N * g.Ho * g.Wo * g.C, "avgPool out");
  mk::avg_pool(g, x.data, y.data);
  return env.Undefined();
}

Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 dy = f32(info, 0, "dy"), dx = f32(info, 1, "out");
  mk::ConvGeom g = geom(info, 2);
  need(env, dy, (int64_t)g.N * g.Ho * g.Wo * g.C, "avgPoolGrad dy");
  need(env, dx, in_size(g), "avgPoolGrad out");
  mk::avg_pool_grad(g, dy.data, dx.data);
  return env.Undefined();
}

// binary(op, a, b, out, geometry Int32Array [rank, shape…, aStride…, bStride…])
Napi::Value Binary(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const int op = (int)num(info, 0, "op");
  F32 a = f32(info, 1, "a"), b = f32(info, 2, "b"), o = f32(info, 3, "out");
  if (info.Length() <= 4 || !info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "binary geometry: expected an Int32Array");
  auto gv = info[4].As<Napi::Int32Array>();
  const int32_t* v = gv.Data();
  const int rank = gv.ElementLength() > 0 ? v[0] : -1;
  if (rank < 1 || rank > mk::kMaxRank || gv.ElementLength() != (size_t)(1 + 3 * rank))
    throw Napi::RangeError::New(env, "binary geometry: bad rank");
  mk::BroadcastGeom g;
  g.rank = rank;
  int64_t size = 1, maxA = 0, maxB = 0;
  for (int d = 0; d < rank; ++d) {
    g.shape[d] = v[1 + d];
    g.aStride[d] = v[1 + rank + d];
    g.bStride[d] = v[1 + 2 * rank + d];
    if (g.shape[d] < 0 || g.aStride[d] < 0 || g.bStride[d] < 0) throw Napi::RangeError::New(env, "binary geometry: negative");
    size *= g.shape[d];
    maxA += (g.shape[d] - 1) * g.aStride[d];
    maxB += (g.shape[d] - 1) * g.bStride[d];
  }
  if (size == 0) return env.Undefined();
  need(env, a, maxA + 1, "binary a");
  need(env, b, maxB + 1, "binary b");
  need(env, o, size, "binary out");
  mk::binary_op(op, g, a.data, b.data, o.data);
  return env.Undefined();
}

// unary(op, x, out, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const int op = (int)num(info, 0, "op");
  F32 x = f32(info, 1, "x"), y = f32(info, 2, "out");
  need(env, y, (int64_t)x.length, "unary out");
  const float alpha = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().FloatValue() : 0.f;
  mk::unary_op(op, x.data, y.data, (int64_t)x.length, alpha);
  return env.Undefined();
}

// clip(x, out, lo, hi)
Napi::Value Clip(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 x = f32(info, 0, "x"), y = f32(info, 1, "out");
  need(env, y, (int64_t)x.length, "clip out");
  mk::clip_op(x.data, y.data, (int64_t)x.length, info[2].As<Napi::Number>().DoubleValue(), info[3].As<Napi::Number>().DoubleValue());
  return env.Undefined();
}

// reduce(op, x, out, k1, r, k2)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const int op = (int)num(info, 0, "op");
  F32 x = f32(info, 1, "x"), o = f32(info, 2, "out");
  const int64_t k1 = num(info, 3, "k1"), r = num(info, 4, "r"), k2 = num(info, 5, "k2");
  if (k1 < 0 || r < 0 || k2 < 0) throw Napi::RangeError::New(env, "reduce: negative size");
  need(env, x, k1 * r * k2, "reduce x");
  need(env, o, k1 * k2, "reduce out");
  mk::reduce_op(op, x.data, o.data, k1, r, k2);
  return env.Undefined();
}

// softmax(x, out, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 x = f32(info, 0, "x"), o = f32(info, 1, "out");
  const int64_t rows = num(info, 2, "rows"), cols = num(info, 3, "cols");
  if (rows < 0 || cols <= 0) throw Napi::RangeError::New(env, "softmax: bad size");
  need(env, x, rows * cols, "softmax x");
  need(env, o, rows * cols, "softmax out");
  mk::softmax_rows(x.data, o.data, rows, cols);
  return env.Undefined();
}

// transpose(x, out, shape Int32Array, perm Int32Array)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 x = f32(info, 0, "x"), o = f32(info, 1, "out");
  for (size_t i : {2u, 3u})
    if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, "transpose: shape and perm must be Int32Arrays");
  auto sh = info[2].As<Napi::Int32Array>();
  auto pe = info[3].As<Napi::Int32Array>();
  const int rank = (int)sh.ElementLength();
  if (rank < 1 || rank > mk::kMaxRank || pe.ElementLength() != (size_t)rank) throw Napi::RangeError::New(env, "transpose: bad rank");
  int64_t shape[mk::kMaxRank];
  int perm[mk::kMaxRank];
  bool seen[mk::kMaxRank] = {false};
  int64_t size = 1;
  for (int d = 0; d < rank; ++d) {
    shape[d] = sh.Data()[d];
    perm[d] = pe.Data()[d];
    if (shape[d] < 0 || perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) throw Napi::RangeError::New(env, "transpose: bad shape or perm");
    seen[perm[d]] = true;
    size *= shape[d];
  }
  if (size == 0) return env.Undefined();
  need(env, x, size, "transpose x");
  need(env, o, size, "transpose out");
  mk::transpose(x.data, o.data, rank, shape, perm);
  return env.Undefined();
}

// setPoolProjected(q, k, v, slots: Int32Array, weights: Float32Array[21], geom: number[8], out)
// weights: sab1 fc_o w,b; sab2 fc_q,fc_k,fc_v,fc_o w,b; PMA seeds; PMA fc_q,fc_k,fc_v,fc_o w,b; out w,b.
// geom: heads, dim, numOutputs, outDim, perSet, sets, capacity, rows (slots must lie in [0, rows)).
Napi::Value SetPoolProjected(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 q = f32(info, 0, "setPoolProjected q"), k = f32(info, 1, "setPoolProjected k"), v = f32(info, 2, "setPoolProjected v");
  if (info.Length() <= 3 || !info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "setPoolProjected slots: expected an Int32Array");
  auto slots = info[3].As<Napi::Int32Array>();
  if (info.Length() <= 5 || !info[4].IsArray() || !info[5].IsArray())
    throw Napi::TypeError::New(env, "setPoolProjected: expected weights and geometry arrays");
  auto wa = info[4].As<Napi::Array>();
  auto ga = info[5].As<Napi::Array>();
  if (ga.Length() != 8) throw Napi::RangeError::New(env, "setPoolProjected geometry: expected 8 integers");
  int64_t gv[8];
  for (uint32_t i = 0; i < 8; ++i) {
    Napi::Value x = ga[i];
    if (!x.IsNumber()) throw Napi::TypeError::New(env, "setPoolProjected geometry: expected numbers");
    gv[i] = x.As<Napi::Number>().Int64Value();
  }
  mk::SetPoolGeom g{(int)gv[0], (int)gv[1], (int)gv[2], (int)gv[3], (int)gv[4], gv[5], gv[6]};
  const int64_t rows = gv[7];
  if (g.heads <= 0 || g.dim <= 0 || g.dim % g.heads != 0 || g.numOutputs <= 0 || g.outDim <= 0 || g.perSet <= 0 || g.sets < 0 ||
      g.capacity < rows || rows < 0)
    throw Napi::RangeError::New(env, "setPoolProjected geometry: invalid");
  const int64_t d = g.dim;
  const int64_t sizes[21] = {d * d, d, d * d, d, d * d, d, d * d, d, d * d, d, g.numOutputs * d,
                             d * d, d, d * d, d, d * d, d, d * d, d, g.outDim * d, g.outDim};
  if (wa.Length() != 21) throw Napi::RangeError::New(env, "setPoolProjected weights: expected 21 arrays");
  const float* p[21];
  for (uint32_t i = 0; i < 21; ++i) {
    Napi::Value x = wa[i];
    if (!x.IsTypedArray() || x.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, "setPoolProjected weights[" + std::to_string(i) + "]: expected a Float32Array");
    auto a = x.As<Napi::Float32Array>();
    if ((int64_t)a.ElementLength() != sizes[i])
      throw Napi::RangeError::New(env, "setPoolProjected weights[" + std::to_string(i) + "]: " + std::to_string(a.ElementLength()) +
                                           " elements, expected " + std::to_string(sizes[i]));
    p[i] = a.Data();
  }
  need(env, q, g.capacity * d, "setPoolProjected q");
  need(env, k, g.capacity * d, "setPoolProjected k");
  need(env, v, g.capacity * d, "setPoolProjected v");
  if ((int64_t)slots.ElementLength() != g.sets * g.perSet)
    throw Napi::RangeError::New(env, "setPoolProjected slots: " + std::to_string(slots.ElementLength()) + " elements, expected sets x perSet = " +
                                         std::to_string(g.sets * g.perSet));
  const int32_t* sl = slots.Data();
  for (int64_t i = 0; i < g.sets * g.perSet; ++i)
    if (sl[i] < 0 || sl[i] >= rows)
      throw Napi::RangeError::New(env, "setPoolProjected slots[" + std::to_string(i) + "] = " + std::to_string(sl[i]) + ": not in [0, " +
                                           std::to_string(rows) + ")");
  F32 o = f32(info, 6, "setPoolProjected out");
  need(env, o, g.sets * g.numOutputs * g.outDim, "setPoolProjected out");
  mk::SetPoolWeights w{{p[0], p[1]}, {p[2], p[3]}, {p[4], p[5]}, {p[6], p[7]}, {p[8], p[9]}, p[10],
                       {p[11], p[12]}, {p[13], p[14]}, {p[15], p[16]}, {p[17], p[18]}, {p[19], p[20]}};
  mk::set_pool_projected(w, g, q.data, k.data, v.data, sl, o.data);
  return env.Undefined();
}

// decodeGraphs(weights: {name: Float64Array, hs, nz, ae2B}, geom: number[6], z: Float32Array, rngState: Uint32Array(4),
//              types: Int32Array, edges: Int32Array, edgeCounts: Int32Array, typeLogits: Float32Array, edgeProbs: Float32Array)
// geom: nvt, maxN, startType, endType, batch, stochastic (0/1).
Napi::Value DecodeGraphs(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 9 || !info[0].IsObject() || !info[1].IsArray()) throw Napi::TypeError::New(env, "decodeGraphs: expected (weights, geometry, z, rngState, types, edges, edgeCounts, typeLogits, edgeProbs)");
  auto wo = info[0].As<Napi::Object>();
  auto ga = info[1].As<Napi::Array>();
  if (ga.Length() != 6) throw Napi::RangeError::New(env, "decodeGraphs geometry: expected 6 integers");
  int64_t gv[6];
  for (uint32_t i = 0; i < 6; ++i) {
    Napi::Value x = ga[i];
    if (!x.IsNumber()) throw Napi::TypeError::New(env, "decodeGraphs geometry: expected numbers");
    gv[i] = x.As<Napi::Number>().Int64Value();
  }
  mk::DecodeGeom g{(int)gv[0], (int)gv[1], (int)gv[2], (int)gv[3], (int)gv[4], gv[5] != 0};
  auto intField = [&](const char* name) -> int64_t {
    Napi::Value x = wo.Get(name);
    if (!x.IsNumber()) throw Napi::TypeError::New(env, std::string("decodeGraphs weights.") + name + ": expected a number");
    return x.As<Napi::Number>().Int64Value();
  };
  const int hs = (int)intField("hs"), nz = (int)intField("nz");
  if (g.nvt < 3 || g.maxN < 2 || g.batch < 0 || hs <= 0 || nz <= 0 || g.startType < 0 || g.startType >= g.nvt || g.endType < 0 || g.endType >= g.nvt)
    throw Napi::RangeError::New(env, "decodeGraphs geometry: invalid");
  auto f64 = [&](const char* name, int64_t n) -> const double* {
    Napi::Value x = wo.Get(name);
    if (!x.IsTypedArray() || x.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw Napi::TypeError::New(env, std::string("decodeGraphs weights.") + name + ": expected a Float64Array");
    auto a = x.As<Napi::Float64Array>();
    if ((int64_t)a.ElementLength() != n)
      throw Napi::RangeError::New(env, std::string("decodeGraphs weights.") + name + ": " + std::to_string(a.ElementLength()) + " elements, expected " + std::to_string(n));
    return a.Data();
  };
  const int64_t h = hs, h3 = 3 * h, e4 = 4 * h, nvt = g.nvt, maxN = g.maxN;
  Napi::Value ae2B = wo.Get("ae2B");
  if (!ae2B.IsNumber()) throw Napi::TypeError::New(env, "decodeGraphs weights.ae2B: expected a number");
  mk::DecoderWeights64 w{hs, nz, f64("fc3W", h * nz), f64("fc3B", h), f64("giByType", nvt * h3), f64("whh", h3 * h), f64("bhh", h3),
                         f64("av0W", 2 * h * h), f64("av0B", 2 * h), f64("av2W", nvt * 2 * h), f64("av2B", nvt), f64("aeOld", e4 * h),
                         f64("aeNew", e4 * h), f64("ae0B", e4), f64("ae2W", e4), ae2B.As<Napi::Number>().DoubleValue(),
                         f64("gateH", h * h), f64("gateByVid", maxN * h), f64("mapH", h * h), f64("mapByVid", maxN * h)};
  F32 z = f32(info, 2, "decodeGraphs z");
  need(env, z, (int64_t)g.batch * nz, "decodeGraphs z");
  auto typed = [&](size_t i, napi_typedarray_type type, int64_t n, const char* what) -> void* {
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type)
      throw Napi::TypeError::New(env, std::string("decodeGraphs ") + what + ": wrong typed array type");
    auto a = info[i].As<Napi::TypedArray>();
    if ((int64_t)a.ElementLength() != n)
      throw Napi::RangeError::New(env, std::string("decodeGraphs ") + what + ": " + std::to_string(a.ElementLength()) + " elements, expected " + std::to_string(n));
    return static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  };
  const int64_t B = g.batch;
  auto* rng = static_cast<uint32_t*>(typed(3, napi_uint32_array, 4, "rngState"));
  auto* types = static_cast<int32_t*>(typed(4, napi_int32_array, B * maxN, "types"));
  auto* edges = static_cast<int32_t*>(typed(5, napi_int32_array, B * (maxN * (maxN - 1) / 2) * 2, "edges"));
  auto* counts = static_cast<int32_t*>(typed(6, napi_int32_array, B, "edgeCounts"));
  auto* logits = static_cast<float*>(typed(7, napi_float32_array, B * std::max<int64_t>(0, maxN - 2) * nvt, "typeLogits"));
  auto* probs = static_cast<float*>(typed(8, napi_float32_array, B * maxN * maxN, "edgeProbs"));
  mk::decode_graphs(w, g, z.data, rng, types, edges, counts, logits, probs);
  return env.Undefined();
}

// stridedCopy(src, dst, geometry Int32Array [rank, shape…, srcStride…, dstStride…, srcOffset, dstOffset])
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 src = f32(info, 0, "src"), dst = f32(info, 1, "dst");
  if (info.Length() <= 2 || !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "stridedCopy geometry: expected an Int32Array");
  auto gv = info[2].As<Napi::Int32Array>();
  const int32_t* v = gv.Data();
  const int rank = gv.ElementLength() > 0 ? v[0] : -1;
  if (rank < 1 || rank > mk::kMaxRank || gv.ElementLength() != (size_t)(3 + 3 * rank))
    throw Napi::RangeError::New(env, "stridedCopy geometry: bad rank");
  mk::StridedGeom g;
  g.rank = rank;
  g.srcOffset = v[1 + 3 * rank];
  g.dstOffset = v[2 + 3 * rank];
  int64_t size = 1, maxS = g.srcOffset, maxD = g.dstOffset;
  for (int d = 0; d < rank; ++d) {
    g.shape[d] = v[1 + d];
    g.srcStride[d] = v[1 + rank + d];
    g.dstStride[d] = v[1 + 2 * rank + d];
    if (g.shape[d] < 0 || g.srcStride[d] < 0 || g.dstStride[d] < 0) throw Napi::RangeError::New(env, "stridedCopy geometry: negative");
    size *= g.shape[d];
    maxS += (g.shape[d] - 1) * g.srcStride[d];
    maxD += (g.shape[d] - 1) * g.dstStride[d];
  }
  if (g.srcOffset < 0 || g.dstOffset < 0) throw Napi::RangeError::New(env, "stridedCopy geometry: negative offset");
  if (size == 0) return env.Undefined();
  need(env, src, maxS + 1, "stridedCopy src");
  need(env, dst, maxD + 1, "stridedCopy dst");
  mk::strided_copy(src.data, dst.data, g);
  return env.Undefined();
}

// adamUpdate(p, m, v, g, pOut, mOut, vOut, scalars Float32Array [β1, 1−β1, β2, 1−β2, √bc2, ε, stepSize])
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 p = f32(info, 0, "p"), m = f32(info, 1, "m"), v = f32(info, 2, "v"), g = f32(info, 3, "g");
  F32 po = f32(info, 4, "pOut"), mo = f32(info, 5, "mOut"), vo = f32(info, 6, "vOut"), sc = f32(info, 7, "scalars");
  const int64_t n = (int64_t)p.length;
  for (const F32* a : {&m, &v, &g, &po, &mo, &vo}) need(env, *a, n, "adamUpdate");
  need(env, sc, 7, "adamUpdate scalars");
  const mk::AdamScalars s{sc.data[0], sc.data[1], sc.data[2], sc.data[3], sc.data[4], sc.data[5], sc.data[6]};
  mk::adam_update(p.data, m.data, v.data, g.data, po.data, mo.data, vo.data, n, s);
  return env.Undefined();
}

// sgdUpdate(p, buf, g, pOut, bufOut, scalars Float32Array [lr, μ, wd], nesterov)
Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 p = f32(info, 0, "p"), b = f32(info, 1, "buf"), g = f32(info, 2, "g"), po = f32(info, 3, "pOut"),
      bo = f32(info, 4, "bufOut"), sc = f32(info, 5, "scalars");
  const int64_t n = (int64_t)p.length;
  for (const F32* a : {&b, &g, &po, &bo}) need(env, *a, n, "sgdUpdate");
  need(env, sc, 3, "sgdUpdate scalars");
  const mk::SgdScalars s{sc.data[0], sc.data[1], sc.data[2], info.Length() > 6 && info[6].ToBoolean().Value()};
  mk::sgd_update(p.data, b.data, g.data, po.data, bo.data, n, s);
  return env.Undefined();
}

bool g_malloc_tuned = false;
bool tune_malloc_state() { return g_malloc_tuned; }

// batchNormTrain(x, gamma, beta, y, mean, variance, M, C, eps)
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 x = f32(info, 0, "x"), gamma = f32(info, 1, "gamma"), beta = f32(info, 2, "beta"), y = f32(info, 3, "y"),
      mean = f32(info, 4, "mean"), var = f32(info, 5, "variance");
  const int64_t M = num(info, 6, "M"), C = num(info, 7, "C");
  if (M < 0 || C <= 0 || C > (int64_t)1 << 30) throw Napi::RangeError::New(env, "batchNormTrain: invalid size");
  const double eps = info[8].As<Napi::Number>().DoubleValue();
  need(env, x, M * C, "batchNormTrain x");
  need(env, y, M * C, "batchNormTrain y");
  for (const F32* a : {&gamma, &beta, &mean, &var}) need(env, *a, C, "batchNormTrain per-channel array");
  mk::batchnorm_train(x.data, gamma.data, beta.data, (float)eps, M, (int)C, y.data, mean.data, var.data);
  return env.Undefined();
}

// batchNormInfer(x, mean, variance, offset | null, scale | null, y, M, C, eps)
Napi::Value BatchNormInfer(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 x = f32(info, 0, "x"), mean = f32(info, 1, "mean"), var = f32(info, 2, "variance"), y = f32(info, 5, "y");
  const bool hasOffset = !info[3].IsNull(), hasScale = !info[4].IsNull();
  F32 offset = hasOffset ? f32(info, 3, "offset") : F32{}, scale = hasScale ? f32(info, 4, "scale") : F32{};
  const int64_t M = num(info, 6, "M"), C = num(info, 7, "C");
  if (M < 0 || C <= 0 || C > (int64_t)1 << 30) throw Napi::RangeError::New(env, "batchNormInfer: invalid size");
  const double eps = info[8].As<Napi::Number>().DoubleValue();
  need(env, x, M * C, "batchNormInfer x");
  need(env, y, M * C, "batchNormInfer y");
  need(env, mean, C, "batchNormInfer mean");
  need(env, var, C, "batchNormInfer variance");
  if (hasOffset) need(env, offset, C, "batchNormInfer offset");
  if (hasScale) need(env, scale, C, "batchNormInfer scale");
  mk::batchnorm_infer(x.data, mean.data, var.data, hasOffset ? offset.data : nullptr, hasScale ? scale.data : nullptr, eps, M, (int)C, y.data);
  return env.Undefined();
}

// reluConvBnTrain(x, filterOihw, gamma, beta, y, mean, variance, activated, conv, geometry, relu, eps)
Napi::Value ReluConvBnTrain(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 x = f32(info, 0, "x"), w = f32(info, 1, "filter"), gamma = f32(info, 2, "gamma"), beta = f32(info, 3, "beta"),
      y = f32(info, 4, "y"), mean = f32(info, 5, "mean"), var = f32(info, 6, "variance"),
      act = f32(info, 7, "activated"), conv = f32(info, 8, "conv");
  mk::ConvGeom g = geom(info, 9);
  const bool relu = info[10].ToBoolean();
  const double eps = info[11].As<Napi::Number>().DoubleValue();
  need(env, x, in_size(g), "reluConvBnTrain x");
  need(env, act, in_size(g), "reluConvBnTrain activated");
  need(env, w, FILTER_SIZE, "reluConvBnTrain filter");
  for (const F32* a : {&y, &conv}) need(env, *a, out_size(g), "reluConvBnTrain [N, Ho, Wo, Co] array");
  for (const F32* a : {&gamma, &beta, &mean, &var}) need(env, *a, g.Co, "reluConvBnTrain per-channel array");
  mk::relu_conv_bn_train(g, relu, (float)eps, x.data, w.data, gamma.data, beta.data, y.data, mean.data, var.data,
                         act.data, conv.data);
  return env.Undefined();
}

// reluConvBnTrainGrad(dy, dmean|null, dvariance|null, activated, conv, filterOihw, gamma, mean, variance,
//                     dx|null, dfilter, dgamma, dbeta, geometry, relu, eps) — dx null: no input gradient
Napi::Value ReluConvBnTrainGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 dy = f32(info, 0, "dy");
  const bool hasDmean = !info[1].IsNull() && !info[1].IsUndefined();
  const bool hasDvar = !info[2].IsNull() && !info[2].IsUndefined();
  const bool hasDx = !info[9].IsNull() && !info[9].IsUndefined();
  F32 dmean = hasDmean ? f32(info, 1, "dmean") : F32{nullptr, 0}, dvar = hasDvar ? f32(info, 2, "dvariance") : F32{nullptr, 0};
  F32 act = f32(info, 3, "activated"), conv = f32(info, 4, "conv"), w = f32(info, 5, "filter"),
      gamma = f32(info, 6, "gamma"), mean = f32(info, 7, "mean"), var = f32(info, 8, "variance"),
      dx = hasDx ? f32(info, 9, "dx") : F32{nullptr, 0}, dw = f32(info, 10, "dfilter"), dgamma = f32(info, 11, "dgamma"), dbeta = f32(info, 12, "dbeta");
  mk::ConvGeom g = geom(info, 13);
  const bool relu = info[14].ToBoolean();
  const double eps = info[15].As<Napi::Number>().DoubleValue();
  need(env, act, in_size(g), "reluConvBnTrainGrad [N, H, W, C] array");
  if (hasDx) need(env, dx, in_size(g), "reluConvBnTrainGrad [N, H, W, C] array");
  for (const F32* a : {&dy, &conv}) need(env, *a, out_size(g), "reluConvBnTrainGrad [N, Ho, Wo, Co] array");
  for (const F32* a : {&w, &dw}) need(env, *a, FILTER_SIZE, "reluConvBnTrainGrad filter");
  for (const F32* a : {&gamma, &mean, &var, &dgamma, &dbeta}) need(env, *a, g.Co, "reluConvBnTrainGrad per-channel array");
  if (hasDmean) need(env, dmean, g.Co, "reluConvBnTrainGrad dmean");
  if (hasDvar) need(env, dvar, g.Co, "reluConvBnTrainGrad dvariance");
  mk::relu_conv_bn_train_grad(g, relu, (float)eps, dy.data, hasDmean ? dmean.data : nullptr, hasDvar ? dvar.data : nullptr,
                              act.data, conv.data, w.data, gamma.data, mean.data, var.data, dx.data, dw.data,
                              dgamma.data, dbeta.data);
  return env.Undefined();
}

// batchNormTrainGrad(dy, x, gamma, mean, variance, dmean|null, dvariance|null, dx, dgamma, dbeta, M, C, eps)
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  F32 dy = f32(info, 0, "dy"), x = f32(info, 1, "x"), gamma = f32(info, 2, "gamma"), mean = f32(info, 3, "mean"),
      var = f32(info, 4, "variance");
  const bool hasDmean = !info[5].IsNull() && !info[5].IsUndefined(), hasDvar = !info[6].IsNull() && !info[6].IsUndefined();
  F32 dmean = hasDmean ? f32(info, 5, "dmean") : F32{nullptr, 0}, dvar = hasDvar ? f32(info, 6, "dvariance") : F32{nullptr, 0};
  F32 dx = f32(info, 7, "dx"), dgamma = f32(info, 8, "dgamma"), dbeta = f32(info, 9, "dbeta");
  const int64_t M = num(info, 10, "M"), C = num(info, 11, "C");
  if (M < 0 || C <= 0 || C > (int64_t)1 << 30) throw Napi::RangeError::New(env, "batchNormTrainGrad: invalid size");
  const double eps = info[12].As<Napi::Number>().DoubleValue();
  for (const F32* a : {&dy, &x, &dx}) need(env, *a, M * C, "batchNormTrainGrad [M, C] array");
  for (const F32* a : {&gamma, &mean, &var, &dgamma, &dbeta}) need(env, *a, C, "batchNormTrainGrad per-channel array");
  if (hasDmean) need(env, dmean, C, "batchNormTrainGrad dmean");
  if (hasDvar) need(env, dvar, C, "batchNormTrainGrad dvariance");
  mk::batchnorm_train_grad(dy.data, x.data, gamma.data, mean.data, var.data, dmean.data, dvar.data, (float)eps, M,
                           (int)C, dx.data, dgamma.data, dbeta.data);
  return env.Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("gemm", mk::gemm_impl());
  o.Set("threads", mk::num_threads());
  o.Set("spinMicroseconds", mk::spin_microseconds());
  o.Set("conv8x8", mk::conv2d_8x8_kernel());
  o.Set("mallocTuned", tune_malloc_state());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  mk::set_num_threads((int)num(info, 0, "threads"));
  return Napi::Number::New(info.Env(), mk::num_threads());
}

// glibc serves every allocation above 128 KiB-32 MiB (dynamic threshold) with a fresh mmap and
// returns it to the kernel on free: each new tensor buffer (tfjs allocates one per kernel output,
// zero-filled by V8's calloc) then costs a page fault per 4 KiB page, which measured more than
// the arithmetic of the element-wise kernels of a training step (NB201 full config: 49 s -> 21 s
// per step with these settings). Keep big buffers in the heap and reuse them instead.
// METAD2A_MALLOC_TUNE=off leaves the allocator alone.
bool tune_malloc() {
#if defined(__GLIBC__)
  const char* v = std::getenv("METAD2A_MALLOC_TUNE");
  if (v && std::strcmp(v, "off") == 0) return false;
  bool ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1;  // glibc's maximum on 64-bit
  ok = (mallopt(M_TRIM_THRESHOLD, -1) == 1) && ok;  // -1: never give the heap top back (man mallopt)
  return ok;
#else
  return false;
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  g_malloc_tuned = tune_malloc();
  exports.Set("matmul", Napi::Function::New(env, MatMul));
  exports.Set("biasActivation", Napi::Function::New(env, BiasActivation));
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
  exports.Set("depthwiseConv2d", Napi::Function::New(env, Depthwise));
  exports.Set("depthwiseBackpropInput", Napi::Function::New(env, DepthwiseBackpropInput));
  exports.Set("depthwiseBackpropFilter", Napi::Function::New(env, DepthwiseBackpropFilter));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("setPoolProjected", Napi::Function::New(env, SetPoolProjected));
  exports.Set("decodeGraphs", Napi::Function::New(env, DecodeGraphs));
  exports.Set("sgdUpdate", Napi::Function::New(env, SgdUpdate));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("batchNormInfer", Napi::Function::New(env, BatchNormInfer));
  exports.Set("clip", Napi::Function::New(env, Clip));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad));
  exports.Set("reluConvBnTrain", Napi::Function::New(env, ReluConvBnTrain));
  exports.Set("reluConvBnTrainGrad", Napi::Function::New(env, ReluConvBnTrainGrad));
  // this build's reluConvBnTrainGrad accepts a null dx (older builds require the array)
  exports.Set("reluConvBnTrainGradOptionalDx", Napi::Boolean::New(env, true));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  return exports;
}

}  // namespace

NODE_API_MODULE(metad2a_kernels, Init)
