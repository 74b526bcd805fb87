import * as fs from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { inLists, type ArchGraph } from '@metad2a/core';
import { checkEqual, type TensorCheck } from '@metad2a/fixtures';
import {
  decodeMbv3,
  decodeNb201,
  encodeMbv3,
  encodeNb201,
  formatNb201,
  isValidDag,
  isValidMbv3,
  isValidNb201,
  mbv3ConfigFrom,
  nb201GraphFromRows,
  nb201Matrix,
  nb201Rows,
  parseNb201,
} from '@metad2a/search-spaces';
import type { FixtureHandler } from '../handler';

interface FixtureGraph {
  label?: string;
  arch_str?: string;
  config?: unknown;
  rows?: number[][];
  types: number[];
  edges: [number, number][];
  in_lists?: number[][];
  matrix4x4?: number[][];
  valid?: boolean;
  official_is_valid?: boolean;
  official_is_valid_DAG?: boolean;
  decoded_str?: string | null;
  decoded_config?: unknown;
}

interface GraphsFile {
  valid: FixtureGraph[];
  invalid: FixtureGraph[];
  valid_noncanonical: FixtureGraph[];
}

const asGraph = (g: FixtureGraph): ArchGraph => ({ types: g.types, edges: g.edges });

function nb201Checks(fx: GraphsFile): TensorCheck[] {
  const checks: TensorCheck[] = [];
  fx.valid.forEach((g, i) => {
    const parsed = parseNb201(g.arch_str!);
    if (E.isLeft(parsed)) {
      checks.push(checkEqual(`valid[${i}] parse`, parsed.left.message, g.arch_str));
      return;
    }
    const cell = parsed.right;
    const enc = encodeNb201(cell);
    const fromRows = nb201GraphFromRows(g.rows!);
    const dec = decodeNb201(asGraph(g));
    checks.push(
      checkEqual(
        `valid[${i}] ${g.arch_str}: encoding (rows, types, edges, in-lists, 4x4 matrix)`,
        {
          rows: nb201Rows(cell),
          types: enc.types,
          edges: enc.edges,
          rowsEdges: E.isRight(fromRows) ? fromRows.right.edges : null,
          inLists: inLists(enc),
          matrix: nb201Matrix(cell, 'op'),
        },
        { rows: g.rows, types: g.types, edges: g.edges, rowsEdges: g.edges, inLists: g.in_lists, matrix: g.matrix4x4 },
      ),
    );
    checks.push(
      checkEqual(
        `valid[${i}] ${g.arch_str}: verdict and decoded string`,
        { valid: isValidNb201(asGraph(g)), decoded: E.isRight(dec) ? formatNb201(dec.right) : null },
        { valid: g.valid, decoded: g.decoded_str },
      ),
    );
  });
  for (const g of [...fx.invalid, ...fx.valid_noncanonical]) {
    const dec = decodeNb201(asGraph(g));
    checks.push(
      checkEqual(
        `${g.label}: is_valid_NAS201, is_valid_DAG, decoded string`,
        { valid: isValidNb201(asGraph(g)), dag: isValidDag(asGraph(g)), decoded: E.isRight(dec) ? formatNb201(dec.right) : null },
        { valid: g.official_is_valid, dag: g.official_is_valid_DAG, decoded: g.decoded_str },
      ),
    );
  }
  return checks;
}

function mbv3Checks(fx: GraphsFile): TensorCheck[] {
  const checks: TensorCheck[] = [];
  fx.valid.forEach((g, i) => {
    const cfg = mbv3ConfigFrom(g.config);
    if (E.isLeft(cfg)) {
      checks.push(checkEqual(`valid[${i}] config`, cfg.left.message, 'a valid config'));
      return;
    }
    const enc = encodeMbv3(cfg.right);
    const dec = decodeMbv3(asGraph(g));
    checks.push(
      checkEqual(
        `valid[${i}] (${g.label ?? 'OFA config'}): encoding (types, edges, in-lists)`,
        { types: enc.types, edges: enc.edges, inLists: inLists(enc) },
        { types: g.types, edges: g.edges, inLists: g.in_lists },
      ),
    );
    checks.push(
      checkEqual(
        `valid[${i}]: verdict and decoded config`,
        { valid: isValidMbv3(asGraph(g)), decoded: E.isRight(dec) ? dec.right : null },
        { valid: g.valid, decoded: g.decoded_config },
      ),
    );
  });
  for (const g of [...fx.invalid, ...fx.valid_noncanonical]) {
    const dec = decodeMbv3(asGraph(g));
    checks.push(
      checkEqual(
        `${g.label}: is_valid_ofa_mbv3, is_valid_DAG, decoded config`,
        { valid: isValidMbv3(asGraph(g)), dag: isValidDag(asGraph(g)), decoded: E.isRight(dec) ? dec.right : null },
        { valid: g.official_is_valid, dag: g.official_is_valid_DAG, decoded: g.decoded_config },
      ),
    );
  }
  return checks;
}

/** graphs-nb201 / graphs-mbv3: official encodings, validity verdicts and decodings (spec §3.2, §4.2). */
export const handler: FixtureHandler = {
  fixtures: ['graphs-nb201', 'graphs-mbv3'],
  packageName: '@metad2a/search-spaces',
  async run(target) {
    if (target.kind !== 'graphs') throw new Error(`${target.name} is a graphs JSON file`);
    const fx = JSON.parse(fs.readFileSync(target.path, 'utf8')) as GraphsFile;
    return target.name === 'graphs-nb201' ? nb201Checks(fx) : mbv3Checks(fx);
  },
};
