/** The Stepper contract shared by the CPU and GPU backends. */
import type { RunControlOptions } from './run-control.js';
import type { SavedResult, SectionOptions, SectionResult } from './sections.js';

export type { SavedResult, SectionOptions, SectionResult } from './sections.js';
import type { LyapunovOptions, LyapunovResult } from './lyapunov-types.js';

export type { Progress, RunControlOptions } from './run-control.js';
export type { LyapunovOptions, LyapunovResult } from './lyapunov-types.js';

/** What `run` does when a trajectory fails. */
export type OnFailure = 'throw' | 'report';

/**
 * A trajectory's outcome in `RunResult.status`: ok, or the code of its failure, the 0-based step that failed
 * (q and p hold its state after `step` steps, the last finite one) and, for NO_CONVERGENCE, the residual.
 */
export interface TrajectoryStatus {
  ok: boolean;
  code?: 'NONFINITE' | 'NO_CONVERGENCE';
  step?: number;
  residual?: number;
}

/**
 * Options of `Stepper.run`. Long runs are split into chunks (CPU) or dispatches (GPU) with a yield to the event
 * loop between them; `signal` cancels (the run rejects with DarbouxError 'ABORTED', name 'AbortError', and the
 * stepper stays usable) and `onProgress` reports `{ stepsDone, steps, fraction }`.
 */
export interface RunOptions extends RunControlOptions {
  /**
   * Initial positions, batch × dof, trajectory-major (read, never written; on the GPU a Float32Array is uploaded
   * as it is, other arrays converted to f32).
   */
  q0: ArrayLike<number>;
  /** Initial momenta, batch × dof, trajectory-major. */
  p0: ArrayLike<number>;
  /** Number of steps. */
  steps: number;
  /** Number of independent trajectories (default 1). */
  batch?: number;
  /** Start time (default 0). */
  t0?: number;
  /**
   * Record every k-th state (k = record) into `result.record`: the states after steps k, 2k, … ⌊steps/k⌋·k, so
   * `count` = ⌊steps/k⌋ and the initial state is NOT included by default. With `recordInitial: true` the initial
   * state comes first (`count` = ⌊steps/k⌋ + 1, snapshot j is the state after j·k steps), as `integrateModel`
   * returns its trajectories (there with k = 1). Snapshots are batch × dof each, trajectory-major.
   */
  record?: number;
  /**
   * With `record`: put the initial state (q0, p0) first in `result.record` (default false). On the GPU it is q0, p0
   * rounded to f32, the state the kernel starts from. Without `record` it is refused (OPTION).
   */
  recordInitial?: boolean;
  /**
   * Bytes the run's f64 output (final state plus recorded states) may take (default 2 GiB); a larger one is
   * refused with INPUT before anything is allocated.
   */
  memoryBudget?: number;
  /**
   * What a failing trajectory (non-finite state, unconverged implicit solve) does: 'throw' (default) rejects with
   * the earliest failure (smallest step), counting all in `details.failed`; 'report' returns every trajectory,
   * each failed one at its last finite state, and `result.status`.
   */
  onFailure?: OnFailure;
  /**
   * Per-trajectory parameter values (a sweep without recompiling): `{ name: values }` where `values` is an array
   * of `batch` finite numbers (trajectory b sees `values[b]`) or a single number (every trajectory, overriding the
   * compiled value for this run only). Any parameter of H may be given: a tensor of k elements (shape [k], [r, c],
   * …) as batch·k numbers, trajectory b's elements at b·k … b·k + k − 1. Unknown names are refused (OPTION, naming
   * the closest parameter), wrong lengths and non-finite values too (INPUT, naming the index). The kernel reads these from a buffer: one kernel per SET of names, compiled on the first
   * run that uses it and reused for every later value, so a sweep of any number of values is one compile and (on
   * the GPU) one dispatch per chunk. Parameters not named keep their compiled values, inlined as constants.
   *
   * @example
   * const lam = Float64Array.from({ length: 4096 }, (_, b) => b / 4096);
   * await st.run({ q0, p0, steps: 1000, batch: 4096, params: { lam } });
   */
  params?: Record<string, number | ArrayLike<number>>;
  /**
   * Save the state at these times, written by the kernel into `result.saved`. Each must be a step time
   * t0 + k·dt (k an integer, within rounding; OPTION otherwise: no interpolation), strictly increasing in k and
   * within the run (0 ≤ k ≤ steps; k = 0 is the initial state).
   */
  saveAt?: readonly number[];
  /** As `saveAt`, by step count k (the state after k steps). */
  saveAtSteps?: readonly number[];
  /**
   * A Poincaré section / event: each trajectory records its crossings of g = 0, located to rounding inside the
   * step, into `result.section` (see `SectionOptions`, `SectionResult`).
   */
  section?: SectionOptions;
}

