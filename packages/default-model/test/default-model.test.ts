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

  it('records its held-out transfer evaluation (metad2a bench transfer on plan nb201-heldout-v1) and its extractor', () => {
    const dir = defaultModelDir('nb201')!;
    const ev = JSON.parse(fs.readFileSync(path.join(dir, 'evaluation.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(manifest.extractor.name).toBe('random-conv');
    expect(manifest.provenance.builtBy).toBe('tools/default-model/build.ts');
    expect(ev.plan.name).toBe('nb201-heldout-v1');
    expect(ev.settings.seeds).toEqual([0, 1, 2]);
    // 20 tasks over the 5 held-out sources, none of them a meta-training source
    expect(ev.tasks).toHaveLength(20);
    expect(new Set(ev.tasks.map((t: { source: string }) => t.source)).size).toBe(5);
    for (const t of ev.tasks) {
      expect(t.random.count).toBeGreaterThanOrEqual(30);
      expect(t.seeds).toHaveLength(3);
      for (const m of ev.methods) {
        expect(t.methods[m].accuracy).toBeLessThanOrEqual(t.bestKnown.accuracy);
        expect(t.methods[m].percentile).toBeGreaterThanOrEqual(0);
        expect(t.methods[m].percentile).toBeLessThanOrEqual(100);
      }
      expect(t.methods['metad2a-best-of-top'].accuracy).toBeGreaterThanOrEqual(t.methods['metad2a-top1'].accuracy);
    }
    const all = ev.summary.find((g: { group: string }) => g.group === 'all');
    expect(all.tasks).toBe(20);
    expect(all.percentile['metad2a-top1'].lo).toBeLessThanOrEqual(all.percentile['metad2a-top1'].mean);
    expect(all.percentile['metad2a-top1'].hi).toBeGreaterThanOrEqual(all.percentile['metad2a-top1'].mean);
  });
});
