import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, initBackend, type FeatureSet, type PriorAnchor } from '@metad2a/core';
import { candidatePool, loadSearchModel, parseModelManifest, rankCandidates } from '@metad2a/search';
import { nb201, nb201Prior, nb201Table, type Nb201Cell } from '@metad2a/search-spaces';
import * as E from 'fp-ts/lib/Either.js';
import { GraphResolver, MetaDatabase, fitAnchorWeight, metaTrainSearchModel, splitAnchor, splitNormalisation, trainingItems, type MetaRecord } from '../src';
import { fillNoiseDb } from './helpers/noise-db';

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

describe("NB201's prior score", () => {
  it('is standardised over the 15,625 cells and ranks the table winners near the top', () => {
    const table = nb201Table();
    const scores = Array.from({ length: table.size }, (_, i) => nb201Prior.score(table.cellAt(i)));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    expect(Math.abs(mean)).toBeLessThan(1e-9);
    expect(Math.abs(sd - 1)).toBeLessThan(1e-9);
    expect(nb201.prior?.id).toBe('nb201:test-200ep-mean-z');
    // the CIFAR-10 winner beats 99 % of the cells; the all-`none` cell is among the worst
    const best = nb201Prior.score(table.cellAt(table.best('cifar10').index));
    expect(scores.filter((s) => s < best).length / scores.length).toBeGreaterThan(0.99);
    const none = nb201Prior.score(E.getOrElseW(() => undefined)(nb201.parse('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'))!);
    expect(scores.filter((s) => s < none).length / scores.length).toBeLessThan(0.1);
  });
});

describe('fitAnchorWeight', () => {
  it("is the within-task slope of the standardised accuracy on the prior score (task offsets don't enter)", () => {
    const rng = new Rng(3);
    const cells: Nb201Cell[] = Array.from({ length: 12 }, () => nb201.sample(rng));
    const norm = { mean: 70, std: 8 };
    // accuracy = task offset + 3 · prior: the slope of (acc − μ)/σ on the prior is 3/σ
    const records = cells.map(
      (c, i) => ({ id: i, taskId: i % 3, space: 'nb201', arch: nb201.format(c), accuracy: 50 + 10 * (i % 3) + 3 * nb201Prior.score(c) }) as unknown as MetaRecord,
    );
    const a = fitAnchorWeight(records, norm, new GraphResolver(), nb201Prior.id);
    expect(a.prior).toBe('nb201:test-200ep-mean-z');
    expect(a.weight).toBeCloseTo(3 / 8, 12);
    // one record per task carries no information: refused
    expect(() => fitAnchorWeight(records.slice(0, 3), norm, new GraphResolver(), nb201Prior.id)).toThrow(
      'prior anchor: training records: expected tasks with at least two records whose prior scores differ (to fit the weight), got 3 records over 3 tasks',
    );
    expect(() => fitAnchorWeight(records, norm, new GraphResolver(), 'nb201:other')).toThrow(
      "prior anchor: records of space nb201: expected a space with the prior score 'nb201:other', got 'nb201:test-200ep-mean-z'",
    );
  });
});

describe('an anchored predictor', () => {
  it('learns the targets minus the anchor term, records the anchor in model.json, and a search adds the term back', async () => {
    const db = MetaDatabase.inMemory();
    fillNoiseDb(db, [{ name: 'a' }, { name: 'b' }], 3);
    const anchor = splitAnchor(db, 's', nb201Prior.id);
    // the noise database's accuracies are NB201 CIFAR-10 accuracies: the prior explains them well
    expect(anchor.weight).toBeGreaterThan(0.3);
    const norm = splitNormalisation(db, 's');
    const records = db.recordsById(db.split('s').train);
    const items = trainingItems(db, records, { normalisation: norm, anchor });
    items.forEach((it, i) => {
      const p = nb201Prior.score(E.getOrElseW(() => undefined)(nb201.parse(records[i]!.arch))!);
      expect(it.offset).toBeCloseTo((anchor.weight * p) / 100, 12);
      expect(it.target + it.offset).toBeCloseTo((records[i]!.accuracy - norm.mean) / norm.std / 100, 12);
    });

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-anchor-'));
    // one epoch of each phase at hidden size 8: enough to write an anchored model
    const oneEpoch = { space: 'nb201', split: 's', predictorEpochs: 1, generatorEpochs: 1, predictorHs: 8, seed: 1, options: { batchSize: 8 } } as const;
    const r = await metaTrainSearchModel(db, { out, ...oneEpoch, anchor: true });
    expect(r.manifest.predictor.anchor).toEqual(anchor);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(json.predictor.anchor).toEqual(anchor);
    expect(json.provenance.metaTrained.anchor).toEqual(anchor);

    const model = await loadSearchModel(out);
    expect(model.predictor.anchor).toEqual(anchor);
    const rng = new Rng(5);
    const cells = Array.from({ length: 20 }, () => nb201.sample(rng));
    const features: FeatureSet = db.taskFeatureSet(db.task(records[0]!.taskId));
    const anchored = await rankCandidates(model.predictor, features, candidatePool(nb201, cells), { resamples: 3, seed: 9 });
    // the same weights without the anchor
    const predictor = model.predictor as { anchor?: PriorAnchor };
    predictor.anchor = undefined;
    const plain = await rankCandidates(model.predictor, features, candidatePool(nb201, cells), { resamples: 3, seed: 9 });
    predictor.anchor = anchor;
    const plainByIndex = new Map(plain.ranking.map((c) => [c.index, c.score]));
    for (const c of anchored.ranking) expect(c.score - plainByIndex.get(c.index)!).toBeCloseTo((anchor.weight * nb201Prior.score(c.arch)) / 100, 6);
    model.dispose();

    // a manifest anchored on a prior its space lacks is refused, naming the field
    const bad = { ...json, predictor: { ...json.predictor, anchor: { prior: 'nb201:old', weight: 1 } } };
    const parsed = parseModelManifest(bad, 'm/model.json');
    expect(E.isLeft(parsed) && parsed.left.message).toContain("m/model.json: predictor.anchor: expected {prior: 'nb201:test-200ep-mean-z' (space nb201's prior score)");
    db.close();
  });
});
