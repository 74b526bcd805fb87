// Strided copies: the data movement of Slice, SplitV, Unpack, PadV2 and Tile (tfjs-cpu runs these
// element by element through index arithmetic in JS, which showed up as whole milliseconds per
// call in a meta-training step).
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace mk {

void strided_copy(const float* src, float* dst, const StridedGeom& g) {
  const int r = g.rank;
  const int64_t inner = g.shape[r - 1];
  const int64_t sIn = g.srcStride[r - 1], dIn = g.dstStride[r - 1];
  int64_t outer = 1;
  for (int d = 0; d < r - 1; ++d) outer *= g.shape[d];
  auto rows = [&](int64_t b0, int64_t b1) {
    int64_t idx[kMaxRank] = {0};
    unravel_index(b0, g.shape, r - 1, idx);
    for (int64_t row = b0; row < b1; ++row) {
      int64_t s = g.srcOffset, t = g.dstOffset;
      for (int d = 0; d < r - 1; ++d) {
        s += idx[d] * g.srcStride[d];
        t += idx[d] * g.dstStride[d];
      }
      const float* in = src + s;
      float* o = dst + t;
      if (sIn == 1 && dIn == 1)
        std::memcpy(o, in, sizeof(float) * inner);
      else
        for (int64_t i = 0; i < inner; ++i) o[i * dIn] = in[i * sIn];
      next_index(g.shape, r - 1, idx);
    }
  };
  if (outer * inner < 65536)
    rows(0, outer);
  else
    parallel_for(outer, rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, inner)));
}

}  // namespace mk
