/**
 * The option, data and result types of `fit` and of trajectory training, in one place (no code): the train
 * files that validate, plan and run training all import them from here.
 */
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { Lagrangian } from '../system/lagrangian.js';
import type { ImplicitSolver } from '../integrators/newton.js';
import type { NeuralModel, ParamTensors } from '../models/neural/model.js';
import type { AdapterChoice } from '../runtime/index.js';
import type { Progress } from '../backends/run-control.js';

/** Losses `fit` knows; which apply depends on the model kind (see `LOSSES_BY_KIND`). */
export type LossName = 'derivative' | 'map' | 'rollout' | 'acceleration';

/**
 * Training samples: flat row-major arrays, samples × dof (q, p, and the targets the loss needs).
 *
 * - `derivative` loss: `dqdt`, `dpdt` (the time derivatives at (q, p));
 * - `map` loss: `qNext`, `pNext` (the state one map application later);
 * - `rollout` loss with k steps: `qNext`, `pNext` of samples × k × dof (the states after 1, …, k steps);
 * - `energyWeight` with the derivative loss: `trajectoryIndex` (one integer per sample; the reference energy is
 *   the model's H at the first sample of the same trajectory);
 * - `acceleration` loss (lnn): see `LagrangianTrainingData`.
 */
export interface TrainingData {
  q: ArrayLike<number>;
  p: ArrayLike<number>;
  dqdt?: ArrayLike<number>;
  dpdt?: ArrayLike<number>;
  qNext?: ArrayLike<number>;
  pNext?: ArrayLike<number>;
  trajectoryIndex?: ArrayLike<number>;
}

/** Samples of a Lagrangian system for the `acceleration` loss of an lnn: samples × dof each, row-major. */
export interface LagrangianTrainingData {
  q: ArrayLike<number>;
  /** Velocities q̇. */
  v: ArrayLike<number>;
  /** Accelerations q̈ at (q, v). */
  a: ArrayLike<number>;
}

/** Any per-sample training data (`TrainingData` for hnn, mlpField and sympnet; `LagrangianTrainingData` for lnn). */
export type SampleData = TrainingData | LagrangianTrainingData;

/** k-step rollout through an integrator (hnn: an explicit `compile` method; sympnet: the map composed k times). */
export interface RolloutOptions {
  /** Steps per sample (k ≥ 1). */
  steps: number;
  /** hnn only: the integration method (explicit: leapfrog, symplecticEulerA/B, yoshida4, …, rk4). */
  method?: string;
  /** hnn only: the step size. */
  dt?: number;
}

/**
 * Observed trajectories (trajectories × length × dof, every `dt`) for trajectory training with loss 'rollout'
 * through any method (see `fitTrajectories`).
 */
export interface TrajectoryTrainingData {
  trajectories: TrajectoryData;
}

