import * as E from 'fp-ts/lib/Either.js';
import { describeConstraints, hasConstraints, searchSpaces, type FactColumn } from '@metad2a/core';
import type { SearchCandidate, SearchResult } from './search';

const f = (x: number | undefined, digits: number): string => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((x, c) => (c === cells.length - 1 ? x : x.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function factCell(c: SearchCandidate, col: FactColumn): string {
  const v = c.facts[col.field];
  if (v === undefined) return '-';
  return typeof v === 'number' && col.digits !== undefined ? f(v, col.digits) : String(v);
}

/** The `pred.pct` column is there when the candidates carry a predicted percentile (a search with reference cells). */
const hasPercentile = (c: SearchCandidate | undefined): boolean => c?.predictedPercentile !== undefined;

function candidateRow(c: SearchCandidate, columns: readonly FactColumn[], latency: boolean, percentile: boolean): string[] {
  const facts = c.facts.kind === 'none' ? [] : columns.map((col) => factCell(c, col));
  return [
    String(c.rank),
    f(c.predictedAccuracy, 2),
    ...(percentile ? [f(c.predictedPercentile, 1)] : []),
    f(c.cost?.mflops, 2),
    f(c.cost?.mparams, 3),
    ...(latency ? [f(c.latencyMs, 3)] : []),
    ...facts,
    c.arch,
  ];
}

function candidateHeader(c: SearchCandidate | undefined, columns: readonly FactColumn[], device: string | undefined): string[] {
  const facts = !c || c.facts.kind === 'none' ? [] : columns.map((col) => col.header);
  return ['#', 'pred.acc', ...(hasPercentile(c) ? ['pred.pct'] : []), 'MFLOPs', 'Mparams', ...(device !== undefined ? [`ms ${device}`] : []), ...facts, 'architecture'];
}

/** The fact columns of the registered space `name` (none for a space that is not registered). */
function factColumnsOf(name: string): readonly FactColumn[] {
  const space = searchSpaces.lookup(name);
  return E.isRight(space) ? (space.right.factColumns ?? []) : [];
}

/** The human-readable report of a search: settings, top-k table, phase timings. */
export function formatSearchReport(r: SearchResult, extra: { featuresSeconds?: number; backendLine?: string; factColumns?: readonly FactColumn[] } = {}): string {
  const t = r.timings;
  const columns = extra.factColumns ?? factColumnsOf(r.space);
  const device = r.settings.constraints.device;
  const lines = [
    extra.backendLine ?? `backend: ${r.backend}`,
    `dataset: ${r.dataset.name} (${r.dataset.classes} classes, ${r.dataset.dim}-d features)  space: ${r.space}  seed: ${r.seed}`,
    `candidates: ${r.generation.unique} unique valid of ${r.generation.attempts} decoded (${r.generation.valid} valid, ${r.generation.batches} batches); ${r.settings.resamples} resamples × ${r.settings.perClass} per class` +
      (hasConstraints(r.settings.constraints) ? `; constraints: ${describeConstraints(r.settings.constraints)}` : ''),
    `pred.acc = predicted ${r.predicts}`,
    ...(hasPercentile(r.top[0])
      ? [`pred.pct = where the predictor puts the cell among ${r.settings.referenceCells} uniformly random architectures of the space for this data set (percentile)`]
      : []),
    ...(r.settings.topDistance > 0
      ? [`top: the best cells that differ from every better one shown in at least ${r.settings.topDistance} choices (rank: the place in the full ranking)`]
      : []),
    '',
    table(
      candidateHeader(r.top[0], columns, device),
      r.top.map((c) => candidateRow(c, columns, device !== undefined, hasPercentile(r.top[0]))),
    ),
    '',
    ...(r.fastPath
      ? [`slower path: ${[r.fastPath.generation && `generation: ${r.fastPath.generation}`, r.fastPath.ranking && `ranking: ${r.fastPath.ranking}`].filter(Boolean).join('; ')}`]
      : []),
    ...r.warnings.map((w) => `warning: ${w}`),
    `time: ${extra.featuresSeconds !== undefined ? `features ${extra.featuresSeconds.toFixed(2)} s, ` : ''}generation ${t.generation.toFixed(2)} s, set encoding ${t.setEncoding.toFixed(3)} s, graph encoding ${t.graphEncoding.toFixed(3)} s, scoring ${t.scoring.toFixed(3)} s; search (generation + ranking) ${t.search.toFixed(2)} s${t.reference > 0 ? `; reference cells ${t.reference.toFixed(2)} s` : ''}`,
  ];
  return lines.join('\n');
}

/** The report of a given shortlist ranked by the predictor (`metad2a rank`): what pred.acc is, then every candidate. */
export function formatRankReport(
  r: {
    readonly space: string;
    readonly predicts: string;
    readonly dataset: { readonly name: string; readonly classes: number; readonly dim: number };
    readonly resamples: number;
    readonly seed: number;
    readonly ranking: readonly (SearchCandidate & { readonly proxyScore?: number })[];
    readonly rerank?: { readonly proxy: string; readonly top: number; readonly weight: number; readonly seconds: number };
  },
  extra: { backendLine?: string; factColumns?: readonly FactColumn[] } = {},
): string {
  const columns = extra.factColumns ?? factColumnsOf(r.space);
  const proxyCol = r.rerank !== undefined;
  const header = [...candidateHeader(r.ranking[0], columns, undefined)];
  if (proxyCol) header.splice(2, 0, r.rerank!.proxy);
  const rows = r.ranking.map((c) => {
    const row = candidateRow(c, columns, false, hasPercentile(r.ranking[0]));
    if (proxyCol) row.splice(2, 0, c.proxyScore === undefined ? '-' : f(c.proxyScore, 3));
    return row;
  });
  return [
    ...(extra.backendLine ? [extra.backendLine] : []),
    `dataset: ${r.dataset.name} (${r.dataset.classes} classes, ${r.dataset.dim}-d features)  space: ${r.space}  ${r.ranking.length} given architectures, ${r.resamples} resamples, seed ${r.seed}`,
    `pred.acc = predicted ${r.predicts}`,
    ...(r.rerank
      ? [
          `re-ranked: the first ${r.rerank.top} by (1 − ${r.rerank.weight})·predictor rank + ${r.rerank.weight}·${r.rerank.proxy} rank (${r.rerank.proxy}: ${r.rerank.seconds.toFixed(2)} s)`,
        ]
      : []),
    '',
    table(header, rows),
  ].join('\n');
}

/** Version of the JSON document of {@link searchReportJson}; bumped on any incompatible change. */
export const SEARCH_JSON_SCHEMA_VERSION = 1;

/**
 * The machine-readable form (`--json`), schema version 1: `schemaVersion`, `space`, `dataset`,
 * `seed`, `backend`, `settings`, `generation`, `timings` (every field in seconds, the unit in its
 * name: `featuresSeconds`, `generationSeconds`, …), `top` (the first k candidates; accuracies and
 * `predictedPercentile` in percent, `cost.mflops` / `cost.mparams` in millions) and, only with `all`, `ranking` (every
 * candidate, best first).
 */
export function searchReportJson(r: SearchResult, extra: { featuresSeconds?: number; all?: boolean } = {}): Record<string, unknown> {
  const { timings: t, top, ranking, ...rest } = r;
  return {
    schemaVersion: SEARCH_JSON_SCHEMA_VERSION,
    ...rest,
    timings: {
      ...(extra.featuresSeconds !== undefined ? { featuresSeconds: extra.featuresSeconds } : {}),
      generationSeconds: t.generation,
      setEncodingSeconds: t.setEncoding,
      graphEncodingSeconds: t.graphEncoding,
      scoringSeconds: t.scoring,
      rankingSeconds: t.ranking,
      searchSeconds: t.search,
      referenceSeconds: t.reference,
    },
    top,
    ...(extra.all ? { ranking } : {}),
  };
}
