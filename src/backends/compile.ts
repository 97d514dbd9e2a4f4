import { DarbouxError, showValue } from '../errors.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import { Lagrangian } from '../system/lagrangian.js';
import { lagrangianStepProgram, stepProgram } from '../integrators/methods.js';
import { lagrangianStepper, type LagrangianStepper } from './lagrangian-stepper.js';
import { withImplicitSolver, type ImplicitSolver } from '../integrators/newton.js';
import type { Stepper } from './stepper.js';
import type { GpuOptions } from './gpu/stepper.js';
import { checkBackendName, selectBackend } from './registry.js';

const IMPLICIT_SOLVERS: readonly ImplicitSolver[] = ['fixedPoint', 'newton', 'simplifiedNewton'];

/** Options of `compile`. */
export interface CompileOptions extends GpuOptions {
  /** Integration method (default 'leapfrog'). */
  method?: string;
  /** Step size: a finite positive number. */
  dt: number;
  /** 'cpu' (f64 JavaScript), 'gpu' (f32 WGSL) or 'auto' (default: GPU when an adapter exists, else CPU). */
  backend?: 'cpu' | 'gpu' | 'auto';
  /** Implicit methods: relative tolerance of the fixed-point update (default: 4 ulps of the backend's precision). */
  tolerance?: number;
  /** Implicit methods: maximum fixed-point iterations per step (default 100). */
  maxIterations?: number;
  /**
   * Implicit methods: how the stage equations are solved. 'fixedPoint' (default) iterates W ← F(W); 'newton'
   * uses Newton's method with the exact stage Jacobian from autodiff (for stiff problems, where the plain
   * iteration diverges); 'simplifiedNewton' freezes that Jacobian at the predictor (one factorisation per step).
   * Ignored by explicit methods.
   */
  solver?: ImplicitSolver;
  /**
   * CPU backend: worker threads of `run` (the main thread left free). Particle systems with pair loops split the
   * pair loops over threads (default: os.availableParallelism() for neighbour lists of ≥ 2 000 particles, 1
   * otherwise; results depend on it only through the order of floating-point sums). Other systems split the
   * batch's trajectories over threads (default: os.availableParallelism() once a run is long enough to pay for
   * them, see src/backends/cpu/trajectory-threads.ts; results are the same bit for bit); `vjp` threads its forward
   * passes only when `threads` is given (its backward pass is single-threaded). `threads: 1` forces one.
   */
  threads?: number;
  /**
   * CPU backend: the forward runner of `run`. 'auto' (default) advances trajectories several at a time in
   * WebAssembly SIMD (f64x2) wherever the step is straight-line arithmetic WebAssembly has exactly (explicit
   * methods; + − × ÷, sqrt, abs, min, max; no sin, exp, …), else one at a time in JavaScript; 'js' forces the
   * JavaScript runner; 'wasm' the SIMD one (an OPTION error where there is none). Results are the same bit for bit;
   * `stepper.cpuRunner` says which runs, and why.
   */
  cpuRunner?: 'auto' | 'js' | 'wasm';
}

/**
 * Compiles a Hamiltonian and a method into a Stepper on a backend from the registry (src/backends/registry.ts).
 * `backend: 'auto'` (the default) picks the first available one in preference order — the GPU when a WebGPU
 * adapter exists, the f64 CPU backend otherwise; `stepper.backend` says which.
 *
 * @example
 * const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
 * const { q, p } = await st.run({ q0: [1, 0], p0: [0, 1], steps: 1000 });
 * st.dispose();
 */
export async function compile(h: Hamiltonian, options: CompileOptions): Promise<Stepper>;
/**
 * Compiles a Lagrangian with 'variationalMidpoint' (default), 'variationalTrapezoid' or 'rk4' into a
 * LagrangianStepper, whose `run({ q0, v0, steps, batch })` returns positions, velocities and momenta.
 *
 * @example
 * const st = await compile(L, { method: 'variationalMidpoint', dt: 0.01, backend: 'cpu' });
 * const { q, v, p } = await st.run({ q0: [1, 0], v0: [0, 1], steps: 1000 });
 */
