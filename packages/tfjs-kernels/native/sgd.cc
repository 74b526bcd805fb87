// Fused SGD update (torch.optim.SGD with momentum buffer, dampening 0, optional Nesterov and L2
// weight decay), one pass over a parameter, its gradient and its momentum buffer instead of ~7
// element-wise kernels. Every step is rounded to float32 in the order of the composite tfjs ops in
// @metad2a/layers' SGD (no FMA contraction), so both paths agree:
//   g' = g + p·wd;  b' = b·μ + g';  d = g' + b'·μ (Nesterov) or b';  p' = p − d·lr
#pragma GCC optimize("fp-contract=off")
#include <algorithm>

#include "kernels.h"

namespace mk {

void sgd_update(const float* p, const float* b, const float* g, float* pOut, float* bOut, int64_t n,
                const SgdScalars& s) {
  auto body = [&](int64_t i0, int64_t i1) {
    const SgdScalars k = s;
    for (int64_t i = i0; i < i1; ++i) {
      const float decayed = k.weightDecay != 0.f ? g[i] + p[i] * k.weightDecay : g[i];
      const float b1 = b[i] * k.momentum + decayed;
      const float d = k.nesterov ? decayed + b1 * k.momentum : b1;
      bOut[i] = b1;
      pOut[i] = p[i] - d * k.lr;
    }
  };
  if (n < 32768)
    body(0, n);
  else
    parallel_for(n, body, 16384);
}

}  // namespace mk
