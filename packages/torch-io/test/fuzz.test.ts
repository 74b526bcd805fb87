import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, Rng } from '@metad2a/core';
import { decodePtSync, featureSetFromByLabel, stateDictToNamedArrays, type PtContents } from '../src';
import { DATA, FIXTURES } from './helpers';

/** Every outcome of decoding a damaged file must be a value or a named, anticipated error. */
function outcome(bytes: Uint8Array, verifyCrc: boolean): 'value' | 'error' {
  let r: PtContents;
  try {
    r = decodePtSync(bytes, { source: 'fuzz.pt', verifyCrc });
  } catch (e) {
    if (!(e instanceof MetaD2AException)) throw new Error(`not a named error: ${String((e as Error)?.stack ?? e)}`);
    // 'internal' marks a JavaScript error the reader's own checks did not anticipate.
    if (e.error.field === 'internal') throw new Error(`unanticipated failure: ${e.message}\n${String((e.error.cause as Error)?.stack)}`);
    return 'error';
  }
  // Adapters on damaged values also end in values or named errors.
  for (const adapt of [() => stateDictToNamedArrays(r.root), () => featureSetFromByLabel(r.root)]) {
    try {
      adapt();
    } catch (e) {
      if (!(e instanceof MetaD2AException)) throw new Error(`adapter: not a named error: ${String((e as Error)?.stack ?? e)}`);
    }
  }
  return 'value';
}

const corpus: [string, number][] = [
  // [file, mutations]
  [path.join(FIXTURES, 'gru-golden', 'state_dict.pt'), 80],
  [path.join(DATA, 'synthetic', 'variety_p2.pt'), 120],
  [path.join(DATA, 'synthetic', 'variety_p4.pt'), 80],
  [path.join(DATA, 'synthetic', 'variety_legacy.pt'), 120],
  [path.join(DATA, 'synthetic', 'variety_deflated.pt'), 60],
  [path.join(DATA, 'synthetic', 'tinybylabel.pt'), 60],
  [path.join(DATA, 'metad2a-nb201', 'meta_train_tasks_predictor_idx.pt'), 60],
  [path.join(FIXTURES, 'pred-nb201', 'state_dict_legacy.pt'), 16],
];

describe('fuzz: mutated real files give values or named errors, never a crash or a hang', () => {
  test.each(corpus)('%s', (file, n) => {
    const original = new Uint8Array(fs.readFileSync(file));
    expect(outcome(original, true)).toBe('value');
    const rng = new Rng(20261128 + n);
    // The pickle region gets most flips: the zip's data.pkl / the legacy file's first pickles.
    const hot = Math.min(original.length, original[0] === 0x50 ? 4096 : 2048);
    const counts = { value: 0, error: 0 };
    const t0 = Date.now();
    let slowest = 0;
    for (let i = 0; i < n; i++) {
      const b = original.slice();
      let mutated = b;
      const kind = i % 4;
      if (kind === 0)
        mutated = b.subarray(0, rng.int(b.length)); // truncated
      else if (kind === 1 || kind === 2) {
        const flips = 1 + rng.int(4);
        for (let k = 0; k < flips; k++) b[rng.int(kind === 1 ? hot : b.length)]! ^= 1 << rng.int(8);
      } else {
        // a random byte overwritten with a random value, plus a truncation near the end
        b[rng.int(hot)] = rng.int(256);
        mutated = b.subarray(0, b.length - rng.int(64));
      }
      const s = Date.now();
      counts[outcome(mutated, i % 3 === 0)]++;
      slowest = Math.max(slowest, Date.now() - s);
    }
    // Truncations at evenly spaced points of the whole file.
    for (let k = 1; k < 40; k++) counts[outcome(original.subarray(0, Math.floor((original.length * k) / 40)), true)]++;
    if (process.env.FUZZ_VERBOSE) console.log(path.basename(file), counts, slowest);
    expect(counts.value + counts.error).toBe(n + 39);
    expect(counts.error).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(3000);
    expect(Date.now() - t0).toBeLessThan(10000);
  });
});
