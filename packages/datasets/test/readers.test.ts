import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import {
  builtinImages,
  encodeNpy,
  indicesByClass,
  parseIdx,
  parseNpy,
  readCifarBinary,
  readDigitsCsv,
  readFeatureFile,
  readIdx,
  readIdxImages,
  readImageFolder,
  readNpyDataset,
  resolveDataset,
  writeFeatureFile,
  inferCifarVariant,
} from '../src';
import { idxBytes, messageOf, tagOf, tmpDir } from './helpers';

const dir = tmpDir('readers');

describe('npy', () => {
  it('round-trips float32 and reads int64 labels, v2 headers and unaligned data', () => {
    const x = Float32Array.from([1.5, -2, 3.25, 4, 5, 6]);
    const a = parseNpy(encodeNpy(x, [2, 3]));
    expect(a.dtype).toBe('f4');
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1.5, -2, 3.25, 4, 5, 6]);
    // An int64 file as numpy writes it (np.save(np.array([3, 0, 7]))), version 1.0.
    const header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
    const pad = 64 - ((10 + header.length + 1) % 64);
    const h = header + ' '.repeat(pad) + '\n';
    const body = Buffer.alloc(24);
    [3, 0, 7].forEach((v, i) => body.writeBigInt64LE(BigInt(v), 8 * i));
    const v1 = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), Buffer.from([h.length & 255, h.length >> 8]), Buffer.from(h, 'latin1'), body]);
    expect(Array.from(parseNpy(v1).data)).toEqual([3, 0, 7]);
    // Version 2.0 (4-byte header length), unaligned offset into a larger buffer.
    const v2 = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]), Buffer.from([h.length & 255, h.length >> 8, 0, 0]), Buffer.from(h, 'latin1'), body]);
    const shifted = new Uint8Array(v2.length + 3);
    shifted.set(v2, 3);
    expect(Array.from(parseNpy(shifted.subarray(3)).data)).toEqual([3, 0, 7]);
  });

  it('rejects malformed files naming the field', () => {
    const good = encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    expect(tagOf(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 'a.npy'))).toBe('ParseError');
    expect(messageOf(() => parseNpy(good.subarray(0, good.length - 4), 'a.npy'))).toMatch(/a\.npy: data: expected 4 × 4 = 16 bytes .* got 12 bytes/);
    const fortran = Buffer.from(good);
    fortran.write("'fortran_order': True, ", Buffer.from(good).indexOf("'fortran_order'"), 'latin1');
    expect(tagOf(() => parseNpy(fortran))).not.toBe('none');
    const big = Buffer.from(good.slice());
    big[Buffer.from(good).indexOf('<f4')] = '>'.charCodeAt(0);
    expect(messageOf(() => parseNpy(big, 'b.npy'))).toMatch(/b\.npy: descr: expected little-endian/);
    const obj = Buffer.from(good.slice());
    obj.write('|O8', Buffer.from(good).indexOf('<f4'), 'latin1');
    expect(messageOf(() => parseNpy(obj, 'o.npy'))).toMatch(/o\.npy: descr: expected one of/);
  });

  it('reads an image .npy with its labels, and a float .npy as features', () => {
    const imgs = new Uint8Array(4 * 2 * 2).map((_, i) => i * 3);
    fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(imgs, [4, 2, 2]));
    fs.writeFileSync(path.join(dir, 'x.labels.npy'), encodeNpy(Int32Array.from([1, 0, 1, 1]), [4]));
    const ds = resolveDataset(path.join(dir, 'x.npy'));
    if (ds.kind !== 'images') throw new Error('expected images');
    expect(ds.classNames).toEqual(['0', '1']);
    expect(Array.from(ds.image(1).data)).toEqual([12, 15, 18, 21]);
    fs.writeFileSync(path.join(dir, 'f.npy'), encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]));
    fs.writeFileSync(path.join(dir, 'f_labels.npy'), encodeNpy(Uint8Array.from([1, 0, 1]), [3]));
    const viaPair = resolveDataset(`${path.join(dir, 'f.npy')},${path.join(dir, 'f_labels.npy')}`);
    expect(viaPair.kind).toBe('features');
    expect(messageOf(() => resolveDataset(`${path.join(dir, 'f.npy')},${path.join(dir, 'x.labels.npy')},${path.join(dir, 'x.npy')}`))).toMatch(/expected a,b,… \.bin files/);
    const fsrc = readNpyDataset(path.join(dir, 'f.npy'));
    if (fsrc.kind !== 'features') throw new Error('expected features');
    expect(fsrc.featureSet.classes.map((c) => [c.label, c.count, Array.from(c.data)])).toEqual([
      ['0', 1, [3, 4]],
      ['1', 2, [1, 2, 5, 6]],
    ]);
    fs.writeFileSync(path.join(dir, 'bad.npy'), encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]));
    fs.writeFileSync(path.join(dir, 'bad.labels.npy'), encodeNpy(Int32Array.from([0, 1]), [2]));
    expect(messageOf(() => readNpyDataset(path.join(dir, 'bad.npy')))).toMatch(/bad\.labels\.npy: shape: expected \[3\]/);
  });
});

