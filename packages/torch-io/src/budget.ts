/**
 * Size budgets for one decode. A small hostile file can ask for far more work than its size:
 * a memoised object copied thousands of times, many tensor views of one storage, deflated entries
 * (up to 1032:1 each) or overlapping zip entries. Every copy and every inflated byte is charged to
 * a budget proportional to the input, and the decode stops with a named ParseError instead of
 * allocating gigabytes.
 */
import { fail } from '@metad2a/core';

/** Default decoded-size budget: 256 MiB plus 4 bytes per input byte. */
export function defaultMaxDecodedBytes(inputBytes: number): number {
  return 256 * 2 ** 20 + 4 * inputBytes;
}

/** Default total-bytes budget for zip entries and gzip streams: the larger of 64 MiB and 16 × the input. */
export function defaultMaxInflatedBytes(inputBytes: number): number {
  return Math.max(64 * 2 ** 20, 16 * inputBytes);
}

/** Bytes charged per reference (an array slot) copied or created. */
export const REFERENCE_BYTES = 8;

export class DecodeBudget {
  private used = 0;
  constructor(
    readonly kind: 'decoded-size' | 'inflated-size',
    readonly limit: number,
    readonly source: string,
    /** The DecodeOptions field that raises the limit, for the message. */
    readonly option: string,
  ) {}

  get remaining(): number {
    return Math.max(0, this.limit - this.used);
  }

  /** Charge `bytes`; past the limit, a named ParseError that says what was being built (`what`). */
  charge(bytes: number, what: string): void {
    this.used += bytes;
    if (this.used > this.limit) this.exceeded(what, this.used);
  }

  exceeded(what: string, total: number): never {
    return fail('ParseError', {
      source: this.source,
      field: `${this.kind} budget (${what})`,
      expected: `at most ${this.limit} bytes in total (DecodeOptions.${this.option})`,
      got: `${total} bytes (an amplifying or bomb-like file; raise ${this.option} if the file is genuine)`,
    });
  }
}
