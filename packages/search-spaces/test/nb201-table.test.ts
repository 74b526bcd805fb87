import * as E from 'fp-ts/lib/Either.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unwrap } from '@metad2a/core';
import { NB201_DATASETS, Nb201Table, dataDir, nb201Cost, nb201Table, parseNb201 } from '@metad2a/search-spaces';

const OPT = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';

describe('NB201 benchmark table', () => {
  const t = nb201Table();
  test('15,625 rows; every cell exactly once', () => {
    expect(t.size).toBe(15625);
    const seen = new Set<string>();
    for (let i = 0; i < t.size; i++) seen.add(t.archAt(i));
    expect(seen.size).toBe(15625);
  });
  test('spec §9.20 and the issue: best test accuracies', () => {
    expect(t.best('cifar10')).toEqual({ index: 6111, accuracy: 94.373333 });
    expect(t.best('cifar100').accuracy.toFixed(2)).toBe('73.51');
    expect(t.best('cifar100').index).toBe(9930);
    expect(t.best('imagenet16-120').accuracy.toFixed(2)).toBe('47.31');
    expect(t.best('imagenet16-120').index).toBe(857);
    expect(t.best('cifar10', 'valid')).toEqual({ index: 6111, accuracy: 91.606667 });
  });
  test('lookup by index, string and tuple agree', () => {
    const cell = unwrap(parseNb201(OPT));
    expect(t.indexOf(OPT)).toBe(6111);
    expect(t.indexOf(cell)).toBe(6111);
    expect(t.archAt(6111)).toBe(OPT);
    const r = t.record(6111);
    expect(t.record(OPT)).toEqual(r);
    expect(t.record(cell)).toEqual(r);
    expect(r.cell).toEqual([3, 3, 3, 1, 3, 2]);
    expect(r.datasets.cifar10.testAccuracy).toBe(94.373333);
    expect(r.datasets.cifar10.validAccuracy).toBe(91.606667);
    expect(r.datasets.cifar100.testAccuracy).toBe(73.22);
    expect(r.datasets['imagenet16-120'].testAccuracy).toBe(46.711111);
    expect(r.datasets.cifar10.params).toBe(1073466);
    expect(r.datasets.cifar10.flopsM).toBeCloseTo(155.584192, 9);
    expect(r.datasets.cifar10.trainTimeS).toBeCloseTo(2879.749334, 9);
    expect(t.accuracy(OPT, 'cifar100', 'valid')).toBe(72.746667);
    // row 0 of the source CSV
    const r0 = t.record(0);
    expect(r0.arch).toBe('|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|');
    expect([r0.seeds, r0.datasets.cifar10.validAccuracy, r0.datasets['imagenet16-120'].params]).toEqual([3, 81.982667, 136456]);
  });
  test('params equal the exact TinyNetwork count; train time is NaN where the source row is inconsistent', () => {
    const opt = unwrap(parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'));
    expect(t.record(opt).datasets.cifar10.params).toBe(nb201Cost(opt).params);
    expect(t.record(opt).datasets.cifar100.params).toBe(nb201Cost(opt, { classes: 100 }).params);
    expect(Number.isNaN(t.record(327).datasets.cifar10.trainTimeS)).toBe(true);
    const nan = t.column('cifar10', 'trainTimeS').filter((x) => Number.isNaN(x)).length;
    expect(nan).toBe(150);
  });
  test('FLOPs column follows its documented linear formula', () => {
    const f = t.column('cifar10', 'flopsM');
    for (const i of [0, 1, 2, 3, 6111, 15624]) {
      const c = t.cellAt(i);
      const n = (op: number): number => c.filter((o) => o === op).length;
      expect(f[i]).toBeCloseTo(7.943872 + 4.36224 * n(2) + 35.81952 * n(3) + 1.29024 * n(4), 6);
    }
  });
  test('bad keys are errors that say what was expected', () => {
    const bad = t.lookup(15625);
    expect(E.isLeft(bad) && bad.left.message).toMatch(/index: expected an integer 0\.\.15624, got 15625/);
    expect(E.isLeft(t.lookup('|none~0|'))).toBe(true);
    expect(() => t.accuracy(0, 'svhn' as never)).toThrow(/dataset/);
    expect(NB201_DATASETS).toEqual(['cifar10', 'cifar100', 'imagenet16-120']);
  });
  test('HELP latencies: 27 devices, values as published', () => {
    expect(t.latencyDevices().length).toBe(27);
    expect(t.latency(0, '1080ti_1')).toBe(10.7544);
    expect(t.latency(1, 'pixel3')).toBe(17.2381);
    expect(t.latency(1, 'eyeriss')).toBe(7.57778);
    expect(() => t.latency(0, 'tpu')).toThrow(/device: expected one of/);
  });
  test('shipped data stays small and is listed in package.json files', () => {
    const size = (f: string): number => fs.statSync(path.join(dataDir(), f)).size;
    expect(size('nb201-200ep.bin.gz') + size('nb201-latency.bin.gz')).toBeLessThan(2 * 1024 * 1024);
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('data');
    expect(() => Nb201Table.load(path.join(dataDir(), 'missing.bin.gz'))).toThrow(/missing\.bin\.gz/);
  });
});
