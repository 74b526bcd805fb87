import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCheckpointSync, unwrap } from '@metad2a/core';
import { MetaDatabase, splitAnchor } from '@metad2a/meta-trainer';
import { runCli } from '../src';
import { fillNoiseDb } from '../../meta-trainer/test/helpers/noise-db';
import { capture } from './capture';

/** A tiny meta-database at the official feature width (512): 6 classes × 20 rows, 6 tasks × 4 NB201 records, seeded; split `s`. */
function tinyDb(file: string, featuresFrom?: string): void {
  const db = MetaDatabase.open(file);
  fillNoiseDb(db, [{ name: 'noise', from: featuresFrom }], 6);
  db.close();
}

const weightsOf = (dir: string): Buffer[] => ['generator.safetensors', 'predictor.safetensors'].map((f) => fs.readFileSync(path.join(dir, f)));

describe('metad2a meta-train', () => {
  it('SIGINT stops after a step with last.ckpt saved; --resume ends at the bytes of an uninterrupted run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-mt-'));
    const db = path.join(dir, 'meta.sqlite');
    tinyDb(db);
    const args = (out: string): string[] => ['meta-train', '--db', db, '--split', 's', '--out', out, '--epochs', '2', '--predictor-hs', '8', '--batch-size', '8'];
    const straight = capture();
    const sc = await runCli(args(path.join(dir, 'straight')), straight.io);
    expect(straight.err()).not.toMatch(/error/);
    expect(sc).toBe(0);
    // features of no named extractor: said, and model.json names none
    expect(straight.err()).toMatch(/warning: the features of the training data sets name no extractor; model\.json records none, and a search will extract with random-conv/);
    expect(JSON.parse(straight.out()).extractor).toBeNull();

    // SIGINT once the predictor has started (the test's own listeners are set aside, so only the command's runs)
    const others = process.listeners('SIGINT');
    process.removeAllListeners('SIGINT');
    const stopped = capture();
    const poll = setInterval(() => {
      if (stopped.err().includes('predictor: starting') && process.listenerCount('SIGINT') > 0) {
        clearInterval(poll);
        process.emit('SIGINT', 'SIGINT');
      }
    }, 1);
    let code: number;
    try {
      code = await runCli(args(path.join(dir, 'resumed')), stopped.io);
    } finally {
      clearInterval(poll);
      for (const l of others) process.on('SIGINT', l);
    }
    expect(code).toBe(1);
    expect(stopped.err()).toMatch(
      /meta-training: got aborted by the caller's AbortSignal \(SIGINT: last\.ckpt holds the last finished step; the same command with --resume continues\)/,
    );
    expect(fs.existsSync(path.join(dir, 'resumed', 'runs', 'predictor', 'last.ckpt'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'resumed', 'model.json'))).toBe(false);
    expect(process.listenerCount('SIGTERM')).toBe(0);

    const resumed = capture();
    expect(await runCli([...args(path.join(dir, 'resumed')), '--resume'], resumed.io)).toBe(0);
    expect(resumed.err()).toMatch(/predictor: resuming from its last checkpoint/);
    expect(weightsOf(path.join(dir, 'resumed'))).toEqual(weightsOf(path.join(dir, 'straight')));
  });
});

describe('metad2a meta-train --target-scale, --replicates', () => {
  it("trains the predictor on scaled targets at --predictor-lr, on each pair's mean training, and records all three in model.json", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-mt-scale-'));
    const db = path.join(dir, 'meta.sqlite');
    tinyDb(db);
    const out = path.join(dir, 'model');
    const c = capture();
    expect(
      await runCli(
        [
          'meta-train',
          '--db',
          db,
          '--split',
          's',
          '--out',
          out,
          '--epochs',
          '1',
          '--predictor-hs',
          '8',
          '--batch-size',
          '8',
          '--target-scale',
          '100',
          '--predictor-lr',
          '0.001',
          '--replicates',
          'mean',
        ],
        c.io,
      ),
    ).toBe(0);
    const trained = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).provenance.metaTrained;
    expect(trained.targetScale).toBe(100);
    expect(trained.lr).toBe(0.001);
    expect(trained.replicates).toBe('mean');
    for (const run of ['predictor', 'generator']) expect(unwrap(loadCheckpointSync(path.join(out, 'runs', run, 'last.ckpt'))).meta.replicates).toBe('mean');
    // the run trained at that rate (its log's first event), and its kept checkpoint is on the scaled targets
    const start = JSON.parse(fs.readFileSync(path.join(out, 'runs', 'predictor', 'log.jsonl'), 'utf8').split('\n')[0]!);
    expect(start).toMatchObject({ event: 'start', kind: 'predictor', lr: 0.001 });
    expect(unwrap(loadCheckpointSync(path.join(out, 'runs', 'predictor', 'ckpt_max_corr.ckpt'))).meta.targetScale).toBe(100);
  });
});

