import * as E from 'fp-ts/lib/Either.js';
import { validationError, type MetaD2AError } from '@metad2a/core';

/** Where the queue lives: a Redis (or Redis-compatible) server, a database number, and the queue's name on it. */
export interface QueueLocation {
  /** The URL as given (credentials included; {@link describeLocation} prints it without them). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
  /** Name of the build's queues on that server (`<name>` for training jobs, `<name>-results` for results). */
  readonly name: string;
}

/** Default queue name; builds that share one Redis database need names of their own (`--queue-name`). */
export const DEFAULT_QUEUE_NAME = 'metad2a-db';
/** Key prefix of every key the queues keep in Redis. */
export const KEY_PREFIX = 'metad2a';

/**
 * Parse `redis://[user[:password]@]host[:port][/db]` (or `rediss://` for TLS) into a
 * {@link QueueLocation}. Anything else is a named error: the CLI passes `--queue` through here.
 */
export function parseQueueUrl(url: string, name: string = DEFAULT_QUEUE_NAME): E.Either<MetaD2AError, QueueLocation> {
  const bad = (expected: string, got: string) => E.left(validationError({ source: '--queue', field: url, expected, got }));
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('a URL redis://HOST:PORT/DB', 'not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return bad('the scheme redis:// or rediss://', JSON.stringify(u.protocol));
  if (!u.hostname) return bad('a host name', 'none');
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbPart = u.pathname.replace(/^\//, '');
  if (dbPart !== '' && !/^\d+$/.test(dbPart)) return bad('a database number after the host (redis://HOST:PORT/0)', JSON.stringify(u.pathname));
  const db = dbPart === '' ? 0 : Number(dbPart);
  if (u.search || u.hash) return bad('no query or fragment', JSON.stringify(u.search + u.hash));
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    return E.left(
      validationError({ source: '--queue-name', field: name, expected: 'letters, digits, ".", "_" or "-" (the name goes into Redis keys)', got: JSON.stringify(name) }),
    );
  }
  return E.right({
    url,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    tls: u.protocol === 'rediss:',
    name,
  });
}

/** The location without credentials, for messages and logs. */
export function describeLocation(l: QueueLocation): string {
  return `${l.tls ? 'rediss' : 'redis'}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}/${l.db} queue ${l.name}`;
}

/** BullMQ connection options for a location (ioredis driver). */
export function connectionOptions(l: QueueLocation) {
  return {
    host: l.host,
    port: l.port,
    db: l.db,
    ...(l.username !== undefined ? { username: l.username } : {}),
    ...(l.password !== undefined ? { password: l.password } : {}),
    ...(l.tls ? { tls: {} } : {}),
    // workers block on Redis: BullMQ requires unlimited retries per request for them
    maxRetriesPerRequest: null,
  };
}
