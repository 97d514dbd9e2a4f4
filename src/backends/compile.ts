import { DarbouxError, showValue } from '../errors.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import { stepProgram } from '../integrators/methods.js';
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
export async function compile(h: Hamiltonian, options: CompileOptions): Promise<Stepper> {
  if (h === null || typeof h !== 'object' || !Number.isSafeInteger((h as { dof?: unknown }).dof)) {
    throw new DarbouxError('SPEC', `compile needs a Hamiltonian (from parse, hamiltonian or a model), got ${showValue(h)}`, { value: showValue(h) });
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new DarbouxError('OPTION', `compile needs an options object { dt, method?, backend? }, got ${showValue(options)}`, { value: showValue(options) });
  }
  const { dt } = options;
  if (typeof dt !== 'number' || !Number.isFinite(dt) || dt <= 0) {
    throw new DarbouxError('OPTION', `dt must be a finite positive number, got ${showValue(dt)}`, { option: 'dt', value: dt });
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
  const entry = await selectBackend(backend, options);
  return entry.create(program, dt, options);
}
