import { DarbouxError, showValue } from '../errors.js';
import type { StepProgram } from '../integrators/step-program.js';
import type { FixedPointSettings } from '../codegen/step-body.js';
import { gpuAvailable } from '../runtime/index.js';
import { cpuStepper } from './cpu/stepper.js';
import { gpuStepper, type GpuOptions } from './gpu/stepper.js';
import type { Stepper } from './stepper.js';

/** The options every backend receives from `compile` (each reads the ones it knows). */
export type BackendOptions = GpuOptions & Partial<FixedPointSettings> & { threads?: number; cpuRunner?: 'auto' | 'js' | 'wasm' };

/** One backend of `compile`: how to tell whether it can run here, and how to build a Stepper on it. */
export interface BackendEntry {
  /** The name `compile`'s `backend` option selects it by. */
  readonly name: string;
  /** Rank for `backend: 'auto'`: the available backend with the smallest preference wins. */
  readonly preference: number;
  /** Whether the backend can run here with these options (the CPU always can; the GPU needs an adapter). */
  available(options: BackendOptions): Promise<boolean>;
  /** Builds a Stepper for a step program at step size `dt`. */
  create(program: StepProgram, dt: number, options: BackendOptions): Promise<Stepper>;
}

const backends = new Map<string, BackendEntry>();

/**
 * Adds a backend to the registry `compile` chooses from (a name may be registered once).
 *
 * @example
 * registerBackend({ name: 'cpu', preference: 1, available: async () => true, create: async (p, dt) => cpuStepper(p, dt) });
 */
export function registerBackend(entry: BackendEntry): void {
  if (entry.name === 'auto' || backends.has(entry.name)) {
    throw new DarbouxError('INTERNAL', `registerBackend: the backend name '${entry.name}' is already taken`, { name: entry.name });
  }
  backends.set(entry.name, entry);
}

/**
 * The registered backend names, in registration order (`'auto'` is not one of them).
 *
 * @example
 * backendNames(); // ['cpu', 'gpu']
 */
export function backendNames(): string[] {
  return [...backends.keys()];
}

/**
 * The backend `compile` uses for a `backend` option: the named one, or for `'auto'` the first available one in
 * preference order. Unknown names fail with OPTION, listing the registered ones.
 *
 * @example
 * const entry = await selectBackend('auto', {}); // the GPU when an adapter exists, else the CPU
 * const st = await entry.create(program, 0.01, {});
 */
export async function selectBackend(name: string, options: BackendOptions): Promise<BackendEntry> {
  checkBackendName(name);
  if (name !== 'auto') return backends.get(name)!;
  const ranked = [...backends.values()].sort((a, b) => a.preference - b.preference);
  for (const entry of ranked) if (await entry.available(options)) return entry;
  throw new DarbouxError('DEVICE', `no backend is available here (tried ${ranked.map((e) => `'${e.name}'`).join(', ')})`, {
    tried: ranked.map((e) => e.name),
  });
}

/**
 * Throws OPTION unless `name` is a registered backend or `'auto'`.
 *
 * @example
 * checkBackendName('tpu'); // DarbouxError OPTION: unknown backend 'tpu'; use 'cpu', 'gpu' or 'auto'
 */
export function checkBackendName(name: unknown): asserts name is string {
  if (typeof name === 'string' && (name === 'auto' || backends.has(name))) return;
  const choices = [...backendNames(), 'auto'].map((n) => `'${n}'`);
  throw new DarbouxError('OPTION', `unknown backend ${showValue(name)}; use ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`, {
    backend: name,
    choices: [...backendNames(), 'auto'],
  });
}

registerBackend({
  name: 'cpu',
  preference: 1,
  available: async () => true,
  create: async (program, dt, options) => cpuStepper(program, dt, { tolerance: options.tolerance, maxIterations: options.maxIterations, threads: options.threads, cpuRunner: options.cpuRunner }),
});

registerBackend({
  name: 'gpu',
  preference: 0,
  available: (options) => gpuAvailable(options.adapter),
  create: (program, dt, options) => gpuStepper(program, dt, options),
});
