// MetaD2A's batched graph decoding (D-VAE decoder, spec §2.4, §8 items 13-14): the same algorithm,
// float64 arithmetic, caching and random-draw order as `decodeBatch` of @metad2a/graph-generator
// (packages/graph-generator/src/sampling.ts), whose comments explain each step. The random stream
// is xoshiro128** with the same uniform() and categorical() as @metad2a/core's Rng, so a seed gives
// the same graphs as the TypeScript decoder (up to the last bit of exp/tanh, which would flip a
// draw only if it fell within ~1e-16 of a threshold).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace mk {
namespace {

struct Xoshiro128 {
  uint32_t s[4];
  static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  uint32_t next() {
    const uint32_t result = rotl(s[1] * 5u, 7) * 9u;
    const uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  double uniform() {
    const double a = (double)(next() >> 5), b = (double)(next() >> 6);
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  int categorical(const double* w, int n) {
    double total = 0;
    for (int i = 0; i < n; ++i) total += w[i];
    double u = uniform() * total;
    for (int i = 0; i < n; ++i) {
      u -= w[i];
      if (u < 0) return i;
    }
    return n - 1;
  }
};

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// out[o] = (b ? b[bo + o] : 0) + sum_i W[o, i] x[i]  (W row-major [nOut, nIn], summed in i order)
inline void affine(const double* W, const double* b, const double* x, double* out, int nOut, int nIn) {
  for (int o = 0; o < nOut; ++o) {
    double s = b ? b[o] : 0.0;
    const double* r = W + (int64_t)o * nIn;
    for (int i = 0; i < nIn; ++i) s += r[i] * x[i];
    out[o] = s;
  }
}

}  // namespace

void decode_graphs(const DecoderWeights64& w, const DecodeGeom& g, const float* z, uint32_t* rngState, int32_t* types,
                   int32_t* edges, int32_t* edgeCounts, float* typeLogits, float* edgeProbs) {
  const int hs = w.hs, nz = w.nz, nvt = g.nvt, maxN = g.maxN, B = g.batch;
  const int h3 = 3 * hs, e4 = 4 * hs;
  const int maxEdges = maxN * (maxN - 1) / 2;
  Xoshiro128 rng{{rngState[0], rngState[1], rngState[2], rngState[3]}};
  std::vector<double> H((size_t)B * maxN * hs), MSG((size_t)B * maxN * hs), GH((size_t)B * maxN * h3), EA((size_t)B * maxN * e4);
  std::vector<int32_t> outDeg((size_t)B * maxN, 0), ntypes(B, 1);
  std::vector<uint8_t> finished(B, 0), deciding(B, 0);
  std::fill(types, types + (int64_t)B * maxN, -1);
  std::fill(edgeCounts, edgeCounts + B, 0);
  if (maxN > 2) std::fill(typeLogits, typeLogits + (int64_t)B * (maxN - 2) * nvt, NAN);
  std::fill(edgeProbs, edgeProbs + (int64_t)B * maxN * maxN, -1.f);
  std::vector<double> gh(h3), hidden2(2 * hs), logits(nvt), gbuf(hs), mp(hs), tmp(hs), hNew(hs), zRow(nz), zeros(hs, 0.0);

  auto gru = [&](int type, const double* hin) {
    const double* gi = w.giByType + (int64_t)type * h3;
    for (int j = 0; j < hs; ++j) {
      const double r = sigmoid(gi[j] + gh[j]);
      const double zz = sigmoid(gi[hs + j] + gh[hs + j]);
      const double n = std::tanh(gi[2 * hs + j] + r * gh[2 * hs + j]);
      hNew[j] = (1 - zz) * n + zz * hin[j];
    }
  };
  auto finalize = [&](int b, int v) {
    const int64_t base = ((int64_t)b * maxN + v) * hs;
    std::copy(hNew.begin(), hNew.end(), H.begin() + base);
    affine(w.gateH, w.gateByVid + (int64_t)v * hs, hNew.data(), gbuf.data(), hs, hs);
    affine(w.mapH, w.mapByVid + (int64_t)v * hs, hNew.data(), mp.data(), hs, hs);
    for (int j = 0; j < hs; ++j) MSG[base + j] = sigmoid(gbuf[j]) * mp[j];
    affine(w.whh, nullptr, MSG.data() + base, GH.data() + ((int64_t)b * maxN + v) * h3, h3, hs);
    affine(w.aeOld, nullptr, hNew.data(), EA.data() + ((int64_t)b * maxN + v) * e4, e4, hs);
  };
  auto addEdge = [&](int b, int from, int to) {
    int32_t* e = edges + ((int64_t)b * maxEdges + edgeCounts[b]) * 2;
    e[0] = from;
    e[1] = to;
    edgeCounts[b]++;
    outDeg[(int64_t)b * maxN + from]++;
  };

  // vertex 0: START, with H_in := tanh(fc3(z))
  for (int b = 0; b < B; ++b) {
    types[(int64_t)b * maxN] = g.startType;
    for (int i = 0; i < nz; ++i) zRow[i] = z[(int64_t)b * nz + i];
    affine(w.fc3W, w.fc3B, zRow.data(), tmp.data(), hs, nz);
    for (int j = 0; j < hs; ++j) tmp[j] = std::tanh(tmp[j]);
    affine(w.whh, w.bhh, tmp.data(), gh.data(), h3, hs);
    gru(g.startType, tmp.data());
    finalize(b, 0);
  }

  std::vector<double> NEW((size_t)B * hs), NEWHIN((size_t)B * hs), NEWGH((size_t)B * h3), EB((size_t)B * e4);
  std::vector<int32_t> newType(B);
  for (int idx = 1; idx < maxN; ++idx) {
    // 1. types
    for (int b = 0; b < B; ++b) {
      if (finished[b]) continue;
      int t;
      if (idx == maxN - 1) {
        t = g.endType;
      } else {
        const double* hb = H.data() + ((int64_t)b * maxN + idx - 1) * hs;
        affine(w.av0W, w.av0B, hb, hidden2.data(), 2 * hs, hs);
        for (int o = 0; o < 2 * hs; ++o)
          if (hidden2[o] < 0) hidden2[o] = 0;
        affine(w.av2W, w.av2B, hidden2.data(), logits.data(), nvt, 2 * hs);
        float* lo = typeLogits + ((int64_t)b * (maxN - 2) + idx - 1) * nvt;
        for (int k = 0; k < nvt; ++k) lo[k] = (float)logits[k];
        if (g.stochastic) {
          double mx = -INFINITY;
          for (int k = 0; k < nvt; ++k) mx = std::max(mx, logits[k]);
          for (int k = 0; k < nvt; ++k) logits[k] = std::exp(logits[k] - mx);
          t = rng.categorical(logits.data(), nvt);
        } else {
          t = 0;
          for (int k = 1; k < nvt; ++k)
            if (logits[k] > logits[t]) t = k;
        }
      }
      newType[b] = t;
      types[(int64_t)b * maxN + ntypes[b]++] = t;
      if (t == g.endType) {
        for (int v = 0; v < idx; ++v)
          if (outDeg[(int64_t)b * maxN + v] == 0) addEdge(b, v, idx);
        finished[b] = 1;
        continue;
      }
      deciding[b] = 1;
      std::copy(w.bhh, w.bhh + h3, gh.begin());
      gru(t, zeros.data());
      std::copy(hNew.begin(), hNew.end(), NEW.begin() + (int64_t)b * hs);
      std::fill(NEWHIN.begin() + (int64_t)b * hs, NEWHIN.begin() + (int64_t)(b + 1) * hs, 0.0);
      std::copy(w.bhh, w.bhh + h3, NEWGH.begin() + (int64_t)b * h3);
      affine(w.aeNew, w.ae0B, hNew.data(), EB.data() + (int64_t)b * e4, e4, hs);
    }
    // 3. edges vi -> idx, vi = idx-1 ... 0, all deciding graphs together
    for (int vi = idx - 1; vi >= 0; --vi) {
      for (int b = 0; b < B; ++b) {
        if (!deciding[b]) continue;
        const double* ea = EA.data() + ((int64_t)b * maxN + vi) * e4;
        double* eb = EB.data() + (int64_t)b * e4;
        double s = w.ae2B;
        for (int o = 0; o < e4; ++o) {
          const double a = ea[o] + eb[o];
          if (a > 0) s += w.ae2W[o] * a;
        }
        const double p = sigmoid(s);
        edgeProbs[((int64_t)b * maxN + vi) * maxN + idx] = (float)p;
        const bool add = g.stochastic ? rng.uniform() < p : p > 0.5;
        if (!add) continue;
        addEdge(b, vi, idx);
        double* hin = NEWHIN.data() + (int64_t)b * hs;
        const double* msg = MSG.data() + ((int64_t)b * maxN + vi) * hs;
        for (int j = 0; j < hs; ++j) hin[j] += msg[j];
        double* ngh = NEWGH.data() + (int64_t)b * h3;
        const double* ghv = GH.data() + ((int64_t)b * maxN + vi) * h3;
        for (int j = 0; j < h3; ++j) gh[j] = ngh[j] += ghv[j];
        gru(newType[b], hin);
        std::copy(hNew.begin(), hNew.end(), NEW.begin() + (int64_t)b * hs);
        affine(w.aeNew, w.ae0B, hNew.data(), eb, e4, hs);
      }
    }
    for (int b = 0; b < B; ++b) {
      if (!deciding[b]) continue;
      std::copy(NEW.begin() + (int64_t)b * hs, NEW.begin() + (int64_t)(b + 1) * hs, hNew.begin());
      finalize(b, idx);
      deciding[b] = 0;
    }
  }
  for (int i = 0; i < 4; ++i) rngState[i] = rng.s[i];
}

}  // namespace mk
