/** What the host reads back from stepper and backward kernels: status words, and dispatch sizes under loop bounds. */
import { DarbouxError } from '../../errors.js';
import type { KernelLoopIterations } from '../../codegen/emit-wgsl.js';
import { controlWordType, NO_CONVERGENCE_FLAG, NONFINITE_BY_FLAG, STATUS_WORD, STATUS_WORDS, TRUNCATED_FLAG, type StatusWordName } from '../../codegen/kernel-words.js';
import type { Gpu } from '../../runtime/index.js';
import type { BackwardFailure, BackwardStatus } from '../adjoint-driver.js';

/**
 * Decodes the per-trajectory status words of a stepper or backward kernel: iteration totals and the first
 * failure (trajectory within the chunk, step, and for unconverged solves the residual and iteration count).
 *
 * @example
 * const { failure } = readStatus(await readBuffer(gpu, statusBuffer), count);
 */
export function readStatus(words: ArrayBuffer, count: number): BackwardStatus {
  const status = decodeStatus(words, count);
  const kind = status.failure?.kind;
  if (kind === 'truncated' || kind === 'nonfiniteBy') {
    throw new DarbouxError('DEVICE', `the GPU ended a backward kernel's step loop early (trajectory ${status.failure!.trajectory}); the gradient is discarded. Software adapters bound loop iterations per invocation: use the CPU backend`);
  }
  return status as BackwardStatus;
}

/** A failure a stepper kernel reports: BackwardFailure's kinds, plus a non-finite state known only by a step, and a cut-short loop. */
type KernelFailure = Omit<BackwardFailure, 'kind'> & { kind: BackwardFailure['kind'] | 'nonfiniteBy' | 'truncated' };

/**
 * Decodes the per-trajectory status words of a stepper or backward kernel: iteration statistics and the first
 * failure (a step loop cut short by the adapter takes precedence over any other), with its step (0-based),
 * trajectory within the chunk, and for unconverged solves the residual and iteration count.
 *
 * @example
 * const { failure, iterationsTotal } = decodeStatus(await readBuffer(gpu, statusBuffer), count);
 */
export function decodeStatus(words: ArrayBuffer, count: number): { failure: KernelFailure | null; iterationsTotal: number; iterationsMax: number } {
  const status = new Uint32Array(words);
  const residuals = new Float32Array(words);
  /** Status word `name` of trajectory b. */
  const word = (b: number, name: StatusWordName) => status[b * STATUS_WORDS + STATUS_WORD[name]]!;
  let total = 0, most = 0, failed = -1, truncated = -1;
  for (let b = 0; b < count; b++) {
    total += word(b, 'iterationsTotal');
    if (word(b, 'iterationsMax') > most) most = word(b, 'iterationsMax');
    if (failed < 0 && word(b, 'failure') !== 0) failed = b;
    if (truncated < 0 && (word(b, 'failure') & TRUNCATED_FLAG) !== 0) truncated = b;
  }
  const stats = { iterationsTotal: total, iterationsMax: most };
  if (truncated >= 0) return { ...stats, failure: { kind: 'truncated', step: (word(truncated, 'failure') & ~TRUNCATED_FLAG) - 1, trajectory: truncated } };
  if (failed < 0) return { ...stats, failure: null };
  const failure = word(failed, 'failure');
  if ((failure & NONFINITE_BY_FLAG) !== 0) return { ...stats, failure: { kind: 'nonfiniteBy', step: (failure & ~NONFINITE_BY_FLAG) - 1, trajectory: failed } };
  const step = (failure & ~NO_CONVERGENCE_FLAG) - 1;
  const residual = residuals[failed * STATUS_WORDS + STATUS_WORD.residual]!;
  return {
    ...stats,
    failure: (failure & NO_CONVERGENCE_FLAG) !== 0
      ? { kind: 'noConvergence', step, trajectory: failed, residual, iterations: word(failed, 'iterationsMax') }
      : { kind: 'nonfinite', step, trajectory: failed },
  };
}

/**
 * Every failed trajectory of a stepper kernel's status words (not cut-short ones: `decodeStatus` reports those
 * first), in trajectory order: the failure kind, the 0-based step, and for unconverged solves the residual and
 * iteration count. `nonfiniteBy` failures are known only by a step (kernels that test after their last step).
 *
 * @example
 * const failures = decodeFailures(await readBuffer(gpu, statusBuffer), count);
 */
