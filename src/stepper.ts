/** The Stepper contract shared by the CPU and GPU backends. */

/** Options of `Stepper.run`. */
export interface RunOptions {
  /** Initial positions, batch × dof, trajectory-major. */
  q0: ArrayLike<number>;
  /** Initial momenta, batch × dof, trajectory-major. */
  p0: ArrayLike<number>;
  /** Number of steps. */
  steps: number;
  /** Number of independent trajectories (default 1). */
  batch?: number;
  /** Start time (default 0). */
  t0?: number;
  /** Record every k-th state (k = record) into `result.record`. */
  record?: number;
}

/** Result of `Stepper.run`. */
export interface RunResult {
  /** Final positions, batch × dof. */
  q: Float64Array;
  /** Final momenta, batch × dof. */
  p: Float64Array;
  /** Recorded states: `count` snapshots × batch × dof, after steps k, 2k, … */
  record?: { every: number; count: number; q: Float64Array; p: Float64Array };
  /** Implicit methods: fixed-point iterations per step (mean over all steps and trajectories, and max). */
  stats?: { iterations: { mean: number; max: number } };
}

/** A compiled integrator for one Hamiltonian, method and step size. */
export interface Stepper {
  readonly method: string;
  readonly dt: number;
  readonly backend: 'cpu' | 'gpu';
  readonly dof: number;
  /** Generated source of the main kernel (JavaScript for the CPU backend, WGSL for the GPU). */
  readonly source: string;
  /** GPU backend: the complete WGSL module it dispatches (entry points `main` and `mainRecord`). */
  readonly wgsl?: string;
  /** Advances every trajectory by `steps` steps. */
  run(options: RunOptions): Promise<RunResult>;
  /** Exact Jacobian ∂(q₁, p₁)/∂(q₀, p₀) of ONE step at (q, p), row-major (2·dof)², f64. */
  jacobian(q: ArrayLike<number>, p: ArrayLike<number>, t?: number): Float64Array;
  /** Releases resources; the stepper cannot be used afterwards. */
  dispose(): void;
}