/** Options of `fit`. */
export interface FitOptions extends TrajectoryFitOptions {
  /** Loss (default: 'derivative' for hnn and mlpField, 'map' for sympnet, 'acceleration' for lnn). */
  loss?: LossName;
  /** Optimiser steps (a positive integer). */
  steps: number;
  /** Adam learning rate (> 0). */
  lr: number;
  /** Samples per minibatch, drawn without replacement every step (default and cap: all samples). */
  batchSize?: number;
  /** Weight decay (default 0). */
  weightDecay?: number;
  /** 'l2' (default; added to the gradient, as torch.optim.Adam's weight_decay) or 'decoupled' (AdamW). */
  weightDecayMode?: 'l2' | 'decoupled';
  /** Learning-rate schedule: 'constant' (default) or 'cosine' (lr·(1 + cos(π·t/steps))/2, t = 0 … steps−1). */
  schedule?: 'constant' | 'cosine';
  /** Clip the minibatch gradient to this Euclidean norm before the update (torch's clip_grad_norm_). */
  clipNorm?: number;
  /** Adam constants (defaults 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Seed of the minibatch sampling (default 0): the same seed gives the same history. */
  seed?: number;
  /** 'cpu' (f64 JavaScript, default) or 'gpu' (f32 WGSL kernels, parameters resident on the device). */
  backend?: 'cpu' | 'gpu';
  adapter?: AdapterChoice;
  /** hnn: weight of the energy regulariser (H(z) − H(z_ref))² (default 0). */
  energyWeight?: number;
  /** Rollout loss settings (required for loss 'rollout'). */
  rollout?: RolloutOptions;
  /** Held-out samples, whose full loss is recorded every `validationEvery` steps. */
  validation?: SampleData;
  /** Steps between validation losses (default 1). */
  validationEvery?: number;
  /** GPU: steps between readbacks of the loss history (the non-finite check), default 100. */
  checkEvery?: number;
  /** GPU: most samples per gradient dispatch (default: what the device's buffer limits allow). */
  maxSamplesPerDispatch?: number;
  /**
   * CPU backend: 'auto' (default) runs the batched lowering (the minibatch as a matrix dimension, dense layers as
   * matrix–matrix products) where it applies — the derivative loss of an hnn whose H is a sum of MLPs, the
   * acceleration loss of an lnn (unconstrained or Noether-invariant; kept per sample for one hidden layer with
   * width × dof ≤ 16, where that is faster) — and the per-sample lowering otherwise; 'perSample' forces the
   * per-sample lowering; 'batched' demands the batched one (OPTION error, with the reason, where it does not apply).
   * The GPU backend follows the same choice for an hnn: its batched kernels (tiled WGSL GEMMs, no per-invocation
   * loop bound at width) or its per-sample kernel; an lnn trains per sample on the GPU ('batched' is refused there).
   */
  cpuLowering?: 'auto' | 'batched' | 'perSample';
  /**
   * CPU backend: threads that share each minibatch's gradient (worker_threads; fixed chunks of 64 samples whose
   * sums are added in order, so every thread count gives the same result bit for bit). By default the first
   * steps are timed on one thread and `availableParallelism()` threads start when the rest of the fit pays for
   * them; 1 keeps one thread. Integer 1…256 (OPTION otherwise); the GPU backend ignores it.
   */
  threads?: number;
  /** Cancels training: `fit` rejects with DarbouxError('ABORTED'), name 'AbortError'. */
  signal?: AbortSignal;
  /** Called every ~20 ms of training, and at the end, with the optimiser steps done: `{ stepsDone, steps, fraction }`. */
  onProgress?: (progress: Progress) => void;
}

/** What `fit` returns. */
export interface FitResult {
  /** The trained model (`model.withParams(params)`). */
  model: NeuralModel;
  /** Trained values, JSON-safe (number[] per name); `hnn({...}).withParams(params)` restores the model. */
  params: ParamTensors;
  /** hnn: the trained Hamiltonian, usable by `compile`. */
  hamiltonian?: Hamiltonian;
  /** lnn: the trained Lagrangian, usable by `compile`. */
  lagrangian?: Lagrangian;
  /** Minibatch loss at every step (before that step's update). */
  history: number[];
  /** Full validation loss, recorded at `validationSteps` (before that step's update; the last after training). */
  validationHistory: number[];
  validationSteps: number[];
  backend: 'cpu' | 'gpu';
  /** Wall time of the optimisation loop (compilation excluded), seconds. */
  seconds: number;
  /** Training samples processed per second (steps × batch / seconds). */
  samplesPerSecond: number;
  /** Graph sizes: nodes of the per-sample loss and of the loss with its parameter gradient. */
  graph: { loss: number; gradient: number };
}

/** Observed trajectories: Float64Arrays of trajectories × length × dof (row-major), sampled every `dt`. */
export interface TrajectoryData {
  q: ArrayLike<number>;
  p: ArrayLike<number>;
  dt: number;
  length: number;
}

/** What trajectory training reads from `fit`'s options. */
export interface TrajectoryFitOptions {
  /** Integration method of the model's flow (any `compile` method; leapfrog and compositions need a separable hnn). */
  method?: string;
  /** Steps per training window (≥ 1; each window starts at an observed state and is compared at every step). */
  horizon?: number;
  /** 'adjoint' (default: exact discrete adjoint, states rebuilt backwards, memory constant in the horizon) or 'backprop' (stored states). */
  gradient?: 'adjoint' | 'backprop';
  /** Implicit methods: 'fixedPoint' (default), or 'newton' / 'simplifiedNewton' for stiff dynamics (forward and backward solves). */
  solver?: ImplicitSolver;
}

/** Memory of a trajectory-training gradient: state values held per window. */
export interface TrajectoryGradientMemory {
  mode: 'adjoint' | 'backprop';
  /** Bytes of states held for the gradient of one minibatch (f64). */
  stateBytes: number;
}

