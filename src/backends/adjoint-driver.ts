import { DarbouxError, showValue } from '../errors.js';
import type { System } from '../system/system.js';
import { isReversible } from '../integrators/inverse-step.js';
import type { AdjointStateSource } from '../integrators/adjoint-step.js';
import type { StepProgram } from '../integrators/step-program.js';
import { size } from '../ir/shape.js';
import { checkVjpOptions } from './checks.js';
import type { Precision } from './input-checks.js';
import { RunControl } from './run-control.js';
import { trajectoryParamBlocks, trajectoryParams, type TrajectoryParams } from './run-params.js';
import type { VjpMemory, VjpOptions, VjpResult } from './stepper.js';

/** A failure reported by a backward runner, with the step local to the call. */
export interface BackwardFailure {
  kind: 'nonfinite' | 'noConvergence';
  step: number;
  trajectory: number;
  residual?: number;
  iterations?: number;
}

/** What a backend's backward pass over one segment reports. */
export interface BackwardStatus {
  failure: BackwardFailure | null;
  iterationsTotal: number;
  iterationsMax: number;
}

/** One segment of backward steps (see `JsAdjointRunner` for the conventions). */
export interface BackwardSegment {
  source: AdjointStateSource;
  batch: number;
  steps: number;
  /** Time at the start of the segment's first forward step. */
  t0: number;
  /** 'reverse': z at the end of the segment in, z at its start out. */
  q: Float64Array;
  p: Float64Array;
  /** λ at the end of the segment in, at its start out. */
  lq: Float64Array;
  lp: Float64Array;
  /** Parameter gradient, flat in parameter order, accumulated (summed over steps and the batch). */
  g: Float64Array;
  /**
   * With per-trajectory parameters (`withTrajectoryParams`): their gradients per trajectory, parameter-major
   * (the j-th per-trajectory parameter's block as `trajectoryParamBlocks`, element e of trajectory b at
   * start_j + b·k_j + e), accumulated; their entries of `g` stay 0.
   */
  gTrajectory?: Float64Array;
  /** 'store': the states at the start of each step, steps × batch × dof. */
  storedQ?: Float64Array;
  storedP?: Float64Array;
}

/** What the memory modes need from a backend: forward runs that can record, and backward segments. */
export interface AdjointBackend {
  readonly program: StepProgram;
  readonly dt: number;
  /** 'cpu f64' or 'gpu f32', for messages. */
  readonly label: string;
  /** Bytes per stored state value on the backend (memory reports). */
  readonly bytesPerValue: number;
  /** `control` (optional): split the run into chunks, yield between them, report progress and stop on abort. */
  forward(
    q: Float64Array,
    p: Float64Array,
    batch: number,
    steps: number,
    t0: number,
    record: number,
    control?: RunControl,
  ): Promise<{ q: Float64Array; p: Float64Array; record?: { q: Float64Array; p: Float64Array } }>;
  backward(segment: BackwardSegment, control?: RunControl): Promise<BackwardStatus>;
  /** The same backend with the parameters of `tp` given per trajectory (absent: refused with OPTION). */
  withTrajectoryParams?(tp: TrajectoryParams): AdjointBackend;
}

/**
 * The memory mode a vjp uses: the option, else 'reverse' when the method is reversible and 'checkpoint' otherwise.
 *
 * @example
 * vjpMemory(leapfrogStep(h), undefined); // 'reverse'
 * vjpMemory(rk4Step(h), undefined);      // 'checkpoint'
 */
export function vjpMemory(program: StepProgram, memory: unknown): VjpMemory {
  if (memory === undefined) return isReversible(program) ? 'reverse' : 'checkpoint';
  if (memory !== 'reverse' && memory !== 'checkpoint' && memory !== 'store') {
    throw new DarbouxError('OPTION', `memory must be 'reverse', 'checkpoint' or 'store', got ${showValue(memory)}`, { option: 'memory', value: memory });
  }
  return memory;
}

/**
 * Splits a flat parameter gradient into the contract's record: numbers for scalar parameters, arrays for tensors.
 *
 * @example
 * const dparams = gradientByName(h, g); // e.g. { k: 0.25, w: Float64Array(3) } for a scalar k and a 3-vector w
 */