describe('IDX', () => {
  it('reads the shipped MNIST test split (gzipped): header, sizes, class counts', () => {
    const ds = builtinImages('mnist');
    expect(ds.size).toBe(10000);
    const im = ds.image(0);
    expect([im.width, im.height, im.channels]).toEqual([28, 28, 1]);
    expect(indicesByClass(ds).map((i) => i.length)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(ds.labels[0]).toBe(7); // the first MNIST test digit is a 7
    expect(ds.normalisation).toBe('mnist');
    const f = builtinImages('fashion-mnist');
    expect(indicesByClass(f).map((i) => i.length)).toEqual(Array(10).fill(1000));
    expect(f.classNames[9]).toBe('Ankle boot');
  });

  it('reads uncompressed files and other element types (big-endian)', () => {
    const px = new Uint8Array(3 * 2 * 2).map((_, i) => i);
    fs.writeFileSync(path.join(dir, 'tiny-images-idx3-ubyte'), idxBytes([3, 2, 2], px));
    fs.writeFileSync(path.join(dir, 'tiny-labels-idx1-ubyte.gz'), zlib.gzipSync(idxBytes([3], Uint8Array.from([2, 0, 2]))));
    const src = resolveDataset(path.join(dir, 'tiny-images-idx3-ubyte'));
    if (src.kind !== 'images') throw new Error('expected images');
    expect(src.classNames).toEqual(['0', '1', '2']);
    expect(Array.from(src.image(2).data)).toEqual([8, 9, 10, 11]);
    const pair = resolveDataset(`${path.join(dir, 'tiny-images-idx3-ubyte')},${path.join(dir, 'tiny-labels-idx1-ubyte.gz')}`);
    expect(pair.kind === 'images' && Array.from(pair.labels)).toEqual([2, 0, 2]);
    expect(messageOf(() => resolveDataset(`${path.join(dir, 'tiny-images-idx3-ubyte')},${path.join(dir, 'nope')}`))).toMatch(
      /expected comma-separated files that exist, got missing .*nope/,
    );
    const i32 = parseIdx(idxBytes([2], Uint8Array.from([0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe]), 0x0c));
    expect(Array.from(i32.data)).toEqual([256, -2]);
  });

  it('rejects malformed files naming file and field', () => {
    expect(messageOf(() => parseIdx(Uint8Array.from([8, 8, 8, 8]), 'x.idx'))).toMatch(/x\.idx: magic: expected IDX magic/);
    expect(messageOf(() => parseIdx(idxBytes([2, 2], Uint8Array.from([1, 2, 3])), 'y.idx'))).toMatch(/y\.idx: data: expected 4 bytes for dims \[2, 2\] of u8, got 3 bytes/);
    expect(tagOf(() => parseIdx(idxBytes([1], Uint8Array.from([1]), 0x07)))).toBe('Unsupported');
    const img = path.join(dir, 'm-images-idx3-ubyte');
    const lab = path.join(dir, 'm-labels-idx1-ubyte');
    fs.writeFileSync(img, idxBytes([2, 1, 1], Uint8Array.from([1, 2])));
    fs.writeFileSync(lab, idxBytes([3], Uint8Array.from([0, 1, 1])));
    expect(messageOf(() => readIdxImages(img, lab))).toMatch(/m-labels-idx1-ubyte: dims: expected \[2\]/);
    const gz = path.join(dir, 'trunc.gz');
    fs.writeFileSync(gz, zlib.gzipSync(idxBytes([4], Uint8Array.from([1, 2, 3, 4]))).subarray(0, 15));
    expect(messageOf(() => readIdx(gz))).toMatch(/trunc\.gz: gzip stream: expected a complete gzip stream/);
  });
});

describe('CIFAR binary', () => {
  const record = (labels: number[], fill: (ch: number, p: number) => number): Buffer => {
    const b = Buffer.alloc(labels.length + 3072);
    labels.forEach((l, i) => (b[i] = l));
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < 1024; p++) b[labels.length + ch * 1024 + p] = fill(ch, p);
    return b;
  };

  it('reads CIFAR-10 records (planes → HWC), class names, several files', () => {
    const f1 = path.join(dir, 'data_batch_1.bin');
    const f2 = path.join(dir, 'data_batch_2.bin');
    fs.writeFileSync(f1, Buffer.concat([record([3], (ch, p) => (ch * 50 + p) % 256), record([9], () => 7)]));
    fs.writeFileSync(
      f2,
      record([0], (ch) => ch),
    );
    fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    expect(inferCifarVariant([f1, f2])).toBe('cifar10');
    const ds = readCifarBinary([f1, f2]);
    expect(Array.from(ds.labels)).toEqual([3, 9, 0]);
    expect(ds.classNames[3]).toBe('cat');
    const im = ds.image(0);
    expect([im.width, im.height, im.channels]).toEqual([32, 32, 3]);
    expect(Array.from(im.data.subarray(0, 6))).toEqual([0, 50, 100, 1, 51, 101]);
    expect(Array.from(ds.image(2).data.subarray(3, 6))).toEqual([0, 1, 2]);
    const listed = resolveDataset(`${f2},${f1}`);
    expect(listed.kind === 'images' && Array.from(listed.labels)).toEqual([0, 3, 9]);
    const viaRef = resolveDataset(dir);
    expect(viaRef.kind === 'images' && viaRef.size).toBe(3);
    expect(viaRef.kind === 'images' && viaRef.normalisation).toBe('cifar10');
  });

  it('reads CIFAR-100 fine and coarse labels', () => {
    const f = path.join(dir, 'c100.bin');
    fs.writeFileSync(f, Buffer.concat([record([19, 99], () => 1), record([4, 42], () => 2)]));
    expect(Array.from(readCifarBinary([f]).labels)).toEqual([99, 42]);
    const coarse = readCifarBinary([f], { labels: 'coarse' });
    expect(Array.from(coarse.labels)).toEqual([19, 4]);
    expect(coarse.classNames).toHaveLength(20);
  });

  it('rejects bad sizes and out-of-range labels', () => {
    const f = path.join(dir, 'short.bin');
    fs.writeFileSync(f, Buffer.alloc(3072));
    expect(messageOf(() => readCifarBinary([f]))).toMatch(/short\.bin: file size: expected a non-zero multiple of 3,073 bytes .* got 3072 bytes/);
    const g = path.join(dir, 'badlabel.bin');
    fs.writeFileSync(g, Buffer.concat([record([1], () => 0), record([10], () => 0)]));
    expect(messageOf(() => readCifarBinary([g], { variant: 'cifar10' }))).toMatch(/badlabel\.bin: record 1 label byte 0: expected a cifar10 label below 10, got 10/);
  });
});

