/**
 * Plots of trajectories: the relative energy error against time (log axis, several runs overlaid), phase
 * portraits (q_i against p_i, one curve per trajectory) and Poincaré sections (one dot per crossing).
 */
import { plotLibraries } from './libraries.js';
import { DarbouxError } from '../errors.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { Trajectory } from '../io/trajectory.js';
import type { RunResult } from '../backends/stepper.js';
import { isRunResult, trajectoryOfRun, type RunFrameOptions } from './run-frames.js';
import { output, powerOfTenLabel, renderSvg, type PlotOptions, type PlotOutput } from './render.js';

/** One run of an energy plot: its trajectory (with frames) and its legend label. */
export interface EnergySeries {
  label: string;
  trajectory: Trajectory;
  /** The Hamiltonian of this run (default: the options'). */
  hamiltonian?: Hamiltonian;
}

/** Options of {@link energy}; with a run's result, also its inputs (q0, p0, dt or stepper, …: {@link RunFrameOptions}). */
export interface EnergyOptions extends PlotOptions, RunFrameOptions {
  /**
   * The Hamiltonian the energy is evaluated with (required unless every series has its own, or its frames carry
   * their energies: `withFrameEnergies`, or a file written by darboux run).
   */
  hamiltonian?: Hamiltonian;
}

/** The frames of a trajectory, or an INPUT error naming what to do. */
function framesOf(trajectory: Trajectory, what: string): NonNullable<Trajectory['frames']> {
  if (!trajectory?.frames || trajectory.frames.t.length === 0) {
    throw new DarbouxError('INPUT', `plot.${what}: the trajectory has no frames; record them (st.run({ record: k }) then trajectoryFromRun, or darboux run --save-every k)`, { what });
  }
  return trajectory.frames;
}

/**
 * The worst relative energy error over a trajectory's members at each frame after the first:
 * max_b |H(z_b(t)) − H(z_b(t0))| / |H(z_b(t0))| (the absolute error for a member with H(t0) = 0). H is the
 * Hamiltonian's, or, without one, the energies the frames carry (`withFrameEnergies`, a file of darboux run).
 *
 * @example
 * relativeEnergyError(traj, h) // { t: Float64Array(frames − 1), error: Float64Array(frames − 1) }
 */
export function relativeEnergyError(trajectory: Trajectory, hamiltonian?: Hamiltonian): { t: Float64Array; error: Float64Array } {
  const frames = framesOf(trajectory, 'energy');
  const { batch, dof } = trajectory;
  if (hamiltonian && hamiltonian.dof !== dof) throw new DarbouxError('INPUT', `plot.energy: the trajectory has ${dof} degrees of freedom but the Hamiltonian ${hamiltonian.dof}`, { trajectory: dof, hamiltonian: hamiltonian.dof });
  const stored = frames.energy;
  if (!hamiltonian && !stored) throw new DarbouxError('OPTION', 'plot.energy: give a Hamiltonian (options.hamiltonian or the series\' own), or frames that carry their energies (withFrameEnergies)', {});
  const count = frames.t.length, size = batch * dof;
  const energyAt = hamiltonian
    ? (f: number, b: number) => {
      const at = f * size + b * dof;
      return hamiltonian.energy(frames.q.subarray(at, at + dof), frames.p.subarray(at, at + dof), frames.t[f]);
    }
    : (f: number, b: number) => stored![f * batch + b]!;
  const h0 = Float64Array.from({ length: batch }, (_, b) => energyAt(0, b));
  const t = frames.t.slice(1), error = new Float64Array(count - 1);
  for (let f = 1; f < count; f++) {
    let worst = 0;
    for (let b = 0; b < batch; b++) worst = Math.max(worst, Math.abs(energyAt(f, b) - h0[b]!) / (h0[b] === 0 ? 1 : Math.abs(h0[b]!)));
    error[f - 1] = worst;
  }
  return { t, error };
}

/**
 * The relative energy error against time on a log axis, one line per run (the worst member of each batch;
 * the first frame, exactly 0, is left out, and other exact zeros are drawn at the smallest error shown).
 * Takes trajectories, or a run's result directly with the Hamiltonian and the run's inputs (`q0`, `p0` put the
 * initial state first; `dt` or `stepper` give the time axis).
 *
 * @example
 * const svg = plot.energy([{ label: 'leapfrog', trajectory: a }, { label: 'rk4', trajectory: b }], { hamiltonian: h });
 * const png = await plot.energy(a, { hamiltonian: h, format: 'png' });
 * const fromRun = plot.energy(await st.run({ q0, p0, steps: 1000, record: 10 }), { hamiltonian: h, q0, p0, stepper: st });
 */