export function gradientByName(h: System, g: Float64Array): Record<string, number | Float64Array> {
  const out: Record<string, number | Float64Array> = {};
  let at = 0;
  for (const node of h.params) {
    const n = size(node.shape);
    out[node.attrs.name as string] = node.shape.length === 0 ? g[at]! : g.slice(at, at + n);
    at += n;
  }
  return out;
}

function backwardError(backend: AdjointBackend, failure: BackwardFailure, firstStep: number): DarbouxError {
  const { method } = backend.program;
  const step = firstStep + failure.step;
  if (failure.kind === 'noConvergence') {
    return new DarbouxError(
      'NO_CONVERGENCE',
      `${method} (${backend.label}) vjp: the backward step of forward step ${step + 1} did not converge for trajectory ${failure.trajectory} ` +
        `(residual ${failure.residual!.toExponential(3)} after ${failure.iterations} iterations of its reconstruction or adjoint stage solve); ` +
        `no gradient is returned. Reduce dt, raise maxIterations, or use memory: 'store'`,
      { step, trajectory: failure.trajectory, residual: failure.residual, iterations: failure.iterations },
    );
  }
  return new DarbouxError(
    'NONFINITE',
    `${method} (${backend.label}) vjp: non-finite cotangent or reconstructed state in the backward step of forward step ${step + 1}, trajectory ${failure.trajectory}`,
    { step, trajectory: failure.trajectory },
  );
}

/**
 * The gradient of ⟨dq, q_N⟩ + ⟨dp, p_N⟩ through `steps` steps, for any backend, in one of three memory modes:
 * 'reverse' runs forward to z_N and then backward, rebuilding each z_n from z_{n+1}; 'store' records every state
 * and runs backward over them; 'checkpoint' records every k-th state, then for each segment from the last
 * recomputes its states from its checkpoint and runs backward over them.
 *
 * @example
 * const { dq0, dp0, dparams } = await runVjp(cpuAdjointBackend(program, 0.01, h.paramValues), { q0, p0, steps: 100, dq, dp });
 */
