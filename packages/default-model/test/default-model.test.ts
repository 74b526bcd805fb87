import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, Rng } from '@metad2a/core';
import { loadSearchModel, runSearch } from '@metad2a/search';
import { defaultModelDir, defaultModelSpaces } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('the embedded default model', () => {
  it('ships for nb201 only, as a complete model directory within the size budget', () => {
    expect(defaultModelSpaces()).toEqual(['nb201']);
    expect(defaultModelDir('mbv3')).toBeUndefined();
    const dir = defaultModelDir('nb201')!;
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(expect.arrayContaining(['evaluation.json', 'generator.safetensors', 'model.json', 'predictor.safetensors']));
    const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(25 * 1024 * 1024);
  });

  it('loads and searches: N unique valid NB201 cells, deterministic for a seed', async () => {
    const model = await loadSearchModel(defaultModelDir('nb201')!);
    expect(model.manifest.space).toBe('nb201');
    expect([...model.generator.parameters().values()].reduce((n, v) => n + v.size, 0)).toBe(304200);
    const rng = new Rng(5);
    const data = { name: 'toy', dim: 512, classes: [0, 1, 2, 3].map((c) => ({ label: String(c), count: 25, data: rng.normalArray(25 * 512, c * 0.1) })) };
    const a = await runSearch(model, data, { candidates: 20, resamples: 2, seed: 3 });
    const b = await runSearch(model, data, { candidates: 20, resamples: 2, seed: 3 });
    expect(a.ranking).toHaveLength(20);
    expect(new Set(a.ranking.map((c) => c.arch)).size).toBe(20);
    expect(b.ranking.map((c) => c.arch)).toEqual(a.ranking.map((c) => c.arch));
    model.dispose();
  });

  it('records an honest evaluation on held-out tasks', () => {
    const ev = JSON.parse(fs.readFileSync(path.join(defaultModelDir('nb201')!, 'evaluation.json'), 'utf8'));
    expect(ev.heldOutDataset).toBe('builtin:digits');
    expect(ev.rows.length).toBe(ev.tasks);
    for (const r of ev.rows) {
      expect(r.metad2aBestOfTop5).toBeGreaterThanOrEqual(r.metad2aTop1);
      expect(r.databaseBest).toBeGreaterThanOrEqual(r.databaseMean);
      expect(Math.abs(r.predictorSpearman)).toBeLessThanOrEqual(1);
    }
  });
});