/** Result of `Stepper.run`. */
export interface RunResult {
  /** Final positions, batch × dof. */
  q: Float64Array;
  /** Final momenta, batch × dof. */
  p: Float64Array;
  /** Recorded states: `count` snapshots × batch × dof, after steps k, 2k, … (with `recordInitial`: after steps 0, k, 2k, …). */
  record?: { every: number; count: number; q: Float64Array; p: Float64Array };
  /** Implicit methods: fixed-point iterations per step (mean over all steps and trajectories, and max). */
  stats?: { iterations: { mean: number; max: number } };
  /**
   * `onFailure: 'report'`: per trajectory, ok, or the failure's code ('NONFINITE', 'NO_CONVERGENCE'), the 0-based
   * step that failed (q, p hold that trajectory's state after `step` steps, its last finite one), and for
   * NO_CONVERGENCE the residual.
   */
  status?: TrajectoryStatus[];
  /** With `saveAt` / `saveAtSteps`: the states at those steps (save × batch × dof). */
  saved?: SavedResult;
  /** With `section`: the crossings of each trajectory (batch × max slots). */
  section?: SectionResult;
}

/** How `Stepper.vjp` gets the forward states the backward pass differentiates at. */
export type VjpMemory = 'reverse' | 'checkpoint' | 'store';

/**
 * Options of `Stepper.vjp`: the run to differentiate (as `run` takes it) and the cotangent of its final state;
 * `signal` and `onProgress` as for `run` (progress over the forward and backward passes together).
 */
export interface VjpOptions extends RunControlOptions {
  /** Initial positions, batch × dof, trajectory-major. */
  q0: ArrayLike<number>;
  /** Initial momenta, batch × dof. */
  p0: ArrayLike<number>;
  /** Number of steps N. */
  steps: number;
  /** Number of trajectories (default 1). */
  batch?: number;
  /** Cotangent of q_N, batch × dof. */
  dq: ArrayLike<number>;
  /** Cotangent of p_N, batch × dof. */
  dp: ArrayLike<number>;
  /**
   * 'reverse' (default for reversible methods): rebuild z_n from z_{n+1} with the inverse step, memory constant
   * in `steps`; 'checkpoint' (default for rk4): keep every k-th state and recompute each segment; 'store': keep
   * every state (plain backpropagation).
   */
  memory?: VjpMemory;
  /** 'checkpoint': the segment length k (default ⌈√steps⌉). */
  checkpointEvery?: number;
  /** Start time (default 0). */
  t0?: number;
  /**
   * Per-trajectory parameter values, as for `run`. The gradients of the parameters given here come back per
   * trajectory: `dparams[name]` is a Float64Array(batch) (a tensor of k elements: batch·k, trajectory-major), the
   * derivative of trajectory b's ⟨dq, q_N⟩ + ⟨dp, p_N⟩ with respect to its own value(s).
   */
  params?: Record<string, number | ArrayLike<number>>;
}

/** Result of `Stepper.vjp`: the gradient of ⟨dq, q_N⟩ + ⟨dp, p_N⟩. */
export interface VjpResult {
  /** With respect to q0 (batch × dof). */
  dq0: Float64Array;
  /** With respect to p0 (batch × dof). */
  dp0: Float64Array;
  /**
   * With respect to every parameter of H, by name, summed over the batch: numbers for scalars, arrays for tensors;
   * a parameter given per trajectory in `params`: Float64Array(batch·k) (k its elements), trajectory-major.
   */
  dparams: Record<string, number | Float64Array>;
  /**
   * The memory mode used; the peak bytes of forward states it held, at the backend's precision (constant in
   * steps for 'reverse', linear for 'store'); for 'reverse', the max-norm distance between the z_0 rebuilt by
   * stepping backwards and the true z_0 (how far the reversed trajectory departed from the forward one).
   */
  memory: { mode: VjpMemory; stateBytes: number; checkpointEvery?: number; reconstructionError?: number };
  /** Implicit methods: fixed-point iterations per backward step (reconstruction/forward stages plus adjoint stages). */
  stats?: { iterations: { mean: number; max: number } };
}

/**
 * A batch of states kept where a stepper runs: on the GPU backend an f32 device buffer that `run({ state })`
 * advances in place with no upload or readback, on the CPU backend (and the GPU's particle kernels, whose runs
 * are host-driven) Float64Arrays. Made by `Stepper.upload`, read
 * by `Stepper.download`; `dispose()` frees it (a disposed state is refused by run and download, INPUT).
 */
export interface DeviceState {
  readonly backend: 'cpu' | 'gpu';
  /** Trajectories. */
  readonly batch: number;
  /** Degrees of freedom per trajectory. */
  readonly dof: number;
  /** Whether `dispose()` was called. */
  readonly disposed: boolean;
  /** Frees the state's memory (device buffers on the GPU); idempotent. */
  dispose(): void;
}

