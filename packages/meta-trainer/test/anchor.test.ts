import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, anchorOffsets, initBackend, spearman, type FeatureSet, type PriorAnchor } from '@metad2a/core';
import { candidatePool, loadSearchModel, parseModelManifest, rankCandidates } from '@metad2a/search';
import { mbv3, nb201, nb201Choices, nb201Prior, nb201Table, type Nb201Cell } from '@metad2a/search-spaces';
import * as E from 'fp-ts/lib/Either.js';
import { GraphResolver, MetaDatabase, fitAnchorWeight, fitChoiceAnchor, metaTrainSearchModel, splitAnchor, splitNormalisation, trainingItems, type MetaRecord } from '../src';
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

describe("NB201's choice indicators", () => {
  it('are 30 edge × operation indicators, one set per edge, named edge-major', () => {
    expect(nb201.choices).toBe(nb201Choices);
    expect(nb201Choices.id).toBe('nb201:edge-op/1');
    expect(nb201Choices.names).toHaveLength(30);
    expect(nb201Choices.names.slice(0, 6)).toEqual(['e1=none', 'e1=skip_connect', 'e1=nor_conv_1x1', 'e1=nor_conv_3x3', 'e1=avg_pool_3x3', 'e2=none']);
    expect(nb201Choices.names[29]).toBe('e6=avg_pool_3x3');
    const cell = E.getOrElseW(() => undefined)(nb201.parse('|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|'))!;
    const x = Array.from(nb201Choices.indicators(cell));
    expect(x.reduce((a, b) => a + b, 0)).toBe(6);
    expect(x.flatMap((v, j) => (v === 1 ? [nb201Choices.names[j]] : []))).toEqual([
      'e1=avg_pool_3x3',
      'e2=nor_conv_3x3',
      'e3=none',
      'e4=skip_connect',
      'e5=nor_conv_1x1',
      'e6=nor_conv_3x3',
    ]);
  });
});

describe('fitChoiceAnchor', () => {
  // accuracy = task offset + task scale · (2 · prior + value of the first edge's operation): tasks differ in spread
  const edgeValue = [-3, 0, 1, 2, -5];
  const truth = (c: Nb201Cell): number => 2 * nb201Prior.score(c) + edgeValue[c[0]]!;
  const rng = new Rng(11);
  const cells: Nb201Cell[] = Array.from({ length: 240 }, () => nb201.sample(rng));
  const records = cells.map(
    (c, i) => ({ id: i, taskId: i % 12, space: 'nb201', arch: nb201.format(c), accuracy: 40 + 3 * (i % 12) + (1 + (i % 4)) * truth(c) }) as unknown as MetaRecord,
  );
  const norm = { mean: 60, std: 10 };

  it("learns each choice's value beside the prior score, in the units of the split's normalisation", () => {
    const a = fitChoiceAnchor(records, norm, new GraphResolver(), nb201Prior.id);
    expect(a.prior).toBe(nb201Prior.id);
    expect(a.choices?.id).toBe('nb201:edge-op/1');
    expect(a.choices?.weights).toHaveLength(30);
    // the term ranks cells as the truth does (the ridge shrinks a little), and the first edge's operations in their true order
    const term = anchorOffsets(a, nb201, cells)!;
    expect(spearman(term, cells.map(truth))).toBeGreaterThan(0.99);
    const first = a.choices!.weights.slice(0, 5);
    expect([...first.keys()].sort((i, j) => first[i]! - first[j]!)).toEqual([4, 0, 1, 2, 3]);
    // the other edges are worth nothing here (what the ridge and the sample leave: < 5 % of the first edge's range)
    const range = Math.max(...first) - Math.min(...first);
    expect(Math.max(...a.choices!.weights.slice(5).map(Math.abs))).toBeLessThan(0.05 * range);
    // scale: a within-task least-squares slope in (acc − μ)/σ units; tasks' mean spread is 2.5 × truth
    expect(a.weight).toBeGreaterThan((0.8 * (2.5 * 2)) / 10);
    expect(a.weight).toBeLessThan((1.2 * (2.5 * 2)) / 10);
  });

  it('refuses records that carry no information, and spaces without choices', () => {
    expect(() => fitChoiceAnchor(records.slice(0, 12), norm, new GraphResolver(), nb201Prior.id)).toThrow(
      'prior anchor: training records: expected tasks with at least two records whose accuracies differ (to fit the anchor), got 12 records over 12 tasks',
    );
    const mbv3Record = { id: 0, taskId: 0, space: 'mbv3', arch: mbv3.format(mbv3.sample(new Rng(1))), accuracy: 50 } as unknown as MetaRecord;
    expect(() => fitChoiceAnchor([mbv3Record], norm, new GraphResolver(), nb201Prior.id)).toThrow(
      'prior anchor: records of space mbv3: expected a space with choice indicators (SearchSpace.choices), got a space without them',
    );
  });

  it('is refused at search time by a space whose choice encoding differs', () => {
    const a = fitChoiceAnchor(records, norm, new GraphResolver(), nb201Prior.id);
    expect(() => anchorOffsets({ ...a, choices: { id: 'nb201:edge-op/0', weights: a.choices!.weights } }, nb201, cells)).toThrow(
      "search space nb201: choices: expected the choice encoding 'nb201:edge-op/0' of 30 indicators the predictor is anchored on, got 'nb201:edge-op/1' of 30",
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

    // prior+choices: the fitted choices go into model.json and come back; wrong ones are refused
    const out2 = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-anchor-choices-'));
    const r2 = await metaTrainSearchModel(db, { out: out2, ...oneEpoch, anchor: 'prior+choices' });
    const withChoices = splitAnchor(db, 's', nb201Prior.id, undefined, 'prior+choices');
    expect(r2.manifest.predictor.anchor).toEqual(withChoices);
    expect(withChoices.choices?.weights).toHaveLength(30);
    const model2 = await loadSearchModel(out2);
    expect(model2.predictor.anchor).toEqual(withChoices);
    const ranked = await rankCandidates(model2.predictor, features, candidatePool(nb201, cells), { resamples: 3, seed: 9 });
    const offsets = anchorOffsets(withChoices, nb201, cells)!;
    (model2.predictor as { anchor?: PriorAnchor }).anchor = undefined;
    const plain2 = new Map((await rankCandidates(model2.predictor, features, candidatePool(nb201, cells), { resamples: 3, seed: 9 })).ranking.map((c) => [c.index, c.score]));
    for (const c of ranked.ranking) expect(c.score - plain2.get(c.index)!).toBeCloseTo(offsets[c.index]!, 6);
    model2.dispose();
    const json2 = JSON.parse(fs.readFileSync(path.join(out2, 'model.json'), 'utf8'));
    const short = { ...json2, predictor: { ...json2.predictor, anchor: { ...json2.predictor.anchor, choices: { id: 'nb201:edge-op/1', weights: [1, 2] } } } };
    const p2 = parseModelManifest(short, 'm/model.json');
    expect(E.isLeft(p2) && p2.left.message).toContain(
      "m/model.json: predictor.anchor.choices: expected {id: 'nb201:edge-op/1' (space nb201's choice encoding), weights: 30 finite numbers",
    );
    db.close();
  });
});
