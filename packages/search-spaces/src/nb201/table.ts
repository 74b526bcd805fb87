/**
 * The NAS-Bench-201 benchmark table (200-epoch results) for all 15,625 cells, shipped in
 * `data/nb201-200ep.bin.gz` (sources and licences: `data/SOURCE.md`), plus optional HELP
 * latencies (`data/nb201-latency.bin.gz`, loaded on first use).
 */
import * as E from 'fp-ts/lib/Either.js';
import { match } from 'ts-pattern';
import { MetaD2AException, notFound, validationError, type MetaD2AError } from '@metad2a/core';
import { NB201_SIZE, formatNb201, nb201Code, nb201FromCode, parseNb201, type Nb201Cell } from './cell';
import { PackedArrays, dataFile } from '../packed-arrays';
import { nb201Cost } from './cost';

/** The three NB201 datasets. */
export type Nb201Dataset = 'cifar10' | 'cifar100' | 'imagenet16-120';
export const NB201_DATASETS: readonly Nb201Dataset[] = ['cifar10', 'cifar100', 'imagenet16-120'];

/**
 * `valid`: cifar10 → `cifar10-valid` x-valid (trained on 25k); cifar100 / ImageNet16-120 → x-valid.
 * `test`: cifar10 → `cifar10` ori-test (trained on 50k, the "94.37" MetaD2A reports);
 * cifar100 / ImageNet16-120 → x-test. Accuracies in %, mean over seeds, final (200th) epoch.
 */
export type Nb201Split = 'valid' | 'test';

export interface Nb201DatasetRecord {
  readonly validAccuracy: number;
  readonly testAccuracy: number;
  /**
   * Trainable parameters of the NB201 network for this dataset (C=16, N=5; 10/100/120 classes;
   * 32×32 / 16×16 input), computed exactly by {@link nb201Cost} (equal to the official NB201
   * `params` × 10⁶ wherever the source row is consistent).
   */
  readonly params: number;
  /** MFLOPs (a linear formula fitted exactly to NASLib's counts; not official NB201 FLOPs). */
  readonly flopsM: number;
  /**
   * NB201 `train-all-time` at epoch 199, seconds, first seed; NaN for the 150 cells whose source
   * row is inconsistent with the arch (see data/SOURCE.md).
   */
  readonly trainTimeS: number;
}

export interface Nb201Record {
  /** NB201 benchmark index (0..15624). */
  readonly index: number;
  readonly arch: string;
  readonly cell: Nb201Cell;
  /** Seeds behind the CIFAR-10 valid accuracy (2 or 3). */
  readonly seeds: number;
  readonly datasets: Readonly<Record<Nb201Dataset, Nb201DatasetRecord>>;
}

/** A cell given as an NB201 index, an arch string or a 6-tuple. */
export type Nb201Key = number | string | Nb201Cell;

const PREFIX: Record<Nb201Dataset, string> = { cifar10: 'c10', cifar100: 'c100', 'imagenet16-120': 'in16' };
const SOURCE = 'NB201 table';

export class Nb201Table {
  /** Number of rows: 15,625. */
  readonly size: number;
  private readonly codes: Float64Array;
  private readonly indexByCode: Int32Array;
  private readonly seeds: Float64Array;
  private readonly columns = new Map<string, Float64Array>();
  private latencyData: PackedArrays | undefined;

  private constructor(private readonly data: PackedArrays) {
    this.codes = data.values('ops');
    this.size = this.codes.length;
    if (this.size !== NB201_SIZE) throw new MetaD2AException(validationError({ source: data.source, field: 'rows', expected: String(NB201_SIZE), got: String(this.size) }));
    this.indexByCode = new Int32Array(NB201_SIZE).fill(-1);
    this.codes.forEach((c, i) => {
      this.indexByCode[c] = i;
    });
    if (this.indexByCode.some((i) => i < 0))
      throw new MetaD2AException(validationError({ source: data.source, field: 'ops', expected: 'every cell exactly once', got: 'a duplicate' }));
    this.seeds = data.values('n_seeds');
  }

  /** Load the shipped table (or another file in the same format). */
  static load(file = dataFile('nb201-200ep.bin.gz')): Nb201Table {
    return new Nb201Table(PackedArrays.readGzip(file));
  }

  /** NB201 index of a cell given by index, string or tuple; a Left for a bad key. */
  lookupIndex(key: Nb201Key): E.Either<MetaD2AError, number> {
    if (typeof key === 'number') {
      return Number.isInteger(key) && key >= 0 && key < this.size
        ? E.right(key)
        : E.left(notFound({ source: SOURCE, field: 'index', expected: `an integer 0..${this.size - 1}`, got: String(key) }));
    }
    if (typeof key === 'string') return E.map((c: Nb201Cell) => this.indexByCode[nb201Code(c)]!)(parseNb201(key));
    return E.right(this.indexByCode[nb201Code(key)]!);
  }

