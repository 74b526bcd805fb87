// Fused Adam update (torch.optim.Adam without weight decay), one pass over a parameter and its
// two slots instead of ~11 element-wise kernels. Every step is rounded to float32 in the order of
// the composite tfjs ops in @metad2a/layers' Adam (no FMA contraction), so both paths agree:
//   m' = m·β1 + g·(1−β1);  v' = v·β2 + (g·g)·(1−β2);
//   p' = p − (m' / (√v' / √bc2 + ε))·stepSize
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace mk {

void adam_update(const float* p, const float* m, const float* v, const float* g, float* pOut, float* mOut, float* vOut,
                 int64_t n, const AdamScalars& s) {
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = g[i];
      const float ma = m[i] * s.beta1;
      const float mb = gi * s.oneMinusBeta1;
      const float m1 = ma + mb;
      const float va = v[i] * s.beta2;
      const float g2 = gi * gi;
      const float vb = g2 * s.oneMinusBeta2;
      const float v1 = va + vb;
      const float root = std::sqrt(v1);
      const float scaled = root / s.sqrtBc2;
      const float denom = scaled + s.eps;
      const float ratio = m1 / denom;
      const float delta = ratio * s.stepSize;
      mOut[i] = m1;
      vOut[i] = v1;
      pOut[i] = p[i] - delta;
    }
  };
  if (n < 32768)
    body(0, n);
  else
    parallel_for(n, body, 16384);
}

}  // namespace mk