export async function runVjp(plainBackend: AdjointBackend, options: VjpOptions, precision: Precision = 'f64'): Promise<VjpResult> {
  const h = plainBackend.program.system;
  const n = h.dof;
  const { batch, steps, t0 } = checkVjpOptions(options, n, precision);
  const { backend, tp, gTrajectory } = trajectoryBackend(plainBackend, options.params, batch, precision);
  const mode = vjpMemory(backend.program, options.memory);
  const every = options.checkpointEvery ?? Math.max(1, Math.ceil(Math.sqrt(steps)));
  if (!Number.isSafeInteger(every) || every < 1) throw new DarbouxError('OPTION', `checkpointEvery must be a positive integer, got ${showValue(options.checkpointEvery)}`, { name: 'checkpointEvery', value: options.checkpointEvery });
  const q0 = Float64Array.from(options.q0), p0 = Float64Array.from(options.p0);
  const lq = Float64Array.from(options.dq), lp = Float64Array.from(options.dp);
  const g = new Float64Array(h.params.reduce((s, node) => s + size(node.shape), 0));
  const stateBytes = (states: number) => states * 2 * batch * n * backend.bytesPerValue;
  const totals = { iterations: 0, max: 0 };
  const control = new RunControl(options, 'vjp', steps);
  control.throwIfAborted();
  // Progress: the forward pass(es) and the backward pass, by their steps (checkpointing runs forward twice).
  const work = mode === 'reverse' ? 2 * steps : mode === 'store' ? 2 * steps : 3 * steps;
  let done = 0;
  const phase = (stepsOfPhase: number) => {
    const child = control.phase(work > 0 ? done / work : 0, work > 0 ? stepsOfPhase / work : 0);
    done += stepsOfPhase;
    return child;
  };
  const backward = async (segment: BackwardSegment, firstStep: number) => {
    const status = await backend.backward(segment, phase(segment.steps));
    if (status.failure) throw backwardError(backend, status.failure, firstStep);
    totals.iterations += status.iterationsTotal;
    totals.max = Math.max(totals.max, status.iterationsMax);
  };
  let peak = 0, reconstructionError = 0;
  if (steps > 0 && mode === 'reverse') {
    const end = await backend.forward(q0.slice(), p0.slice(), batch, steps, t0, 0, phase(steps));
    peak = stateBytes(1);
    await backward({ source: 'reverse', batch, steps, t0, q: end.q, p: end.p, lq, lp, g, gTrajectory }, 0);
    // The backward pass ends at the reconstructed z_0: its distance from the true z_0 measures the reversal error.
    // (An f32 backend started from z_0 rounded to f32.)
    const start = backend.bytesPerValue === 4 ? Math.fround : (x: number) => x;
    for (let i = 0; i < batch * n; i++) {
      reconstructionError = Math.max(reconstructionError, Math.abs(end.q[i]! - start(q0[i]!)), Math.abs(end.p[i]! - start(p0[i]!)));
    }
  } else if (steps > 0) {
    const k = mode === 'store' ? steps : every;
    // 'store' is one segment of all steps; 'checkpoint' keeps z_0, z_k, z_2k, … and recomputes each segment.
    const checkpoints = mode === 'store' ? null : await backend.forward(q0.slice(), p0.slice(), batch, steps, t0, k, phase(steps));
    const kept = checkpoints === null ? 0 : Math.ceil(steps / k);
    for (let start = Math.floor((steps - 1) / k) * k; start >= 0; start -= k) {
      const length = Math.min(k, steps - start);
      const j = start / k;
      const at = (j - 1) * batch * n;
      const zq = j === 0 ? q0 : checkpoints!.record!.q.slice(at, at + batch * n);
      const zp = j === 0 ? p0 : checkpoints!.record!.p.slice(at, at + batch * n);
      const storedQ = new Float64Array(length * batch * n), storedP = new Float64Array(length * batch * n);
      storedQ.set(zq);
      storedP.set(zp);
      if (length > 1) {
        const segment = await backend.forward(zq.slice(), zp.slice(), batch, length - 1, t0 + start * backend.dt, 1, phase(length - 1));
        storedQ.set(segment.record!.q, batch * n);
        storedP.set(segment.record!.p, batch * n);
      }
      peak = Math.max(peak, stateBytes(kept + length));
      await backward({ source: 'store', batch, steps: length, t0: t0 + start * backend.dt, q: zq, p: zp, lq, lp, g, gTrajectory, storedQ, storedP }, start);
    }
  }
  control.report(1, 1);
  const result: VjpResult = {
    dq0: lq,
    dp0: lp,
    dparams: { ...gradientByName(h, g), ...trajectoryGradients(tp, gTrajectory, batch) },
    memory: { mode, stateBytes: peak, ...(mode === 'checkpoint' ? { checkpointEvery: every } : {}), ...(mode === 'reverse' ? { reconstructionError } : {}) },
  };
  if (backend.program.implicit) result.stats = { iterations: { mean: steps > 0 ? totals.iterations / (steps * batch) : 0, max: totals.max } };
  return result;
}

/** The backend for a vjp's `params` (per-trajectory parameters: its variant, and their per-trajectory gradient). */
function trajectoryBackend(backend: AdjointBackend, given: unknown, batch: number, precision: Precision): { backend: AdjointBackend; tp: TrajectoryParams | null; gTrajectory?: Float64Array } {
  const tp = trajectoryParams(backend.program.system, given, batch, precision);
  if (tp === null) return { backend, tp };
  if (backend.withTrajectoryParams === undefined) {
    throw new DarbouxError('OPTION', `vjp: per-trajectory params are not supported by the ${backend.label} backend of ${backend.program.method}; omit params`, { option: 'params' });
  }
  return { backend: backend.withTrajectoryParams(tp), tp, gTrajectory: new Float64Array(trajectoryParamBlocks(tp, batch).length) };
}

/** `dparams` entries of per-trajectory parameters: Float64Array(batch·k) each (k elements, trajectory-major). */
function trajectoryGradients(tp: TrajectoryParams | null, g: Float64Array | undefined, batch: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  if (tp === null) return out;
  const { starts } = trajectoryParamBlocks(tp, batch);
  tp.names.forEach((name, j) => (out[name] = g!.slice(starts[j]!, starts[j]! + tp.sizes[j]! * batch)));
  return out;
}
