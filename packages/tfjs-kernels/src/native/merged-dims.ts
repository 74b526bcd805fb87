/** One dimension of an element loop over two arrays: its size and the element stride in each. */
export interface LoopDim {
  n: number;
  a: number;
  b: number;
}

/**
 * The loop dims of `shape` walked over two arrays with strides `a` and `b`: size-1 dims dropped,
 * and a dim merged into its left neighbour when both arrays are contiguous across the two (so a
 * contiguous block becomes one inner loop). Empty when every dim has size 1.
 */
export function mergedLoopDims(shape: readonly number[], a: readonly number[], b: readonly number[]): LoopDim[] {
  const dims: LoopDim[] = [];
  shape.forEach((n, i) => {
    if (n === 1) return;
    const cur = { n, a: a[i]!, b: b[i]! };
    const prev = dims[dims.length - 1];
    if (prev && prev.a === cur.a * cur.n && prev.b === cur.b * cur.n) {
      prev.n *= cur.n;
      prev.a = cur.a;
      prev.b = cur.b;
    } else {
      dims.push(cur);
    }
  });
  return dims;
}
