import * as E from 'fp-ts/lib/Either.js';
import { type MetaD2AError, MetaD2AException, notFound, validationError } from './errors';

/**
 * A name → factory table. Search spaces and set encoders are chosen by name from
 * registries so that a user can plug in their own without touching the other packages.
 */
export class Registry<T> {
  private readonly entries = new Map<string, { value: T; description: string }>();

  constructor(readonly kind: string) {}

  /** Add an entry; registering a taken name is an error unless `replace` is set. */
  register(name: string, value: T, opts: { description?: string; replace?: boolean } = {}): void {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
      throw new MetaD2AException(
        validationError({ source: `${this.kind} registry`, field: 'name', expected: 'lower-case letters, digits, ".", "_" or "-"', got: JSON.stringify(name) }),
      );
    }
    if (this.entries.has(name) && !opts.replace) {
      throw new MetaD2AException(
        validationError({ source: `${this.kind} registry`, field: name, expected: 'a name not yet registered (pass replace: true to override)', got: 'already registered' }),
      );
    }
    this.entries.set(name, { value, description: opts.description ?? '' });
  }

  /**
   * A package's own registration (on import): registers `name` unless it is already bound, so that
   * importing twice is harmless and a user's earlier registration of the name wins. The one style
   * every package uses for what it ships.
   */
  registerDefault(name: string, value: T, opts: { description?: string } = {}): void {
    if (!this.entries.has(name)) this.register(name, value, opts);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry, or a NotFound error that lists the known names. */
  lookup(name: string): E.Either<MetaD2AError, T> {
    const e = this.entries.get(name);
    if (e) return E.right(e.value);
    return E.left(notFound({ source: `${this.kind} registry`, field: name, expected: `one of: ${this.names().join(', ') || '(none registered)'}`, got: JSON.stringify(name) }));
  }

  /** The entry; throws the NotFound error of {@link lookup}. */
  get(name: string): T {
    const r = this.lookup(name);
    if (E.isLeft(r)) throw new MetaD2AException(r.left);
    return r.right;
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  describe(): { name: string; description: string }[] {
    return this.names().map((name) => ({ name, description: this.entries.get(name)!.description }));
  }
}
