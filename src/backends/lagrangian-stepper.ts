/**
 * The Stepper of a Lagrangian: a phase-space Stepper of its step program (any backend) wrapped so that runs start
 * from and return positions and velocities — and the discrete momenta of the variational integrators.
 */
import { DarbouxError, showValue } from '../errors.js';
import { checkCount, checkStateArray, checkTime } from './input-checks.js';
import type { Lagrangian } from '../system/lagrangian.js';
import type { StepProgram } from '../integrators/step-program.js';
import { PREDICTOR_STAGES } from '../integrators/variational.js';
import type { Stepper } from './stepper.js';
import { lagrangianVjp, type LagrangianVjpOptions, type LagrangianVjpResult } from './lagrangian-adjoint.js';

/** Options of `LagrangianStepper.run`. */
export interface LagrangianRunOptions {
  /** Initial positions, batch × dof, trajectory-major. */
  q0: ArrayLike<number>;
  /** Initial velocities, batch × dof. */
  v0: ArrayLike<number>;
  /** Number of steps. */
  steps: number;
  /** Number of independent trajectories (default 1). */
  batch?: number;
  /** Start time (default 0). */
  t0?: number;
  /** Record every k-th state into `result.record` (after steps k, 2k, …; see `RunOptions.record`). */
  record?: number;
  /** With `record`: the initial state first in `result.record`, as `RunOptions.recordInitial`. */
  recordInitial?: boolean;
}

/** Result of `LagrangianStepper.run` (batch × dof each). */
export interface LagrangianRunResult {
  /** Final positions. */
  q: Float64Array;
  /** Final velocities: ∂L/∂v(q, v) = p. */
  v: Float64Array;
  /** Final momenta: the discrete momenta of a variational integrator; ∂L/∂v(q, v) for rk4. */
  p: Float64Array;
  /** Recorded states after steps k, 2k, … (0, k, 2k, … with `recordInitial`): `count` snapshots × batch × dof. */
  record?: { every: number; count: number; q: Float64Array; v: Float64Array; p: Float64Array };
  /** Variational integrators: Newton iterations per step (mean and max). */
  stats?: { iterations: { mean: number; max: number } };
}

/**
 * A compiled integrator for one Lagrangian, method and step size. The step itself runs on the state of its
 * program: (q, p) with p the discrete momenta for the variational integrators (`state: 'momenta'`), (q, v) for
 * rk4 (`state: 'velocities'`); `jacobian` and `vjp` are those of that state, exactly as a Hamiltonian Stepper's.
 */
export interface LagrangianStepper {
  readonly method: string;
  readonly dt: number;
  readonly backend: 'cpu' | 'gpu';
  readonly dof: number;
  readonly lagrangian: Lagrangian;
  /** What the second half of the program's state holds: the discrete momenta p, or the velocities v (rk4). */
  readonly state: 'momenta' | 'velocities';
  /** Generated source of the main kernel (JavaScript on the CPU, WGSL on the GPU). */
  readonly source: string;
  /** The underlying Stepper over the program's state (q, p) or (q, v). */
  readonly phase: Stepper;
  /** Advances every trajectory by `steps` steps from (q0, v0). */
  run(options: LagrangianRunOptions): Promise<LagrangianRunResult>;
  /** Exact Jacobian of ONE step of the program's state, row-major (2·dof)², f64 (symplectic in (q, p) for the variational methods). */
  jacobian(q: ArrayLike<number>, second: ArrayLike<number>, t?: number): Float64Array;
  /**
   * The exact discrete adjoint of `run`: the gradient of ⟨dq, q_N⟩ + ⟨dv, v_N⟩ + ⟨dp, p_N⟩ with respect to q0, v0
   * and every parameter of L (the phase-space adjoint of the program, `phase.vjp`, composed with the momentum map
   * at both ends).
   */
  vjp(options: LagrangianVjpOptions): Promise<LagrangianVjpResult>;
  dispose(): void;
}

/** The state (q, second) of trajectory `b` of a batch. */
const slice = (a: ArrayLike<number>, b: number, n: number) => Float64Array.from({ length: n }, (_, i) => a[b * n + i]!);

/** What the run helpers share: the Lagrangian, its program's state kind, the phase stepper. */
interface Context {
  readonly L: Lagrangian;
  readonly method: string;
  readonly state: 'momenta' | 'velocities';
  readonly phase: Stepper;
}

/** The program's second state half at (q, v): ∂L/∂v or v, after checking ∂²L/∂v² there (SINGULAR). */
function toState(c: Context, q: Float64Array, v: Float64Array, t: number): Float64Array {
  const { hessian, momenta } = c.L.hessians(q, v, t);
  c.L.factorHessian(q, v, t, hessian);
  return c.state === 'momenta' ? momenta : v;
}

/** (v, p) of a whole batch from the program's state at time t (inverse Legendre map, or ∂L/∂v for rk4). */
function fromState(c: Context, qs: Float64Array, seconds: Float64Array, batch: number, t: number): { v: Float64Array; p: Float64Array } {
  const n = c.L.dof;
  const v = new Float64Array(batch * n), p = new Float64Array(batch * n);
  for (let b = 0; b < batch; b++) {
    const q = slice(qs, b, n), s = slice(seconds, b, n);
    v.set(c.state === 'momenta' ? c.L.velocities(q, s, t) : s, b * n);
    p.set(c.state === 'momenta' ? s : c.L.momenta(q, s, t), b * n);
  }
  return { v, p };
}

