/**
 * Renderings of the transfer evaluation: markdown tables for the READMEs and a hand-written SVG of
 * each task's percentiles (deterministic bytes: no dates, coordinates rounded).
 */
import { describeMachine } from './environment';
import { PALETTE, esc, fmt, legendRows, textWidth } from './svg-plot';
import type { TransferMethod, TransferResult } from './transfer';
import type { BootstrapCI } from './transfer-stats';

/** How a method is named in the tables and the plot (`k` = MetaD2A's top-k). */
export function transferMethodLabel(m: TransferMethod, k: number): string {
  switch (m) {
    case 'metad2a-top1':
      return 'MetaD2A top-1';
    case 'metad2a-best-of-top':
      return `MetaD2A best of top-${k}`;
    case 'nb201-cifar10':
      return 'NB201 CIFAR-10 winner';
    case 'nb201-imagenet16-120':
      return 'NB201 ImageNet16-120 winner';
    case 'ofa-oracle-best':
      return "OFA predictor's best";
    case 'best-known':
      return 'best known';
    default: {
      const [kind, name] = m.split(':') as [string, string];
      const proxy = name === 'naswot' ? 'NASWOT' : name;
      return kind === 'rerank' ? `MetaD2A re-ranked by ${proxy}, top-1` : `${proxy} top-1`;
    }
  }
}

/** What the plan's reference picks are, in words (only those the result has). */
function referenceNote(r: TransferResult): string {
  const notes: string[] = [];
  if (r.methods.includes('nb201-cifar10')) notes.push("NB201 winners: the best cells of NB201's 200-epoch table (test accuracy), trained here with the recipe. ");
  if (r.methods.includes('ofa-oracle-best'))
    notes.push(
      "OFA predictor's best: the subnet OFA's ImageNet accuracy predictor rates best among 10,000 distinct uniform subnets (the database builder's good pool), trained here with the recipe. ",
    );
  return notes.join('');
}

const f1 = (v: number): string => v.toFixed(1);
const rho = (v: number, digits = 2): string => (Number.isFinite(v) ? v.toFixed(digits) : 'undefined');
/** A difference with its sign (one decimal). */
const signed = (v: number): string => {
  const r = Math.abs(v).toFixed(1);
  return `${v < 0 && r !== '0.0' ? '−' : '+'}${r}`;
};
const ci = (c: BootstrapCI | null, digits = 1): string =>
  c === null ? 'undefined' : c.n === 1 ? `${c.mean.toFixed(digits)} (1 task)` : `${c.mean.toFixed(digits)} [${c.lo.toFixed(digits)}, ${c.hi.toFixed(digits)}]`;
/** `builtin:digits/0-3-7` → `digits/0-3-7`, `source:latin-sans/…` → `latin-sans/…` */
const short = (name: string): string => name.replace(/^(builtin|source):/, '');