/** Options of `Stepper.upload`. */
export interface UploadOptions {
  /** Trajectories (default 1): q0 and p0 hold batch × dof values each. */
  batch?: number;
}

/**
 * `Stepper.run` on a device-resident state: advances `state` in place by `steps` steps. `q0`/`p0` are refused
 * with it (OPTION), and so are `record`, `recordInitial`, `memoryBudget` and `onFailure: 'report'` (download the
 * state to see it). A failing trajectory rejects as a plain run does (diagnosed from the state the run started
 * at); a run that rejects (failure, abort) leaves the state as it was before the run.
 */
export interface StateRunOptions extends RunControlOptions {
  /** The state to advance, from `upload` of a stepper on the same backend (and GPU) with the same dof. */
  state: DeviceState;
  steps: number;
  /** When given, must equal `state.batch`. */
  batch?: number;
  t0?: number;
  /** Per-trajectory parameter values, as for `RunOptions.params`. */
  params?: Record<string, number | ArrayLike<number>>;
  q0?: undefined;
  p0?: undefined;
}

/** Result of a run on a device-resident state: the same state object, advanced. */
export interface StateRunResult {
  state: DeviceState;
  /** Implicit methods: fixed-point iterations per step (mean and max). */
  stats?: { iterations: { mean: number; max: number } };
}

/** Which forward runner a CPU stepper uses (`Stepper.cpuRunner`). */
export interface CpuRunnerInfo {
  readonly kind: 'wasm' | 'js';
  /** Trajectories advanced at once: the lane runner's block, 1 for the JS runner. */
  readonly lanes: number;
  /** Why the lane runner is not used (kind 'js'). */
  readonly reason?: string;
}

/**
 * A compiled integrator for one Hamiltonian, method and step size.
 *
 * A loop of short runs can keep its state where the stepper runs (on the GPU: no upload or readback per run):
 *
 * @example
 * const state = await st.upload(q0, p0, { batch: 4096 });
 * for (let k = 0; k < 100; k++) await st.run({ state, steps: 10 });
 * const { q, p } = await st.download(state);
 * state.dispose();
 */
export interface Stepper {
  readonly method: string;
  readonly dt: number;
  readonly backend: 'cpu' | 'gpu';
  readonly dof: number;
  /** Generated source of the main kernel (JavaScript for the CPU backend, WGSL for the GPU). */
  readonly source: string;
  /** GPU backend: the complete WGSL module it dispatches (entry points `main` and `mainRecord`). */
  readonly wgsl?: string;
  /**
   * CPU backend: which forward runner `run` uses (compile option `cpuRunner`): `kind` 'wasm' (trajectories advanced
   * `lanes` at a time in WebAssembly SIMD, results equal to the JS runner's bit for bit) or 'js' (one at a time),
   * and for 'js' the reason the lane runner is not used (e.g. "Math.sin has no exact WebAssembly instruction").
   */
  readonly cpuRunner?: CpuRunnerInfo;
  /** Advances every trajectory by `steps` steps. */
  run(options: RunOptions): Promise<RunResult>;
  /** Advances a device-resident state (from `upload`) in place by `steps` steps. */
  run(options: StateRunOptions): Promise<StateRunResult>;
  /** A device-resident copy of (q0, p0), batch × dof each (f32 on the GPU): `run({ state, steps })` advances it in place. */
  upload(q0: ArrayLike<number>, p0: ArrayLike<number>, options?: UploadOptions): Promise<DeviceState>;
  /** The positions and momenta a device-resident state holds now (Float64Arrays, batch × dof). */
  download(state: DeviceState): Promise<{ q: Float64Array; p: Float64Array }>;
  /** Exact Jacobian ∂(q₁, p₁)/∂(q₀, p₀) of ONE step at (q, p), row-major (2·dof)², f64. */
  jacobian(q: ArrayLike<number>, p: ArrayLike<number>, t?: number): Float64Array;
  /**
   * The gradient of ⟨dq, q_N⟩ + ⟨dp, p_N⟩ after `steps` steps from (q0, p0) with respect to the initial state
   * and every parameter of H: the exact discrete adjoint of the compiled step (f64 on the CPU, f32 on the GPU).
   */
  vjp(options: VjpOptions): Promise<VjpResult>;
  /**
   * Lyapunov exponents per unit time (Benettin et al.): `count` tangent vectors advanced by the exact tangent step
   * and re-orthonormalised every `renormalizeEvery` steps; the largest first, with their running estimate.
   */
  lyapunov(options: LyapunovOptions): Promise<LyapunovResult>;
  /** Releases resources; the stepper cannot be used afterwards. */
  dispose(): void;
}