/**
 * Wraps a phase-space Stepper of a Lagrangian program. Initial momenta p0 = ∂L/∂v(q0, v0) (after checking that
 * ∂²L/∂v² is regular there: SINGULAR otherwise); final velocities by the inverse Legendre map in f64 on the host
 * (Newton). A step that fails (non-finite state, unconverged Newton) is diagnosed: when ∂²L/∂v² is singular at the
 * state before it, the error is SINGULAR naming step, trajectory and state.
 *
 * @example
 * const st = lagrangianStepper(L, program, cpuStepper(program, 0.01));
 * const { q, v, p } = await st.run({ q0: [1, 0], v0: [0, 1], steps: 100 });
 */
export function lagrangianStepper(L: Lagrangian, program: StepProgram, phase: Stepper): LagrangianStepper {
  const state = program.system.p === L.v ? 'velocities' : 'momenta';
  const c: Context = { L, method: program.method, state, phase };
  return {
    method: program.method,
    dt: phase.dt,
    backend: phase.backend,
    dof: L.dof,
    lagrangian: L,
    state,
    source: phase.source,
    phase,
    run: (options) => runLagrangian(c, options),
    jacobian: (q, second, t) => phase.jacobian(q, second, t),
    vjp: (options) => lagrangianVjp(L, state, phase, (q, v, t) => toState(c, q, v, t), options),
    dispose: () => phase.dispose(),
  };
}

/** `LagrangianStepper.run`: (q0, v0) → the program's state, the phase run, and back to (q, v, p). */
async function runLagrangian(c: Context, options: LagrangianRunOptions): Promise<LagrangianRunResult> {
  const n = c.L.dof, dt = c.phase.dt;
  const batch = options?.batch ?? 1;
  const t0 = options?.t0 ?? 0;
  if (options === null || typeof options !== 'object') throw new DarbouxError('INPUT', `run needs an options object { q0, v0, steps, batch? }, got ${showValue(options)}`, { value: showValue(options) });
  checkCount('batch', batch, 1);
  checkTime('t0', t0);
  for (const key of ['q0', 'v0'] as const) checkStateArray(key, options[key], batch * n, 'f64', `batch·dof = ${batch}·${n} = ${batch * n}`);
  const q0 = Float64Array.from(options.q0), second0 = new Float64Array(batch * n);
  for (let b = 0; b < batch; b++) second0.set(toState(c, slice(q0, b, n), slice(options.v0, b, n), t0), b * n);
  const result = await diagnosed(c, () => c.phase.run({ q0, p0: second0, steps: options.steps, batch, t0, record: options.record, recordInitial: options.recordInitial }), q0, second0, t0);
  const out: LagrangianRunResult = { q: result.q, ...fromState(c, result.q, result.p, batch, t0 + options.steps * dt) };
  if (result.stats) out.stats = result.stats;
  if (result.record) {
    const { every, count } = result.record, size = batch * n, first = options.recordInitial === true ? 0 : 1;
    const v = new Float64Array(count * size), p = new Float64Array(count * size);
    for (let k = 0; k < count; k++) {
      const snap = fromState(c, result.record.q.subarray(k * size, (k + 1) * size), result.record.p.subarray(k * size, (k + 1) * size), batch, t0 + (k + first) * every * dt);
      v.set(snap.v, k * size);
      p.set(snap.p, k * size);
    }
    out.record = { every, count, q: result.record.q, v, p };
  }
  return out;
}

/**
 * Runs `body`; a failed step (NONFINITE, NO_CONVERGENCE) becomes SINGULAR when ∂²L/∂v² is singular at the state
 * before it (found by running that trajectory up to the step); other failures of a variational step get a hint
 * about the Newton predictor (`legendrePredictor`).
 */
async function diagnosed<T>(c: Context, body: () => Promise<T>, q0: Float64Array, second0: Float64Array, t0: number): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof DarbouxError) || (error.code !== 'NONFINITE' && error.code !== 'NO_CONVERGENCE')) throw error;
    const { step, trajectory } = error.details as { step?: number; trajectory?: number };
    if (!Number.isInteger(step) || !Number.isInteger(trajectory)) throw error;
    const n = c.L.dof, t = t0 + step! * c.phase.dt;
    const before = await c.phase.run({ q0: slice(q0, trajectory!, n), p0: slice(second0, trajectory!, n), steps: step!, t0 }).catch(() => null);
    try {
      if (before !== null) toState(c, before.q, fromState(c, before.q, before.p, 1, t).v, t);
    } catch (cause) {
      if (cause instanceof DarbouxError && cause.code === 'SINGULAR') {
        throw new DarbouxError('SINGULAR', `${c.method}: step ${step! + 1} of trajectory ${trajectory} failed (${error.code}): ${cause.message}`, {
          ...cause.details,
          step,
          trajectory,
          cause: error.code,
        });
      }
    }
    if (c.state !== 'momenta') throw error;
    throw new DarbouxError(
      error.code,
      `${error.message}. Newton's method of a variational step starts from the continuous inverse Legendre map, ` +
        `approximated by ${PREDICTOR_STAGES} continuation steps from rest; a Legendre map too far from linear between rest and this ` +
        'momentum (e.g. a relativistic particle beyond p/m ≈ 5, or a learned L far outside its training data) can leave L\'s domain there: reduce dt or check the state',
      error.details,
    );
  }
}
