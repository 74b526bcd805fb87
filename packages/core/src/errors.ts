import * as E from 'fp-ts/lib/Either.js';

/** The closed set of failure kinds every package reports. */
export type ErrorTag =
  | 'ParseError' // a file or string does not have the expected form
  | 'ValidationError' // well-formed, but breaks a rule (an invalid graph, an out-of-range option)
  | 'IoError' // the file system said no
  | 'ShapeMismatch' // a tensor does not have the expected shape
  | 'CheckpointMismatch' // a set of named tensors does not match what a model expects
  | 'NonFiniteValues' // NaN or ±Infinity where only finite numbers are allowed (weights in a checkpoint)
  | 'IntegrityError' // a file's content does not match the checksum it carries
  | 'BackendError' // a tensor backend could not be selected or initialised
  | 'NotFound' // a name is not in a registry, a key not in a table
  | 'Unsupported' // a feature or format version this code does not handle
  | 'Aborted'; // the caller's AbortSignal stopped a long computation

/** A failure as a value: where (source, field), what was expected, what was found. */
export interface MetaD2AError {
  readonly _tag: ErrorTag;
  readonly message: string;
  /** The file, string or object being read (a path, `'arch string'`, a checkpoint name). */
  readonly source?: string;
  /** The field, key, position or tensor name inside the source. */
  readonly field?: string;
  readonly expected?: string;
  readonly got?: string;
  /** Several sub-problems (e.g. every mismatched tensor of a checkpoint). */
  readonly details?: readonly string[];
  readonly cause?: unknown;
}

export interface ErrorFields {
  source?: string;
  field?: string;
  expected?: string;
  got?: string;
  details?: readonly string[];
  cause?: unknown;
  /** Overrides the message built from the other fields. */
  message?: string;
}

function formatMessage(tag: ErrorTag, f: ErrorFields): string {
  if (f.message !== undefined) return f.message;
  const where = [f.source, f.field].filter((s) => s !== undefined && s !== '').join(': ');
  const what = f.expected !== undefined ? `expected ${f.expected}${f.got !== undefined ? `, got ${f.got}` : ''}` : f.got !== undefined ? `got ${f.got}` : tag;
  const head = where ? `${where}: ${what}` : what;
  return f.details && f.details.length > 0 ? `${head}\n  - ${f.details.join('\n  - ')}` : head;
}

export function makeError(tag: ErrorTag, fields: ErrorFields): MetaD2AError {
  return { _tag: tag, ...fields, message: formatMessage(tag, fields) };
}

export const parseError = (f: ErrorFields): MetaD2AError => makeError('ParseError', f);
export const validationError = (f: ErrorFields): MetaD2AError => makeError('ValidationError', f);
export const ioError = (f: ErrorFields): MetaD2AError => makeError('IoError', f);
export const shapeMismatch = (f: ErrorFields): MetaD2AError => makeError('ShapeMismatch', f);
export const notFound = (f: ErrorFields): MetaD2AError => makeError('NotFound', f);
export const unsupported = (f: ErrorFields): MetaD2AError => makeError('Unsupported', f);

/** The thrown form of a {@link MetaD2AError}, for code that is not written in Either style. */
export class MetaD2AException extends Error {
  readonly error: MetaD2AError;
  constructor(error: MetaD2AError) {
    super(error.message);
    this.name = `MetaD2A${error._tag}`;
    this.error = error;
    if (error.cause !== undefined) (this as { cause?: unknown }).cause = error.cause;
  }
}

/** Throw the error of a Left, return the value of a Right. */
export function unwrap<A>(e: E.Either<MetaD2AError, A>): A {
  if (E.isLeft(e)) throw new MetaD2AException(e.left);
  return e.right;
}

/** Throw a tagged error directly. */
export function fail(tag: ErrorTag, fields: ErrorFields): never {
  throw new MetaD2AException(makeError(tag, fields));
}

/** True when `x` is a thrown MetaD2A error (optionally of one tag). */
export function isMetaD2AException(x: unknown, tag?: ErrorTag): x is MetaD2AException {
  return x instanceof MetaD2AException && (tag === undefined || x.error._tag === tag);
}

/** Run `f`; a thrown MetaD2AException becomes its Left, anything else a Left of `tag`. */
export function tryCatchTagged<A>(f: () => A, tag: ErrorTag, fields: ErrorFields = {}): E.Either<MetaD2AError, A> {
  try {
    return E.right(f());
  } catch (err) {
    if (err instanceof MetaD2AException) return E.left(err.error);
    return E.left(makeError(tag, { ...fields, got: fields.got ?? String((err as Error)?.message ?? err), cause: err }));
  }
}

/** Await `p`; a MetaD2AException it rejects with becomes its Left (anything else still rejects: a bug, not an expected failure). */
export async function eitherOf<A>(p: Promise<A>): Promise<E.Either<MetaD2AError, A>> {
  try {
    return E.right(await p);
  } catch (err) {
    if (err instanceof MetaD2AException) return E.left(err.error);
    throw err;
  }
}