describe('image folder', () => {
  const root = path.join(dir, 'photos');
  beforeAll(() => {
    fs.mkdirSync(path.join(root, 'cats'), { recursive: true });
    fs.mkdirSync(path.join(root, 'dogs'), { recursive: true });
    const png = new PNG({ width: 3, height: 2 });
    for (let p = 0; p < 6; p++) png.data.set([p * 10, p * 10 + 1, p * 10 + 2, 255], 4 * p);
    fs.writeFileSync(path.join(root, 'cats', 'b.png'), PNG.sync.write(png));
    const grey = new PNG({ width: 2, height: 2 });
    for (let p = 0; p < 4; p++) grey.data.set([p * 60, p * 60, p * 60, 255], 4 * p);
    fs.writeFileSync(path.join(root, 'cats', 'a.png'), PNG.sync.write(grey));
    const rgba = Buffer.alloc(16 * 16 * 4);
    for (let p = 0; p < 256; p++) rgba.set([200, 30, 30, 255], 4 * p);
    fs.writeFileSync(path.join(root, 'dogs', 'x.JPG'), jpeg.encode({ width: 16, height: 16, data: rgba }, 95).data);
    fs.writeFileSync(path.join(root, 'dogs', 'notes.txt'), 'ignored');
  });

  it('lists classes and images in sorted order and decodes PNG (RGB, grey) and JPEG', () => {
    const ds = readImageFolder(root);
    expect(ds.classNames).toEqual(['cats', 'dogs']);
    expect(Array.from(ds.labels)).toEqual([0, 0, 1]);
    const a = ds.image(0);
    expect([a.width, a.height, a.channels, ...a.data]).toEqual([2, 2, 1, 0, 60, 120, 180]);
    const b = ds.image(1);
    expect([b.channels, ...b.data.subarray(0, 6)]).toEqual([3, 0, 1, 2, 10, 11, 12]);
    const j = ds.image(2);
    expect([j.width, j.height, j.channels]).toEqual([16, 16, 3]);
    expect(Math.abs(j.data[0]! - 200)).toBeLessThanOrEqual(3);
    expect(Math.abs(j.data[1]! - 30)).toBeLessThanOrEqual(3);
  });

  it('names the broken file, and rejects empty class folders', () => {
    const bad = path.join(dir, 'broken');
    fs.mkdirSync(path.join(bad, 'k'), { recursive: true });
    fs.writeFileSync(path.join(bad, 'k', 'z.png'), 'not a png at all');
    const ds = readImageFolder(bad);
    expect(messageOf(() => ds.image(0))).toMatch(/broken\/k\/z\.png: magic: expected a PNG .* or JPEG/);
    const trunc = Buffer.from(PNG.sync.write(new PNG({ width: 4, height: 4 }))).subarray(0, 40);
    fs.writeFileSync(path.join(bad, 'k', 'z.png'), trunc);
    expect(messageOf(() => readImageFolder(bad).image(0))).toMatch(/z\.png: PNG data: expected a decodable PNG image/);
    fs.mkdirSync(path.join(bad, 'empty'));
    expect(messageOf(() => readImageFolder(bad))).toMatch(/class folders: expected at least one .* image in every class folder, got no images in "empty"/);
    expect(tagOf(() => readImageFolder(path.join(dir, 'nope')))).toBe('IoError');
  });
});

