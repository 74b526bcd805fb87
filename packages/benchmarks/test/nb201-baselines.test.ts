import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@metad2a/core';
import { nb201, nb201Table } from '@metad2a/search-spaces';
import { scoreGraphs } from '@metad2a/search';
import { NB201_REA_SETTINGS, nb201BaselinesMarkdown, nb201BaselinesSvg, runNb201Baselines } from '../src';
import { fixtureNb201Models, syntheticFeatures } from './tiny-models';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

const table = nb201Table();

describe('NB201 baselines', () => {
  it('random search and REA: best-so-far curves, seeded, mean ± CI over runs', async () => {
    const r = await runNb201Baselines({ lookup: 'cifar100', methods: ['random', 'rea'], budget: 60, runs: 4, seed: 3, select: 'test', table });
    expect(r.rea).toEqual(NB201_REA_SETTINGS);
    expect(r.optimum).toBeCloseTo(73.51, 2);
    for (const m of r.methods) {
      expect(m.runs).toHaveLength(4);
      for (const curve of m.runs) {
        expect(curve).toHaveLength(60);
        for (let k = 1; k < 60; k++) expect(curve[k]!).toBeGreaterThanOrEqual(curve[k - 1]!); // select = test: monotone
        expect(curve[59]!).toBeLessThanOrEqual(r.optimum);
      }
      expect(m.final.mean).toBeCloseTo(m.runs.reduce((a, c) => a + c[59]!, 0) / 4, 10);
      expect(m.curve[0]!.mean).toBeLessThanOrEqual(m.final.mean);
    }
    const again = await runNb201Baselines({ lookup: 'cifar100', methods: ['random', 'rea'], budget: 60, runs: 4, seed: 3, select: 'test', table });
    expect(again.methods.map((m) => m.runs)).toEqual(r.methods.map((m) => m.runs));
    // REA beats random search on average after 60 evaluations on CIFAR-100 (a property of NB201 that the paper's baselines show)
    const rs = await runNb201Baselines({ lookup: 'cifar100', methods: ['random', 'rea'], budget: 150, runs: 12, seed: 1, table });
    expect(rs.select).toBe('valid');
    expect(rs.methods[1]!.final.mean).toBeGreaterThan(rs.methods[0]!.final.mean);
  });

  it('random search evaluates distinct cells; the reported accuracy is the test accuracy of the best-by-valid cell', async () => {
    const r = await runNb201Baselines({ lookup: 'cifar10', methods: ['random'], budget: 15625, runs: 1, seed: 0, table });
    // all cells evaluated: the best-by-valid cell's test accuracy
    const valid = table.column('cifar10', 'validAccuracy');
    let best = 0;
    for (let i = 1; i < valid.length; i++) if (valid[i]! > valid[best]!) best = i;
    expect(r.methods[0]!.final.mean).toBe(table.column('cifar10', 'testAccuracy')[best]);
  });

  it('exhaustive predictor ranking and MetaD2A evaluate in predicted order (fixture predictor hs 64, a subset of cells)', async () => {
    const { generator, predictor } = fixtureNb201Models();
    const dataset = syntheticFeatures(3);
    const cells = Array.from({ length: 40 }, (_, i) => i * 389);
    await scoreGraphs(predictor, dataset, [nb201.encode(table.cellAt(0))], { resamples: 1 }); // builds the encoder's cached weight layouts (kept on purpose)
    const before = tf.memory().numTensors;
    const r = await runNb201Baselines({
      lookup: 'cifar10',
      methods: ['predictor-exhaustive', 'metad2a'],
      budget: 10,
      runs: 2,
      seed: 7,
      select: 'test',
      predictor,
      generator,
      dataset,
      cells,
      resamples: 2,
      candidates: 8,
      batchSize: 20,
      weights: 'fixture (untrained)',
      table,
    });
    expect(tf.memory().numTensors).toBe(before);
    const ex = r.methods[0]!;
    expect(ex.pool).toBe(40);
    // run 0: the best test accuracy among the first 10 of the predictor's order
    const { scores } = await scoreGraphs(
      predictor,
      dataset,
      cells.map((i) => nb201.encode(table.cellAt(i))),
      { resamples: 2, seed: '7/predictor-exhaustive/run0' },
    );
    const ranked = cells.map((_, index) => ({ index })).sort((a, b) => scores[b.index]! - scores[a.index]! || a.index - b.index);
    const test = table.column('cifar10', 'testAccuracy');
    const firstTen = ranked.slice(0, 10).map((c) => test[cells[c.index]!]!);
    expect(ex.runs[0]![9]).toBe(Math.max(...firstTen));
    expect(ex.runs[0]![0]).toBe(firstTen[0]);
    const md = r.methods[1]!;
    expect(md.pool).toBe(8);
    expect(md.runs[0]![9]).toBe(md.runs[0]![7]); // flat after its 8 candidates
    expect(r.weights).toBe('fixture (untrained)');
    const text = nb201BaselinesMarkdown(r);
    expect(text).toContain('| predictor, exhaustive ranking (40 cells) |');
    expect(text).toContain('| MetaD2A (generate + rank) (8 candidates) |');
    expect(text).toContain('k = 10');
    const svg = nb201BaselinesSvg(r);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('optimum 94.37');
    generator.dispose();
    predictor.dispose();
  });

  it('asks for what a method needs', async () => {
    await expect(runNb201Baselines({ lookup: 'cifar10', methods: ['predictor-exhaustive'], table })).rejects.toThrow(/predictor and the target features/);
    await expect(runNb201Baselines({ lookup: 'cifar10', methods: ['random'], budget: 0, table })).rejects.toThrow(/budget/);
  });
});
