import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Write a file so that readers see either the old content or the complete new content, never a
 * partial file: write a temporary file beside the target, flush it to disk, rename it over the
 * target. If anything fails the temporary file is removed and the target is untouched.
 *
 * `content` is the whole file, or a function that writes it chunk by chunk (and may throw).
 */
export function writeFileAtomicSync(target: string, content: Uint8Array | string | ((write: (chunk: Uint8Array) => void) => void)): void {
  const dir = path.dirname(path.resolve(target));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  const fd = fs.openSync(tmp, 'w');
  let closed = false;
  try {
    const write = (chunk: Uint8Array): void => {
      let off = 0;
      while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
    };
    if (typeof content === 'function') content(write);
    else write(typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    closed = true;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (!closed) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* nothing to remove */
    }
    throw err;
  }
}

/** Promise form of {@link writeFileAtomicSync}. */
export async function writeFileAtomic(target: string, content: Uint8Array | string | ((write: (chunk: Uint8Array) => void) => void)): Promise<void> {
  writeFileAtomicSync(target, content);
}
