/**
 * Trajectories as files: the final state (`q`, `p`: batch × dof) and, when states were recorded, the frames
 * (`t`; `qs`, `ps`: frames × batch × dof, the initial state first). The same arrays in every format.
 */
import { DarbouxError } from '../errors.js';
import type { RunResult } from '../backends/stepper.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { NdArray } from './ndarray.js';
import { corrupt } from './ndarray.js';

/** A run's states: the final one and, optionally, frames every k steps starting with the initial state. */
export interface Trajectory {
  readonly batch: number;
  readonly dof: number;
  /** Final positions and momenta, batch × dof. */
  readonly q: Float64Array;
  readonly p: Float64Array;
  /**
   * Recorded states: `t` (frames), `q`, `p` (frames × batch × dof), the initial state first; `energy` (frames ×
   * batch, optional): H at every frame, each member with its own parameters (`withFrameEnergies`).
   */
  readonly frames?: { readonly t: Float64Array; readonly q: Float64Array; readonly p: Float64Array; readonly energy?: Float64Array };
}

/** What {@link trajectoryFromRun} needs besides the result: the run's inputs. */
export interface TrajectoryInputs {
  q0: ArrayLike<number>;
  p0: ArrayLike<number>;
  batch?: number;
  dt: number;
  t0?: number;
}

/**
 * The trajectory of a `Stepper.run` result: its final state, and, when the run recorded every k-th state, the
 * frames at t0, t0 + k·dt, … with the initial state (q0, p0) first.
 *
 * @example
 * const res = await st.run({ q0, p0, steps: 1000, batch: 4, record: 10 });
 * const traj = trajectoryFromRun(res, { q0, p0, batch: 4, dt: st.dt }); // 101 frames
 * saveTrajectory('out.npz', traj);
 */
export function trajectoryFromRun(result: RunResult, inputs: TrajectoryInputs): Trajectory {
  const batch = inputs.batch ?? 1;
  const dof = result.q.length / batch;
  if (!Number.isSafeInteger(dof) || inputs.q0.length !== batch * dof || inputs.p0.length !== batch * dof) {
    throw new DarbouxError('SHAPE', `trajectoryFromRun: q0 and p0 must hold batch × dof = ${result.q.length} numbers like the result, got ${inputs.q0.length} and ${inputs.p0.length}`);
  }
  const base = { batch, dof, q: result.q, p: result.p };
  const record = result.record;
  if (record === undefined) return base;
  const count = record.count + 1, size = batch * dof, t0 = inputs.t0 ?? 0;
  const q = new Float64Array(count * size), p = new Float64Array(count * size);
  q.set(Array.from(inputs.q0), 0);
  p.set(Array.from(inputs.p0), 0);
  q.set(record.q.subarray(0, record.count * size), size);
  p.set(record.p.subarray(0, record.count * size), size);
  const t = Float64Array.from({ length: count }, (_, i) => t0 + i * record.every * inputs.dt);
  return { ...base, frames: { t, q, p } };
}

/**
 * The trajectory with H evaluated at every frame (`frames.energy`, frames × batch, at each frame's time), so
 * its file can be plotted (`darboux plot energy`, `plot.energy`) without the system. `params` gives each member
 * its own scalar parameter values (a sweep: `params[name][b]` for member b), as `run({ params })` takes them.
 *
 * @example
 * const traj = withFrameEnergies(trajectoryFromRun(res, { q0, p0, dt: st.dt }), h);
 * traj.frames!.energy; // Float64Array(frames × batch)
 */