  indexOf(key: Nb201Key): number {
    const r = this.lookupIndex(key);
    if (E.isLeft(r)) throw new MetaD2AException(r.left);
    return r.right;
  }

  cellAt(index: number): Nb201Cell {
    const i = this.indexOf(index);
    return (nb201FromCode(this.codes[i]!) as E.Right<Nb201Cell>).right;
  }

  archAt(index: number): string {
    return formatNb201(this.cellAt(index));
  }

  /** A column as float64, one value per NB201 index. */
  column(dataset: Nb201Dataset, metric: 'validAccuracy' | 'testAccuracy' | 'params' | 'flopsM' | 'trainTimeS'): Float64Array {
    const suffix = match(metric)
      .with('validAccuracy', () => 'valid_acc')
      .with('testAccuracy', () => 'test_acc')
      .with('params', () => 'params')
      .with('flopsM', () => 'flops_m')
      .with('trainTimeS', () => 'train_time_s')
      .exhaustive();
    const prefix = PREFIX[dataset];
    if (prefix === undefined) throw new MetaD2AException(notFound({ source: SOURCE, field: 'dataset', expected: NB201_DATASETS.join(', '), got: JSON.stringify(dataset) }));
    const name = `${prefix}_${suffix}`;
    let c = this.columns.get(name);
    if (!c) {
      if (metric === 'params') {
        const classes = { cifar10: 10, cifar100: 100, 'imagenet16-120': 120 }[dataset];
        const inputSize = dataset === 'imagenet16-120' ? 16 : 32;
        c = new Float64Array(this.size);
        for (let i = 0; i < this.size; i++) c[i] = nb201Cost(this.cellAt(i), { classes, inputSize }).params;
      } else {
        c = this.data.values(name);
      }
      this.columns.set(name, c);
    }
    return c;
  }

  /** Accuracy (%) of a cell on a dataset split. */
  accuracy(key: Nb201Key, dataset: Nb201Dataset, split: Nb201Split = 'test'): number {
    return this.column(dataset, split === 'test' ? 'testAccuracy' : 'validAccuracy')[this.indexOf(key)]!;
  }

  /** The full row of a cell; a Left for an unknown index or a bad string. */
  lookup(key: Nb201Key): E.Either<MetaD2AError, Nb201Record> {
    return E.map((index: number) => {
      const datasets = {} as Record<Nb201Dataset, Nb201DatasetRecord>;
      for (const d of NB201_DATASETS) {
        datasets[d] = {
          validAccuracy: this.column(d, 'validAccuracy')[index]!,
          testAccuracy: this.column(d, 'testAccuracy')[index]!,
          params: this.column(d, 'params')[index]!,
          flopsM: this.column(d, 'flopsM')[index]!,
          trainTimeS: this.column(d, 'trainTimeS')[index]!,
        };
      }
      const cell = this.cellAt(index);
      return { index, arch: formatNb201(cell), cell, seeds: this.seeds[index]!, datasets };
    })(this.lookupIndex(key));
  }

  record(key: Nb201Key): Nb201Record {
    const r = this.lookup(key);
    if (E.isLeft(r)) throw new MetaD2AException(r.left);
    return r.right;
  }

  /** The best cell on a dataset split (first index on ties). */
  best(dataset: Nb201Dataset, split: Nb201Split = 'test'): { index: number; accuracy: number } {
    const col = this.column(dataset, split === 'test' ? 'testAccuracy' : 'validAccuracy');
    let index = 0;
    for (let i = 1; i < col.length; i++) if (col[i]! > col[index]!) index = i;
    return { index, accuracy: col[index]! };
  }

  /** Devices with HELP latency measurements (`1080ti_1`, `pixel3`, `raspi4`, …; suffix = batch size). */
  latencyDevices(): string[] {
    return this.latencyTable().names();
  }

  /** HELP latency in ms of a cell on a device (values as published, 6 significant digits). */
  latency(key: Nb201Key, device: string): number {
    const t = this.latencyTable();
    if (!t.has(device))
      throw new MetaD2AException(notFound({ source: 'NB201 latency table', field: 'device', expected: `one of ${t.names().join(', ')}`, got: JSON.stringify(device) }));
    return Number(t.float32(device)[this.indexOf(key)]!.toPrecision(6));
  }

  private latencyTable(): PackedArrays {
    this.latencyData ??= PackedArrays.readGzip(dataFile('nb201-latency.bin.gz'));
    return this.latencyData;
  }
}

let shared: Nb201Table | undefined;

/** The shipped table, loaded once (about 40 ms). */
export function nb201Table(): Nb201Table {
  shared ??= Nb201Table.load();
  return shared;
}