describe('metad2a meta-train --anchor', () => {
  it("anchors the predictor on NB201's prior score with the weight fitted to the split's training records", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-mt-anchor-'));
    const db = path.join(dir, 'meta.sqlite');
    tinyDb(db);
    const out = path.join(dir, 'model');
    const c = capture();
    expect(await runCli(['meta-train', '--db', db, '--split', 's', '--out', out, '--epochs', '1', '--predictor-hs', '8', '--batch-size', '8', '--anchor'], c.io)).toBe(0);
    const opened = MetaDatabase.open(db);
    const expected = splitAnchor(opened, 's', 'nb201:test-200ep-mean-z');
    opened.close();
    expect(JSON.parse(c.out()).predictor.anchor).toEqual(expected);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).predictor.anchor).toEqual(expected);
    // the noise database's accuracies are NB201 CIFAR-10 accuracies: a clearly positive weight
    expect(expected.weight).toBeGreaterThan(0.3);
    // prior+choices: the choices' values too; an unknown kind is a usage error
    const out2 = path.join(dir, 'model2');
    const c2 = capture();
    expect(
      await runCli(['meta-train', '--db', db, '--split', 's', '--out', out2, '--epochs', '1', '--predictor-hs', '8', '--batch-size', '8', '--anchor', 'prior+choices'], c2.io),
    ).toBe(0);
    const opened2 = MetaDatabase.open(db);
    const expected2 = splitAnchor(opened2, 's', 'nb201:test-200ep-mean-z', undefined, 'prior+choices');
    opened2.close();
    expect(expected2.choices?.weights).toHaveLength(30);
    expect(JSON.parse(c2.out()).predictor.anchor).toEqual(expected2);
    const c3 = capture();
    expect(await runCli(['meta-train', '--db', db, '--split', 's', '--out', path.join(dir, 'model3'), '--anchor', 'choices'], c3.io)).toBe(2);
    expect(c3.err()).toContain('--anchor');
  });
});

describe('metad2a meta-train → search: the feature extractor', () => {
  it("model.json names the database's extractor; search refuses another --extractor and a model whose extractor id this installation does not make", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-mt-ex-'));
    const db = path.join(dir, 'meta.sqlite');
    const id = 'random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32';
    tinyDb(db, `${id}, first 20 images per class`);
    const out = path.join(dir, 'model');
    const mt = capture();
    expect(await runCli(['meta-train', '--db', db, '--split', 's', '--out', out, '--epochs', '1', '--predictor-hs', '8', '--batch-size', '8'], mt.io)).toBe(0);
    // no warning about the features; the noise database's 4 validation records are too few to calibrate on
    expect(mt.err()).not.toMatch(/warning: the features/);
    expect(mt.err()).toContain(
      'warning: no accuracy calibration (4 records (at least 20 are needed)); a search prints the linear denormalisation of the scores, which can leave [0, 100] %',
    );
    expect(JSON.parse(mt.out()).predictor.calibration).toBeNull();
    const extractor = { name: 'random-conv', id, perClass: 20 };
    expect(JSON.parse(mt.out()).extractor).toEqual(extractor);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(manifest.extractor).toEqual(extractor);

    const s = capture();
    expect(await runCli(['search', '--model', out, '--dataset', 'builtin:digits', '--extractor', 'mobilenetv2'], s.io)).toBe(1);
    expect(s.err()).toContain(
      `${out}: --extractor: expected the model's extractor, random-conv (${id}, 20 images per class in meta-training): a model ranks only features like those it was meta-trained on (leave --extractor out to use it, or meta-train a model on mobilenetv2 features), got "mobilenetv2"`,
    );
    expect(s.err()).not.toMatch(/\n\s+at /); // no stack trace

    // rank reads features the same way
    const archs = path.join(dir, 'archs.txt');
    fs.writeFileSync(archs, '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|\n');
    const r = capture();
    expect(await runCli(['rank', '--model', out, '--dataset', 'builtin:digits', '--archs', archs, '--extractor', 'identity'], r.io)).toBe(1);
    expect(r.err()).toContain(`${out}: --extractor: expected the model's extractor, random-conv (${id}, 20 images per class in meta-training)`);

    fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify({ ...manifest, extractor: { ...extractor, id: 'random-conv:v2:other' } }));
    const d = capture();
    expect(await runCli(['search', '--model', out, '--dataset', 'builtin:digits'], d.io)).toBe(1);
    expect(d.err()).toContain(`${out}: extractor.id: expected the id of extractor 'random-conv' as this installation creates it (${id})`);
  }, 120_000);
});