describe('feature files', () => {
  it('round-trips metad2a-features v1 and rejects bad manifests field by field', () => {
    const fsx = {
      name: 'mine',
      dim: 2,
      classes: [
        { label: 'a', count: 2, data: Float32Array.from([1, 2, 3, 4]) },
        { label: 'b', count: 1, data: Float32Array.from([5, 6]) },
      ],
    };
    const manifest = writeFeatureFile(path.join(dir, 'mine'), fsx, { extractor: 'x' });
    expect(manifest).toBe(path.join(dir, 'mine.features.json'));
    const back = resolveDataset(manifest);
    if (back.kind !== 'features') throw new Error('expected features');
    expect(back.featureSet.classes.map((c) => [c.label, c.count, Array.from(c.data)])).toEqual([
      ['a', 2, [1, 2, 3, 4]],
      ['b', 1, [5, 6]],
    ]);
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    const bad = path.join(dir, 'bad.features.json');
    fs.writeFileSync(bad, JSON.stringify({ ...m, classes: [{ label: 'a', count: -1 }] }));
    expect(messageOf(() => readFeatureFile(bad))).toMatch(/bad\.features\.json: classes\[0\]\.count: expected a non-negative integer, got -1/);
    fs.writeFileSync(bad, JSON.stringify({ ...m, classes: [{ label: 'a', count: 5 }] }));
    expect(messageOf(() => readFeatureFile(bad))).toMatch(/mine\.features\.npy: shape: expected \[5, 2\]/);
    fs.writeFileSync(bad, JSON.stringify({ ...m, format: 'other' }));
    expect(messageOf(() => readFeatureFile(bad))).toMatch(/format: expected "metad2a-features"/);
    fs.writeFileSync(bad, '{');
    expect(tagOf(() => readFeatureFile(bad))).toBe('ParseError');
  });

  it('carries a SHA-256 of its data, verified on load: overwritten bytes (NaN) are a named error, not garbage', () => {
    const fsx = {
      name: 'sum',
      dim: 2,
      classes: [
        { label: 'a', count: 2, data: Float32Array.from([1, 2, 3, 4]) },
        { label: 'b', count: 1, data: Float32Array.from([5, 6]) },
      ],
    };
    const manifest = writeFeatureFile(path.join(dir, 'sum'), fsx);
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    const npy = path.join(dir, 'sum.features.npy');
    const bytes = fs.readFileSync(npy);
    bytes.writeFloatLE(NaN, bytes.length - 8); // class b, row 0, column 0
    fs.writeFileSync(npy, bytes);
    const e = messageOf(() => readFeatureFile(manifest));
    expect(e).toMatch(/sum\.features\.npy: sha256: expected [0-9a-f]{64} \(the manifest's checksum\), got [0-9a-f]{64} \(the data changed after it was written\)/);
    expect(tagOf(() => readFeatureFile(manifest))).toBe('ParseError');
    // without a checksum (a hand-written manifest), non-finite values are still refused by name
    const { sha256: _drop, ...noSum } = m;
    fs.writeFileSync(manifest, JSON.stringify(noSum));
    expect(messageOf(() => readFeatureFile(manifest))).toMatch(/sum\.features\.npy: class 1 \(b\) row 0: expected finite feature values, got NaN/);
    fs.writeFileSync(manifest, JSON.stringify({ ...m, sha256: 'xyz' }));
    expect(messageOf(() => readFeatureFile(manifest))).toMatch(/sha256: expected 64 hexadecimal digits when present/);
  });

  it('reads a *bylabel.pt file (spec §1.2) through @metad2a/torch-io', () => {
    const file = path.join(__dirname, 'data', 'tinybylabel.pt');
    const src = resolveDataset(file);
    if (src.kind !== 'features') throw new Error('expected features');
    const want = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'tinybylabel.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
    expect(src.featureSet.dim).toBe(8);
    expect(src.featureSet.classes.map((c) => c.count)).toEqual([21, 25, 20]);
    src.featureSet.classes.forEach((c, k) => {
      const v = want[String(k)]!.values.flat(2) as number[];
      expect(Array.from(c.data)).toEqual(v.map((x) => Math.fround(x)));
    });
  });
});

describe('sklearn digits', () => {
  it('reads all 1,797 images as 8×8 grey, scaled ×255/16', () => {
    const ds = readDigitsCsv(path.join(__dirname, '..', 'data', 'digits', 'digits.csv.gz'));
    expect(ds.size).toBe(1797);
    expect(indicesByClass(ds).map((i) => i.length)).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // First row of digits.csv: 0,0,5,13,9,1,0,0,...
    expect(Array.from(ds.image(0).data.subarray(0, 4))).toEqual([0, 0, Math.round((5 * 255) / 16), Math.round((13 * 255) / 16)]);
    const bad = path.join(dir, 'digits-bad.csv');
    fs.writeFileSync(bad, '1,2,3\n');
    expect(messageOf(() => readDigitsCsv(bad))).toMatch(/digits-bad\.csv: line 1: expected 65 comma-separated integers/);
  });
});
