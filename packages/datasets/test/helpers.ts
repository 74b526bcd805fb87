import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh temporary folder, removed after the test file. */
export function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `metad2a-datasets-${tag}-`));
  afterAll(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The MetaD2A error tag of a thrown exception (or 'none'). */
export function tagOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { error?: { _tag?: string } }).error?._tag ?? `untagged: ${(e as Error).message}`;
  }
  return 'none';
}

export function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

/** Big-endian IDX bytes for u8 data. */
export function idxBytes(dims: number[], data: Uint8Array, typeByte = 0x08): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = typeByte;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}
