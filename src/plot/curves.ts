/**
 * Plots of curves the library computes: training loss (train and validation), gradient memory against the
 * horizon (st.vjp's memory modes), and the radial distribution function g(r) of particle systems.
 */
import { plotLibraries } from './libraries.js';
import { DarbouxError } from '../errors.js';
import { output, powerOfTenLabel, renderSvg, type PlotOptions, type PlotOutput } from './render.js';

/** The loss histories of a fit (a `FitResult`, or its JSON). */
export interface LossInput {
  /** Minibatch loss at every step. */
  history: readonly number[];
  /** Validation loss at `validationSteps`. */
  validationHistory?: readonly number[];
  validationSteps?: readonly number[];
}

function finitePositive(values: readonly number[], what: string): void {
  const bad = values.findIndex((v) => !(typeof v === 'number' && Number.isFinite(v) && v > 0));
  if (bad >= 0) throw new DarbouxError('INPUT', `plot: ${what}[${bad}] = ${String(values[bad])} cannot be drawn on a log axis (needs finite numbers > 0)`, { index: bad });
}

/**
 * Loss curves on a log axis: the training loss at every step and, when the fit kept one, the validation loss.
 *
 * @example
 * const res = await fit(model, data, { steps: 500, validation: 0.2 });
 * fs.writeFileSync('loss.svg', plot.loss(res));
 */
export function loss<O extends PlotOptions = { format?: 'svg' }>(fit: LossInput, options?: O): PlotOutput<O> {
  const history = fit?.history;
  if (!Array.isArray(history) || history.length === 0) throw new DarbouxError('INPUT', 'plot.loss: needs a non-empty history (a fit result, or the JSON darboux train writes)', {});
  finitePositive(history, 'history');
  const rows = history.map((value, step) => ({ series: 'train', step, loss: value }));
  const validation = fit.validationHistory ?? [];
  if (validation.length > 0) {
    const steps = fit.validationSteps ?? [];
    if (steps.length !== validation.length) throw new DarbouxError('INPUT', `plot.loss: validationHistory has ${validation.length} values but validationSteps ${steps.length}`, {});
    finitePositive(validation, 'validationHistory');
    validation.forEach((value, k) => rows.push({ series: 'validation', step: steps[k]!, loss: value }));
  }
  const svg = renderSvg({
    marginLeft: 60,
    x: { label: 'step →' },
    y: { type: 'log', nice: true, label: '↑ loss', grid: true, tickFormat: powerOfTenLabel },
    color: { type: 'ordinal', domain: ['train', 'validation'], range: ['#4e79a7', '#e15759'] },
    marks: [
      plotLibraries().Plot.lineY(rows, { x: 'step', y: 'loss', stroke: 'series', strokeWidth: 1.2 }),
      ...['train', ...(validation.length > 0 ? ['validation'] : [])].map((name, k) => plotLibraries().Plot.text([name], { frameAnchor: 'top-right', dx: -6, dy: 8 + 14 * k, text: (d: string) => d, fill: (d: string) => d })),
    ],
  }, options ?? {});
  return output(svg, options);
}

/** One measurement of gradient memory: `st.vjp` over `steps` steps with a memory mode, and its `memory.stateBytes`. */
export interface GradientMemoryRow {
  steps: number;
  memory: string;
  stateBytes: number;
}

/**
 * Gradient state memory against the horizon on log–log axes, one line per memory mode ('reverse' stays flat,
 * 'store' grows linearly) — the table examples/symplectic-hnn-choudhary.ts prints.
 *
 * @example
 * const rows = [4, 64, 1024].flatMap((steps) => (['reverse', 'store'] as const).map(async (memory) =>
 *   ({ steps, memory, stateBytes: (await st.vjp({ q0, p0, steps, dq, dp, memory })).memory.stateBytes })));
 * fs.writeFileSync('memory.svg', plot.gradientMemory(await Promise.all(rows)));
 */