export async function compile(L: Lagrangian, options: CompileOptions): Promise<LagrangianStepper>;
/** Either, for callers holding a union (the result is narrowed by the argument's class). @example await compile(system, { dt: 0.01 }) */
export async function compile(system: Hamiltonian | Lagrangian, options: CompileOptions): Promise<Stepper | LagrangianStepper>;
export async function compile(system: Hamiltonian | Lagrangian, options: CompileOptions): Promise<Stepper | LagrangianStepper> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new DarbouxError('OPTION', `compile needs an options object { dt, method?, backend? }, got ${showValue(options)}`, { value: showValue(options) });
  }
  if (system instanceof Lagrangian) return compileLagrangian(system, options);
  const h = system;
  if (h === null || typeof h !== 'object' || !Number.isSafeInteger((h as { dof?: unknown }).dof)) {
    throw new DarbouxError('SPEC', `compile needs a Hamiltonian or a Lagrangian (from parse, hamiltonian, lagrangian or a model), got ${showValue(h)}`, { value: showValue(h) });
  }
  const { dt } = options;
  if (typeof dt !== 'number' || !Number.isFinite(dt) || dt === 0) {
    throw new DarbouxError('OPTION', `dt must be a finite nonzero number (negative dt integrates backwards), got ${showValue(dt)}`, { option: 'dt', value: dt });
  }
  const method = options.method ?? 'leapfrog';
  const backend = options.backend ?? 'auto';
  checkBackendName(backend);
  const solver = options.solver ?? 'fixedPoint';
  if (!(IMPLICIT_SOLVERS as readonly string[]).includes(solver)) {
    throw new DarbouxError('OPTION', `unknown solver ${showValue(solver)}; use ${IMPLICIT_SOLVERS.map((s) => `'${s}'`).join(', ')}`, { option: 'solver', value: solver });
  }
  const base = stepProgram(h, method);
  const program = withImplicitSolver(base, solver);
  checkNumericOptions(options);
  const entry = await selectBackend(backend, options);
  return entry.create(program, dt, options);
}

/** The numeric options every compile checks: fixed-point settings and GPU dispatch bounds. */
function checkNumericOptions(options: CompileOptions): void {
  if (options.cpuRunner !== undefined && !(['auto', 'js', 'wasm'] as unknown[]).includes(options.cpuRunner)) {
    throw new DarbouxError('OPTION', `cpuRunner must be 'auto', 'js' or 'wasm', got ${showValue(options.cpuRunner)}`, { option: 'cpuRunner', value: options.cpuRunner });
  }
  for (const key of ['tolerance', 'maxIterations'] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (key === 'maxIterations' && !Number.isInteger(v)))) {
      throw new DarbouxError('OPTION', `${key} must be a positive ${key === 'maxIterations' ? 'integer' : 'number'}, got ${showValue(v)}`, { option: key, value: v });
    }
  }
  for (const key of ['stepsPerDispatch', 'maxTrajectoriesPerChunk', 'maxWorkgroupsPerDispatch'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new DarbouxError('OPTION', `${key} must be a positive integer, got ${showValue(v)}`, { option: key, value: v });
  }
}

/** `compile` for a Lagrangian: its step program on a registered backend, wrapped by `lagrangianStepper`. */
async function compileLagrangian(L: Lagrangian, options: CompileOptions): Promise<LagrangianStepper> {
  const { dt } = options;
  if (typeof dt !== 'number' || !Number.isFinite(dt) || dt === 0) {
    throw new DarbouxError('OPTION', `dt must be a finite nonzero number (negative dt integrates backwards), got ${showValue(dt)}`, { option: 'dt', value: dt });
  }
  const backend = options.backend ?? 'auto';
  checkBackendName(backend);
  if (options.solver !== undefined && options.solver !== 'newton') {
    throw new DarbouxError('OPTION', `solver '${String(options.solver)}' does not apply to a Lagrangian: its variational steps are always solved by Newton's method (omit solver)`, { solver: options.solver });
  }
  const program = lagrangianStepProgram(L, options.method ?? 'variationalMidpoint');
  checkNumericOptions(options);
  const entry = await selectBackend(backend, options);
  return lagrangianStepper(L, program, await entry.create(program, dt, options));
}