export function energy<O extends EnergyOptions = { format?: 'svg' }>(input: Trajectory | RunResult | readonly EnergySeries[], options: O): PlotOutput<O> {
  const series = Array.isArray(input)
    ? (input as readonly EnergySeries[])
    : [{ label: 'run', trajectory: isRunResult(input) ? trajectoryOfRun(input, options ?? {}, 'energy', options?.hamiltonian?.dof, true) : input as Trajectory }];
  if (series.length === 0) throw new DarbouxError('INPUT', 'plot.energy: give at least one trajectory', {});
  const rows: { series: string; t: number; error: number }[] = [];
  for (const s of series) {
    const h = s.hamiltonian ?? options?.hamiltonian;
    if (!h && !s.trajectory?.frames?.energy) {
      throw new DarbouxError('OPTION', `plot.energy: series '${s.label}' needs a Hamiltonian (options.hamiltonian or the series' own), or frames that carry their energies (withFrameEnergies)`, { label: s.label });
    }
    const { t, error } = relativeEnergyError(s.trajectory, h);
    t.forEach((time, i) => rows.push({ series: s.label, t: time, error: error[i]! }));
  }
  if (rows.length === 0) throw new DarbouxError('INPUT', 'plot.energy: the trajectories need at least 2 frames', {});
  const positive = rows.filter((r) => r.error > 0 && Number.isFinite(r.error)).map((r) => r.error);
  const floor = positive.length > 0 ? Math.min(...positive) : Number.EPSILON;
  for (const r of rows) if (!(r.error > 0)) r.error = floor;
  const last = series.map((s) => rows.filter((r) => r.series === s.label).at(-1)!);
  const svg = renderSvg({
    marginRight: series.length > 1 ? 80 : 20,
    marginLeft: 60,
    x: { label: 'time t →' },
    y: { type: 'log', nice: true, label: '↑ relative energy error |H − H₀| / |H₀|', grid: true, tickFormat: powerOfTenLabel },
    color: { type: 'ordinal', domain: series.map((s) => s.label), scheme: 'tableau10' },
    marks: [
      plotLibraries().Plot.lineY(rows, { x: 't', y: 'error', stroke: 'series', strokeWidth: 1.5 }),
      ...(series.length > 1 ? [plotLibraries().Plot.text(last, { x: 't', y: 'error', text: 'series', fill: 'series', dx: 6, textAnchor: 'start' })] : []),
    ],
  }, options ?? {});
  return output(svg, options);
}

/** Options of {@link phase}; with a run's result, also its inputs (q0, p0, batch or hamiltonian: {@link RunFrameOptions}). */
export interface PhaseOptions extends PlotOptions, RunFrameOptions {
  /** With a run's result: its system, for the number of degrees of freedom (or give `batch`). */
  hamiltonian?: Pick<Hamiltonian, 'dof'>;
  /** The degree of freedom i drawn as q_i against p_i (default 0). */
  dof?: number;
  /** Axis names (default q_i, p_i). */
  names?: { q: string; p: string };
  /** The first n trajectories only (default all, at most 64). */
  members?: number;
  /** 'line' (default) joins each trajectory's frames; 'dot' draws them as points (chaotic orbits). */
  mark?: 'line' | 'dot';
}

function dofIndex(index: number | undefined, dof: number, what: string): number {
  const i = index ?? 0;
  if (!Number.isInteger(i) || i < 0 || i >= dof) throw new DarbouxError('OPTION', `plot.${what}: dof must be an integer in [0, ${dof}), got ${String(index)}`, { dof: index });
  return i;
}

/**
 * A phase portrait: q_i against p_i over the frames, one curve per trajectory of the batch. Takes a trajectory,
 * or a run's result directly (`q0`, `p0` put the initial state first; `batch` or `hamiltonian` give its shape).
 *
 * @example
 * const svg = plot.phase(trajectoryFromRun(res, { q0, p0, batch: 8, dt: st.dt }), { dof: 1 });
 * const same = plot.phase(res, { q0, p0, batch: 8, dof: 1 });
 */