/** The evaluation as markdown: settings, summaries per source and overall, wins, top-k overlap, one row per task. */
export function transferMarkdown(r: TransferResult): string {
  const k = r.settings.top;
  const label = (m: TransferMethod) => transferMethodLabel(m, k);
  const s = r.settings;
  const lines: string[] = [];
  lines.push(`### Transfer to held-out tasks: plan \`${r.plan.name}\`, recipe \`${r.plan.recipe.name}\``);
  lines.push('');
  lines.push(
    `Model \`${r.model.name}\` (predicts ${r.model.predicts}). On each of the ${r.plan.tasks} tasks MetaD2A searched once per seed (${s.seeds.join(', ')}; ${s.candidates} candidates, ${s.resamples} resamples) with the stages of \`metad2a search\`; its top-1 and the best of its top-${k}${(s.topDistance ?? 0) > 0 ? ` (as \`metad2a search --top-distance ${s.topDistance}\` chooses it: each cell at least ${s.topDistance} choices from every better one)` : ''} were trained with the plan's recipe and seed rule (metric \`${r.plan.metric}\`)${(s.replicates ?? 1) > 1 ? `; every cell's accuracy (random cells and picks) is the mean of ${s.replicates} trainings with different seeds (replicate 0 the plan's record)` : ''}. **Percentile** = mid-rank of a cell's accuracy among the task's uniformly random cells of the plan, trained the same way (100: better than every one; at least ${s.minRandomCells} per task). ${s.proxies.names.length > 0 ? `${s.proxies.names.map((p) => label(`proxy:${p}`)).join(' and ')}: the proxy's best cell over the same pool as MetaD2A — ${s.proxies.pool} — scored on ${s.proxies.batch} training images of the task with the recipe's network (C ${s.proxies.network?.C}, N ${s.proxies.network?.N}), seed ${s.proxies.seed}. ` : ''}${s.rerank ? `${label(`rerank:${s.rerank.proxy}`)}: the search's re-ranking stage (as \`metad2a search --rerank ${s.rerank.proxy}\`) on the first ${s.rerank.top} of each ranking, weight ${s.rerank.weight}. ` : ''}${referenceNote(r)}Best known: the best record of the task (random cells and every pick). Seeded picks are averaged over the seeds; intervals are 95 % percentile-bootstrap intervals over tasks (${s.bootstrap.resamples} resamples, seed ${s.bootstrap.seed}).`,
  );
  lines.push('');
  const summaryTable = (title: string, of: (g: TransferResult['summary'][number]) => Readonly<Partial<Record<TransferMethod, BootstrapCI>>>) => {
    lines.push(title, '', `| source | tasks | ${r.methods.map(label).join(' | ')} | predictor Spearman |`, `|---|---:|${r.methods.map(() => '---:').join('|')}|---:|`);
    for (const g of r.summary)
      lines.push(`| ${g.group === 'all' ? '**all**' : short(g.group)} | ${g.tasks} | ${r.methods.map((m) => ci(of(g)[m] ?? null)).join(' | ')} | ${ci(g.spearman, 2)} |`);
    lines.push('');
  };
  summaryTable('**Mean percentile among the random cells** [95 % interval]', (g) => g.percentile);
  summaryTable('**Mean accuracy (%)** [95 % interval]', (g) => g.accuracy);
  lines.push(
    `**The printed accuracy against the measured one** on each task's random cells (printed − measured, points; mean over seeds, then over tasks [95 % interval]): ${r.summary
      .map((g) => `${g.group === 'all' ? '**all**' : short(g.group)} mean absolute error ${ci(g.predictionMae)}, bias ${ci(g.predictionBias)}`)
      .join('; ')}.`,
  );
  lines.push('');
  lines.push('**Per seed** (means over all tasks)');
  lines.push('');
  lines.push(
    `| seed | ${label('metad2a-top1')} percentile | its predicted percentile (the search's \`pred.pct\`) | ${label('metad2a-best-of-top')} percentile | predictor Spearman |`,
  );
  lines.push('|---:|---:|---:|---:|---:|');
  for (const p of r.perSeed) lines.push(`| ${p.seed} | ${f1(p.top1Percentile)} | ${f1(p.top1PredictedPercentile)} | ${f1(p.bestOfTopPercentile)} | ${rho(p.spearman)} |`);
  lines.push('');
  const against = (a: string): string => (a === 'nb201-both' ? 'both NB201 winners' : label(a as TransferMethod));
  lines.push(
    `**${label('metad2a-top1')} (mean over seeds) is more accurate than** ${r.wins.map((w) => `${against(w.against)} on ${w.wins} of ${w.tasks} tasks${w.ties !== undefined ? ` (as accurate on ${w.ties})` : ''}`).join('; ')}.`,
  );
  lines.push('');
  if (r.wins.some((w) => w.percentileDifference)) {
    lines.push(
      `**Its percentile minus theirs** (mean over tasks [95 % interval]): ${r.wins
        .flatMap((w) =>
          w.percentileDifference
            ? [`${against(w.against)} ${signed(w.percentileDifference.mean)} [${signed(w.percentileDifference.lo)}, ${signed(w.percentileDifference.hi)}]`]
            : [],
        )
        .join('; ')}.`,
    );
    lines.push('');
  }
  const ots = r.oneTrainingSearch;
  if (ots && ots.length > 0) {
    const n = r.settings.replicates ?? 1;
    const mine = (a: string) => r.wins.find((w) => w.against === a);
    lines.push(
      `**Random search that trains each random cell once** (a yardstick for the wins above; MetaD2A trains nothing): the best of a task's random cells by one training, judged by the mean of its other ${n - 1} trainings against the reference's same trainings, each of the ${n} trainings in turn. More accurate than ${ots
        .map((o) => {
          const w = mine(o.against);
          return `${against(o.against)} in ${o.above} of ${o.comparisons} (as accurate in ${o.equal}; ${f1((100 * o.above) / o.comparisons)} %${w ? `, against MetaD2A's ${w.wins} of ${w.tasks} tasks, ${f1((100 * w.wins) / w.tasks)} %` : ''})`;
        })
        .join('; ')}.`,
    );
    lines.push('');
  }
  const ag = r.rankingAgreement;
  if (ag) {
    lines.push(
      `**The predictor's ranking between tasks**: Spearman between two tasks' scores of the same ${ag.cells} cells (every task's random cells), mean ${rho(ag.mean, 3)} over ${ag.pairs} task pairs (lowest ${rho(ag.min, 3)}${ag.betweenSources !== null ? `; tasks of different sources ${rho(ag.betweenSources, 3)}` : ''}). 1 would be one ranking for every data set: the data set would then move only the level of the scores, and what differs between the tasks' picks would come from the generator's candidates.`,
    );
    lines.push('');
  }
  const sources = [...new Set(r.tasks.map((t) => t.source))];
  lines.push(`**Overlap of MetaD2A's top-${k} between sources**: mean number of cells (of ${k}, same computation) two tasks' top-${k}s share, over task pairs and seeds.`);
  lines.push('');
  lines.push(`| | ${sources.map(short).join(' | ')} |`);
  lines.push(`|---|${sources.map(() => '---:').join('|')}|`);
  for (const a of sources) {
    const cells = sources.map((b) => {
      const o = r.overlap.find((x) => (x.a === a && x.b === b) || (x.a === b && x.b === a));
      return o?.mean === null || o === undefined ? '—' : o.mean.toFixed(2);
    });
    lines.push(`| ${short(a)} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('**Per task**: accuracy % (percentile)');
  lines.push('');
  lines.push(`| task | random cells: n, mean, best | ${r.methods.map(label).join(' | ')} | Spearman |`);
  lines.push(`|---|---|${r.methods.map(() => '---:').join('|')}|---:|`);
  for (const t of r.tasks)
    lines.push(
      `| ${short(t.task)} | ${t.random.count}, ${f1(t.random.mean)}, ${f1(t.random.best)} | ${r.methods.map((m) => `${f1(t.methods[m]!.accuracy)} (${f1(t.methods[m]!.percentile)})`).join(' | ')} | ${rho(t.spearman)} |`,
    );
  lines.push('');
  lines.push(
    `Trainings: ${r.trainings.trained} picks trained by this run (${r.trainings.trainSeconds.toFixed(0)} s), ${r.trainings.reused} found in the database. Measured on: ${describeMachine(r.machine)}.`,
  );
  return `${lines.join('\n')}\n`;
}

/** Marker shapes of the plot's series, in method order. */
const MARKERS = ['circle', 'square', 'diamond', 'triangle', 'triangle-down', 'cross', 'plus'] as const;

function marker(shape: (typeof MARKERS)[number], x: number, y: number, color: string): string {
  const r = 4.5;
  switch (shape) {
    case 'circle':
      return `<circle cx="${fmt(x)}" cy="${fmt(y)}" r="${r}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${fmt(x - r)}" y="${fmt(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'diamond':
      return `<polygon points="${fmt(x)},${fmt(y - r - 1)} ${fmt(x + r + 1)},${fmt(y)} ${fmt(x)},${fmt(y + r + 1)} ${fmt(x - r - 1)},${fmt(y)}" fill="${color}"/>`;
    case 'triangle':
      return `<polygon points="${fmt(x)},${fmt(y - r - 1)} ${fmt(x + r + 1)},${fmt(y + r)} ${fmt(x - r - 1)},${fmt(y + r)}" fill="${color}"/>`;
    case 'triangle-down':
      return `<polygon points="${fmt(x)},${fmt(y + r + 1)} ${fmt(x + r + 1)},${fmt(y - r)} ${fmt(x - r - 1)},${fmt(y - r)}" fill="${color}"/>`;
    case 'cross':
      return `<path d="M${fmt(x - r)},${fmt(y - r)}L${fmt(x + r)},${fmt(y + r)}M${fmt(x - r)},${fmt(y + r)}L${fmt(x + r)},${fmt(y - r)}" stroke="${color}" stroke-width="2.5"/>`;
    case 'plus':
      return `<path d="M${fmt(x - r)},${fmt(y)}L${fmt(x + r)},${fmt(y)}M${fmt(x)},${fmt(y - r)}L${fmt(x)},${fmt(y + r)}" stroke="${color}" stroke-width="2.5"/>`;
  }
}

/**
 * The percentile of every method on every task (tasks along x, grouped by source; y 0–100), with
 * the spread of MetaD2A's top-1 over the seeds as a vertical bar and the goals (80th and 95th
 * percentile) as dashed lines. The best-known cell is left out (it is the ceiling, ~100).
 */
export function transferSvg(r: TransferResult): string {
  const k = r.settings.top;
  const methods = r.methods.filter((m) => m !== 'best-known');
  const labels = r.tasks.map((t) => short(t.task));
  const title = `Percentile among each held-out task's ≥ ${Math.min(...r.tasks.map((t) => t.random.count))} random cells (plan ${r.plan.name}, recipe ${r.plan.recipe.name})`;
  const W = Math.max(640, 120 + r.tasks.length * 44, textWidth(title, 14) + 40);
  const m0 = { left: 64, right: 24, top: 40 };
  const legend = legendRows(
    methods.map((m) => transferMethodLabel(m, k)),
    W - m0.left - m0.right,
  );
  const labelDrop = Math.ceil(Math.max(...labels.map((l) => textWidth(l, 11))) * Math.sin(Math.PI / 4)) + 12;
  const plotH = 320;
  const bottom = labelDrop + 24 + legend.length * 20 + 12;
  const H = m0.top + plotH + bottom;
  const x0 = m0.left;
  const x1 = W - m0.right;
  const yBase = m0.top + plotH;
  const step = (x1 - x0) / r.tasks.length;
  const px = (i: number, j: number): number => x0 + step * (i + 0.5) + (j - (methods.length - 1) / 2) * Math.min(5, step / (methods.length + 1));
  const py = (v: number): number => yBase - (v / 100) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (const t of [0, 20, 40, 60, 80, 100]) {
    parts.push(`<line x1="${x0}" y1="${fmt(py(t))}" x2="${x1}" y2="${fmt(py(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${fmt(py(t))}" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  }
  for (const [goal, text] of [
    [80, 'goal: top-1 ≥ 80'],
    [95, `goal: best of top-${k} ≥ 95`],
  ] as const) {
    parts.push(`<line x1="${x0}" y1="${fmt(py(goal))}" x2="${x1}" y2="${fmt(py(goal))}" stroke="#888" stroke-dasharray="6 4"/>`);
    parts.push(
      `<text x="${x1 - 4}" y="${fmt(py(goal) - 4)}" text-anchor="end" font-size="10" fill="#555" stroke="white" stroke-width="3" paint-order="stroke">${esc(text)}</text>`,
    );
  }
  // source groups: a separator before each new source
  r.tasks.forEach((t, i) => {
    if (i > 0 && r.tasks[i - 1]!.source !== t.source) {
      const X = fmt(x0 + step * i);
      parts.push(`<line x1="${X}" y1="${m0.top}" x2="${X}" y2="${yBase}" stroke="#bbb"/>`);
    }
  });
  parts.push(`<line x1="${x0}" y1="${yBase}" x2="${x1}" y2="${yBase}" stroke="black"/>`);
  parts.push(`<line x1="${x0}" y1="${m0.top}" x2="${x0}" y2="${yBase}" stroke="black"/>`);
  parts.push(`<text x="16" y="${fmt(m0.top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 16 ${fmt(m0.top + plotH / 2)})">percentile</text>`);
  labels.forEach((l, i) => {
    const X = fmt(x0 + step * (i + 0.5));
    parts.push(`<text x="${X}" y="${yBase + 14}" text-anchor="end" font-size="11" transform="rotate(-45 ${X} ${yBase + 14})">${esc(l)}</text>`);
  });
  // MetaD2A top-1 over seeds: min–max bar
  const top1 = methods.indexOf('metad2a-top1');
  r.tasks.forEach((t, i) => {
    const ps = t.seeds.map((s) => s.top[0]!.percentile);
    if (ps.length > 1) {
      const X = fmt(px(i, top1));
      parts.push(`<line x1="${X}" y1="${fmt(py(Math.min(...ps)))}" x2="${X}" y2="${fmt(py(Math.max(...ps)))}" stroke="${PALETTE[0]}" stroke-opacity="0.5" stroke-width="2"/>`);
    }
  });
  methods.forEach((m, j) => {
    const color = PALETTE[j % PALETTE.length]!;
    const shape = MARKERS[j % MARKERS.length]!;
    r.tasks.forEach((t, i) => {
      const v = t.methods[m]!.percentile;
      parts.push(`<g><title>${esc(`${labels[i]} · ${transferMethodLabel(m, k)}: ${f1(v)}`)}</title>${marker(shape, px(i, j), py(v), color)}</g>`);
    });
    const row = legend.findIndex((rw) => rw.some((e) => e.index === j));
    const lx = x0 + legend[row]!.find((e) => e.index === j)!.x;
    const ly = yBase + labelDrop + 24 + row * 20;
    parts.push(marker(shape, lx + 12, ly, color));
    parts.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${esc(transferMethodLabel(m, k))}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