export function decodeFailures(words: ArrayBuffer, count: number): KernelFailure[] {
  const status = new Uint32Array(words);
  const residuals = new Float32Array(words);
  const failures: KernelFailure[] = [];
  for (let b = 0; b < count; b++) {
    const failure = status[b * STATUS_WORDS + STATUS_WORD.failure]!;
    if (failure === 0 || (failure & TRUNCATED_FLAG) !== 0) continue;
    if ((failure & NONFINITE_BY_FLAG) !== 0) {
      failures.push({ kind: 'nonfiniteBy', step: (failure & ~NONFINITE_BY_FLAG) - 1, trajectory: b });
    } else if ((failure & NO_CONVERGENCE_FLAG) !== 0) {
      const residual = residuals[b * STATUS_WORDS + STATUS_WORD.residual]!;
      failures.push({ kind: 'noConvergence', step: (failure & ~NO_CONVERGENCE_FLAG) - 1, trajectory: b, residual, iterations: status[b * STATUS_WORDS + STATUS_WORD.iterationsMax]! });
    } else {
      failures.push({ kind: 'nonfinite', step: failure - 1, trajectory: b });
    }
  }
  return failures;
}

/** Loop iterations one invocation may run on llvmpipe (its limiter stops at 65 535), with a margin. */
const LLVMPIPE_LOOP_ITERATIONS = 60_000;

/** Solve iterations per step assumed when sizing dispatches (a dispatch that needs more is rerun smaller). */
const TYPICAL_SOLVE_ITERATIONS = 10;

/**
 * The most steps one dispatch may fuse on this adapter: unbounded on hardware, and on llvmpipe as many as keep
 * the kernel's loop iterations (prologue + steps × (step + typical solve iterations)) under its limit.
 *
 * @example
 * const steps = loopBoundedSteps(gpu, wgslStepperKernel(program).loopIterations, 100, 'midpoint');
 */
export function loopBoundedSteps(gpu: Pick<Gpu, 'adapterKind'>, loops: KernelLoopIterations, maxIterations: number, method: string): number {
  if (gpu.adapterKind !== 'llvmpipe') return Infinity;
  const perStep = loops.perStep + Math.min(maxIterations, TYPICAL_SOLVE_ITERATIONS) * loops.perSolveIteration;
  const steps = Math.floor((LLVMPIPE_LOOP_ITERATIONS - loops.prologue) / perStep);
  if (steps < 1) {
    throw new DarbouxError(
      'DEVICE',
      `${method}: one step runs about ${perStep} loop iterations, over what llvmpipe allows one invocation (65 535); ` +
        'use the CPU backend or a hardware adapter',
      { loopIterations: loops },
    );
  }
  return steps;
}

/**
 * The bytes of a control uniform whose words are named by `words` (`STEPPER_CONTROL_WORDS`,
 * `ADJOINT_CONTROL_WORDS`), written by name: f32 or u32 as the kernels declare them. Words named `pad` are
 * padding and stay 0.
 *
 * @example
 * const control = controlWriter(STEPPER_CONTROL_WORDS);
 * control.set({ dt, tStart: 0, steps: 100, stepBase: 0, offset: 0, batch, recordEvery: 0, recordCount: 0 });
 * writeBuffer(gpu, controlBuffer, control.bytes);
 */
export function controlWriter<const W extends readonly string[]>(words: W): { bytes: ArrayBuffer; set(values: Record<Exclude<W[number], 'pad'>, number>): void } {
  const bytes = new ArrayBuffer(words.length * 4);
  const f32 = new Float32Array(bytes), u32 = new Uint32Array(bytes);
  const slots = words.map((name, k) => ({ name, k, view: controlWordType(name) === 'f32' ? f32 : u32 })).filter((slot) => slot.name !== 'pad');
  return {
    bytes,
    set(values) {
      for (const { name, k, view } of slots) view[k] = (values as Record<string, number>)[name]!;
    },
  };
}

/**
 * The most nodes a kernel's step graph may have on each kind of adapter. Shader compilers slow down faster than
 * linearly with kernel size (llvmpipe, measured: a leapfrog step of 10 000 nodes ~5 s, 50 000 ~75 s; a midpoint
 * step of 10 000 nodes ~10 s, 30 000 ~80 s). The llvmpipe bound keeps a 32-particle Lennard-Jones leapfrog step
 * (25 935 nodes, ~30 s to a first result) compiling.
 */
export const KERNEL_NODE_LIMITS = { llvmpipe: 30_000, other: 250_000 } as const;

/**
 * Refuses (DEVICE) a kernel whose step graph would not compile in reasonable time on this adapter, instead of
 * appearing to hang.
 *
 * @example
 * refuseOversizedKernel(gpu, graphSize([program.next.q, program.next.p]), 'leapfrog: the step kernel');
 */
export function refuseOversizedKernel(gpu: Gpu, nodes: number, what: string): void {
  const limit = gpu.adapterKind === 'llvmpipe' ? KERNEL_NODE_LIMITS.llvmpipe : KERNEL_NODE_LIMITS.other;
  if (nodes > limit) {
    throw new DarbouxError('DEVICE', `${what} has ${nodes} nodes, over the ${limit} that the ${gpu.adapterKind} GPU compiles in reasonable time; use backend: 'cpu'`, { nodes, limit });
  }
}