export function withFrameEnergies(
  traj: Trajectory, h: Pick<Hamiltonian, 'dof' | 'energy' | 'withParams'>, params?: Readonly<Record<string, ArrayLike<number>>>,
): Trajectory {
  const frames = traj.frames;
  if (!frames) throw new DarbouxError('INPUT', 'withFrameEnergies: the trajectory has no frames; record them (st.run({ record: k }))', {});
  const { batch, dof } = traj;
  if (h.dof !== dof) throw new DarbouxError('INPUT', `withFrameEnergies: the trajectory has ${dof} degrees of freedom but the Hamiltonian ${h.dof}`, { trajectory: dof, hamiltonian: h.dof });
  const names = Object.keys(params ?? {});
  for (const name of names) {
    if (params![name]!.length !== batch) throw new DarbouxError('SHAPE', `withFrameEnergies: params.${name} must hold one value per member (${batch}), got ${params![name]!.length}`, { name, batch });
  }
  // Members of a sweep share parameter values in runs of replicas: one withParams per distinct tuple.
  const byValues = new Map<string, Pick<Hamiltonian, 'energy'>>();
  const memberSystem = (b: number) => {
    if (names.length === 0) return h;
    const values = names.map((name) => params![name]![b]!);
    const key = values.join(',');
    let hb = byValues.get(key);
    if (!hb) byValues.set(key, (hb = h.withParams(Object.fromEntries(names.map((name, k) => [name, values[k]!])))));
    return hb;
  };
  const count = frames.t.length, energy = new Float64Array(count * batch);
  for (let b = 0; b < batch; b++) {
    const hb = memberSystem(b);
    for (let f = 0; f < count; f++) {
      const at = (f * batch + b) * dof;
      energy[f * batch + b] = hb.energy(frames.q.subarray(at, at + dof), frames.p.subarray(at, at + dof), frames.t[f]);
    }
  }
  return { ...traj, frames: { ...frames, energy } };
}

/**
 * The named arrays of a trajectory, as `.npz` and `.json` hold them: `q`, `p` (batch × dof) and, with frames,
 * `t` (frames), `qs`, `ps` (frames × batch × dof), and `energy` (frames × batch) when the frames carry it.
 *
 * @example
 * writeNpz(trajectoryArrays(traj)); // the bytes saveTrajectory('out.npz', traj) writes
 */
export function trajectoryArrays(traj: Trajectory): Record<string, NdArray> {
  const { batch, dof } = traj;
  const out: Record<string, NdArray> = { q: { shape: [batch, dof], data: traj.q }, p: { shape: [batch, dof], data: traj.p } };
  if (traj.frames) {
    const frames = traj.frames.t.length;
    out.t = { shape: [frames], data: traj.frames.t };
    out.qs = { shape: [frames, batch, dof], data: traj.frames.q };
    out.ps = { shape: [frames, batch, dof], data: traj.frames.p };
    if (traj.frames.energy) out.energy = { shape: [frames, batch], data: traj.frames.energy };
  }
  return out;
}

/**
 * A trajectory from named arrays (`q`, `p`, and optionally `t`, `qs`, `ps`), checking their shapes agree.
 *
 * @example
 * const traj = trajectoryFromArrays(readNpz(fs.readFileSync('out.npz')));
 */
export function trajectoryFromArrays(arrays: Readonly<Record<string, NdArray>>, what = 'trajectory'): Trajectory {
  const { q, p, t, qs, ps, energy } = arrays;
  if (!q || !p) throw corrupt(what, `needs arrays 'q' and 'p' (batch × dof); found ${Object.keys(arrays).join(', ') || 'none'}`);
  if (q.shape.length !== 2 || p.shape.join() !== q.shape.join()) throw corrupt(what, `'q' and 'p' must both be batch × dof, got [${q.shape}] and [${p.shape}]`);
  const [batch, dof] = q.shape as [number, number];
  if (!t && !qs && !ps) return { batch, dof, q: q.data, p: p.data };
  if (!t || !qs || !ps) throw corrupt(what, "frames need all of 't', 'qs' and 'ps'");
  const frames = t.shape[0]!;
  const expected = [frames, batch, dof].join();
  if (t.shape.length !== 1 || qs.shape.join() !== expected || ps.shape.join() !== expected) {
    throw corrupt(what, `'qs' and 'ps' must be frames × batch × dof = [${expected}] with 't' of length ${frames}, got [${qs.shape}] and [${ps.shape}]`);
  }
  if (energy && energy.shape.join() !== [frames, batch].join()) throw corrupt(what, `'energy' must be frames × batch = [${frames},${batch}], got [${energy.shape}]`);
  return { batch, dof, q: q.data, p: p.data, frames: { t: t.data, q: qs.data, p: ps.data, ...(energy ? { energy: energy.data } : {}) } };
}
