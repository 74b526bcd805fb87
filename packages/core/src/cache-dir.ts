import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The project's cache folder (feature caches, rebuilt meta-databases): `$METAD2A_CACHE_DIR`,
 * else `$XDG_CACHE_HOME/metad2a`, else `~/.cache/metad2a`.
 */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.METAD2A_CACHE_DIR) return env.METAD2A_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'metad2a');
  return path.join(os.homedir(), '.cache', 'metad2a');
}
