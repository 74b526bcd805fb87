import type { GoldenFixture, TensorCheck } from '@metad2a/fixtures';

/** What the runner hands a handler: a fixture folder, or a graphs JSON file. */
export type FixtureTarget =
  | { readonly kind: 'folder'; readonly name: string; readonly path: string; readonly fixture: GoldenFixture }
  | { readonly kind: 'graphs'; readonly name: string; readonly path: string };

export interface RunOptions {
  /** Take every parameter from the fixture's `state_dict.pt` instead of `tensors.bin` (needs the .pt reader). */
  readonly weightsFromPt: boolean;
}

/**
 * A package's contribution to `npm run fixture-check`: which fixtures it checks and how.
 * Each handler lives in its own file in `handlers/` (one per package or fixture family) and
 * exports `handler`; the runner discovers them, so packages never edit each other's code.
 */
export interface FixtureHandler {
  /** Fixture names it checks: a folder's `manifest.fixture` (`gen-nb201`) or a graphs file's stem (`graphs-nb201`). */
  readonly fixtures: readonly string[];
  /** The package whose code is checked (for the report). */
  readonly packageName: string;
  run(target: FixtureTarget, opts: RunOptions): Promise<TensorCheck[]>;
}
