import * as fs from 'node:fs';

/** fs.readFileSync refuses files over 2 GiB (e.g. `imgnet32bylabel.pt`); larger files are read in chunks. */
const READ_FILE_LIMIT = 2 ** 31 - 1;

/** The whole file as one Uint8Array (up to 4 GiB), read in `chunkSize` pieces when it is large. */
export function readFileBytes(path: string, chunkSize = 1 << 26, limit = READ_FILE_LIMIT): Uint8Array {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= limit) return fs.readFileSync(fd);
    const out = new Uint8Array(size);
    let pos = 0;
    while (pos < size) {
      const n = fs.readSync(fd, out, pos, Math.min(chunkSize, size - pos), pos);
      if (n <= 0) throw new Error(`${path}: unexpected end of file at byte ${pos} of ${size}`);
      pos += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