export function gradientMemory<O extends PlotOptions = { format?: 'svg' }>(rows: readonly GradientMemoryRow[], options?: O): PlotOutput<O> {
  if (!Array.isArray(rows) || rows.length === 0) throw new DarbouxError('INPUT', 'plot.gradientMemory: needs rows { steps, memory, stateBytes }', {});
  rows.forEach((r, k) => {
    if (!(r && Number.isFinite(r.steps) && r.steps > 0 && Number.isFinite(r.stateBytes) && r.stateBytes > 0 && typeof r.memory === 'string')) {
      throw new DarbouxError('INPUT', `plot.gradientMemory: row ${k} must be { steps > 0, memory: string, stateBytes > 0 }, got ${JSON.stringify(r)}`, { row: k });
    }
  });
  const modes = [...new Set(rows.map((r) => r.memory))];
  const last = modes.map((m) => rows.filter((r) => r.memory === m).reduce((a, b) => (b.steps > a.steps ? b : a)));
  const svg = renderSvg({
    marginLeft: 60, marginRight: 70,
    x: { type: 'log', nice: true, label: 'horizon (steps) →', grid: true, tickFormat: powerOfTenLabel },
    y: { type: 'log', nice: true, label: '↑ gradient state memory (bytes)', grid: true, tickFormat: powerOfTenLabel },
    color: { type: 'ordinal', domain: modes, scheme: 'tableau10' },
    marks: [
      plotLibraries().Plot.line(rows, plotLibraries().Plot.sort('steps', { x: 'steps', y: 'stateBytes', stroke: 'memory', z: 'memory' })),
      plotLibraries().Plot.dot(rows, { x: 'steps', y: 'stateBytes', fill: 'memory', r: 2.5 }),
      plotLibraries().Plot.text(last, { x: 'steps', y: 'stateBytes', text: 'memory', fill: 'memory', dx: 6, textAnchor: 'start' }),
    ],
  }, options ?? {});
  return output(svg, options);
}

/** g(r) at bin centres r, as `radialDistribution` returns it. */
export interface RdfInput {
  r: ArrayLike<number>;
  g: ArrayLike<number>;
}

/** One g(r) curve with its legend label. */
export interface RdfSeries {
  label: string;
  rdf: RdfInput;
}

/**
 * The radial distribution function g(r) (radialDistribution's bins), one line per curve, with g = 1 marked.
 *
 * @example
 * const g = radialDistribution(frames, { n: 108, dim: 3, box: [L, L, L], bins: 80, rMax: L / 2 });
 * fs.writeFileSync('rdf.svg', plot.rdf(g));
 */
export function rdf<O extends PlotOptions = { format?: 'svg' }>(input: RdfInput | readonly RdfSeries[], options?: O): PlotOutput<O> {
  const series = Array.isArray(input) ? (input as readonly RdfSeries[]) : [{ label: 'g(r)', rdf: input as RdfInput }];
  const rows: { series: string; r: number; g: number }[] = [];
  for (const s of series) {
    const { r, g } = s.rdf ?? ({} as RdfInput);
    if (!r || !g || r.length !== g.length || r.length === 0) throw new DarbouxError('INPUT', `plot.rdf: '${s.label}' needs r and g of the same non-zero length (radialDistribution's result)`, { label: s.label });
    for (let k = 0; k < r.length; k++) rows.push({ series: s.label, r: r[k]!, g: g[k]! });
  }
  const svg = renderSvg({
    x: { label: 'r →' },
    y: { label: '↑ g(r)', grid: true, zero: true },
    color: { type: 'ordinal', domain: series.map((s) => s.label), scheme: 'tableau10' },
    marks: [
      plotLibraries().Plot.ruleY([1], { stroke: '#999', strokeDasharray: '4,3' }),
      plotLibraries().Plot.line(rows, { x: 'r', y: 'g', stroke: 'series', z: 'series', strokeWidth: 1.5 }),
    ],
  }, options ?? {});
  return output(svg, options);
}
