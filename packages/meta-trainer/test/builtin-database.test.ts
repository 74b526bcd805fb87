import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDatabase, builtinDatabaseDir, readExportManifest, resolveDatabase } from '../src';

describe('builtin:nb201', () => {
  it('is rebuilt from the committed export into the cache once, with the manifest counts', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-builtin-'));
    const env = { METAD2A_CACHE_DIR: cache };
    const manifest = readExportManifest(builtinDatabaseDir('nb201'));
    const r = resolveDatabase('builtin:nb201', env);
    expect(path.dirname(r.file)).toBe(path.join(cache, 'meta-db'));
    expect(r.manifest!.counts).toEqual(manifest.counts);
    const db = MetaDatabase.open(r.file, { readonly: true });
    expect(db.records()).toHaveLength(manifest.counts.records);
    expect(db.tasks()).toHaveLength(manifest.counts.tasks);
    expect(db.datasets()).toHaveLength(manifest.counts.datasets);
    expect(db.integrityProblems()).toEqual([]);
    for (const rec of db.records()) {
      expect(rec.space).toBe('nb201');
      expect(rec.metric).toBe('top1-test@nb201-db');
      expect(rec.accuracy).toBeGreaterThanOrEqual(0);
      expect(rec.accuracy).toBeLessThanOrEqual(100);
    }
    db.close();
    const mtime = fs.statSync(r.file).mtimeMs;
    expect(resolveDatabase('builtin:nb201', env).file).toBe(r.file);
    expect(fs.statSync(r.file).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(path.join(cache, 'meta-db')).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(() => resolveDatabase('builtin:nope', env)).toThrow(/builtin:nope: expected one of builtin:nb201/);
  });
});