export function phase<O extends PhaseOptions = { format?: 'svg' }>(input: Trajectory | RunResult, options?: O): PlotOutput<O> {
  const trajectory = isRunResult(input) ? trajectoryOfRun(input, options ?? {}, 'phase', options?.hamiltonian?.dof, false) : input;
  const frames = framesOf(trajectory, 'phase');
  const { batch, dof } = trajectory;
  const i = dofIndex(options?.dof, dof, 'phase');
  const members = Math.min(batch, options?.members ?? 64);
  const rows: { member: number; q: number; p: number }[] = [];
  for (let b = 0; b < members; b++) {
    for (let f = 0; f < frames.t.length; f++) rows.push({ member: b, q: frames.q[(f * batch + b) * dof + i]!, p: frames.p[(f * batch + b) * dof + i]! });
  }
  const names = options?.names ?? { q: `q${i}`, p: `p${i}` };
  const svg = renderSvg({
    x: { label: `${names.q} →` },
    y: { label: `↑ ${names.p}` },
    color: { type: 'ordinal', scheme: 'tableau10' },
    marks: [
      plotLibraries().Plot.ruleX([0], { stroke: '#ccc' }), plotLibraries().Plot.ruleY([0], { stroke: '#ccc' }),
      options?.mark === 'dot'
        ? plotLibraries().Plot.dot(rows, { x: 'q', y: 'p', fill: 'member', r: 1 })
        : plotLibraries().Plot.line(rows, { x: 'q', y: 'p', z: 'member', stroke: 'member', strokeWidth: 1 }),
    ],
  }, options ?? {});
  return output(svg, options);
}

/**
 * Crossings of a surface of section: `count` crossings at times `t`, with the state at each (`q`, `p`:
 * count × dof, crossing-major). The shape the run's section output is to have; any source of crossings can
 * be plotted through it.
 */
export interface SectionInput {
  count: number;
  t: ArrayLike<number>;
  q: ArrayLike<number>;
  p: ArrayLike<number>;
}

/**
 * The section output of `run({ section })` (`result.section`): per trajectory b, `count[b]` crossings in slots
 * b·max … b·max + count[b] − 1 of `t` (and × dof of `q`, `p`).
 */
export interface RunSectionInput {
  max: number;
  count: ArrayLike<number>;
  t: ArrayLike<number>;
  q: ArrayLike<number>;
  p: ArrayLike<number>;
}

/** A run's section output as one list of crossings (trajectory by trajectory). */
function flattenRunSection(s: RunSectionInput): SectionInput {
  const batch = s.count.length, dof = s.q.length / Math.max(1, s.t.length);
  const t: number[] = [], q: number[] = [], p: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < s.count[b]!; k++) {
      const slot = b * s.max + k;
      t.push(s.t[slot]!);
      for (let i = 0; i < dof; i++) {
        q.push(s.q[slot * dof + i]!);
        p.push(s.p[slot * dof + i]!);
      }
    }
  }
  return { count: t.length, t, q, p };
}

/** Options of {@link section}. */
export interface SectionOptions extends PlotOptions {
  /** The degree of freedom i drawn as q_i against p_i (default 0). */
  dof?: number;
  /** Axis names (default q_i, p_i). */
  names?: { q: string; p: string };
  /** Dot radius in pixels (default 1). */
  radius?: number;
}

/**
 * A Poincaré section: one dot (q_i, p_i) per crossing, from a list of crossings or a run's `result.section`.
 *
 * @example
 * const svg = plot.section({ count: 2, t: [1, 2], q: [0, 0.1, 0, 0.2], p: [0.3, 0, 0.1, 0] }, { dof: 1 });
 * const fromRun = plot.section((await st.run({ q0, p0, batch, steps, section: { expr: 'y', direction: 1 } })).section!);
 */
export function section<O extends SectionOptions = { format?: 'svg' }>(input: SectionInput | RunSectionInput, options?: O): PlotOutput<O> {
  const runSection = input !== null && typeof input === 'object' && typeof input.count === 'object' && typeof (input as RunSectionInput).max === 'number';
  const crossings = runSection ? flattenRunSection(input as RunSectionInput) : (input as SectionInput);
  const { count, t, q, p } = crossings ?? ({} as SectionInput);
  if (!Number.isInteger(count) || count < 1 || t?.length !== count || !q || !p || q.length !== p.length || q.length % count !== 0) {
    throw new DarbouxError('INPUT', `plot.section: needs { count, t, q, p } with count ≥ 1 crossings, t of length count and q, p of count × dof numbers (got count ${String(count)}, t ${String(t?.length)}, q ${String(q?.length)}, p ${String(p?.length)})`, { count });
  }
  const dof = q.length / count;
  const i = dofIndex(options?.dof, dof, 'section');
  const rows = Array.from({ length: count }, (_, k) => ({ q: q[k * dof + i]!, p: p[k * dof + i]! }));
  const names = options?.names ?? { q: `q${i}`, p: `p${i}` };
  const svg = renderSvg({
    x: { label: `${names.q} →` },
    y: { label: `↑ ${names.p}` },
    marks: [plotLibraries().Plot.dot(rows, { x: 'q', y: 'p', r: options?.radius ?? 1, fill: 'black', stroke: 'none' })],
  }, options ?? {});
  return output(svg, options);
}
