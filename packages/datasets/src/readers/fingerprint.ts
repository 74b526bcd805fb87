import * as fs from 'node:fs';
import * as path from 'node:path';

/** `absolute-path|size|mtime` of a file: changes when the file is replaced or edited. */
export function fileFingerprint(file: string): string {
  const st = fs.statSync(file);
  return `${path.resolve(file)}|${st.size}|${Math.round(st.mtimeMs)}`;
}
