/** What the host reads back from stepper and backward kernels: status words, and dispatch sizes under loop bounds. */
import { DarbouxError } from '../../errors.js';
import { NO_CONVERGENCE_FLAG, NONFINITE_BY_FLAG, TRUNCATED_FLAG, STATUS_WORDS, type KernelLoopIterations } from '../../codegen/emit-wgsl.js';
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
  let total = 0, most = 0, failed = -1, truncated = -1;
  for (let b = 0; b < count; b++) {
    const at = b * STATUS_WORDS;
    total += status[at + 1]!;
    if (status[at + 2]! > most) most = status[at + 2]!;
    if (failed < 0 && status[at] !== 0) failed = b;
    if (truncated < 0 && (status[at]! & TRUNCATED_FLAG) !== 0) truncated = b;
  }
  const stats = { iterationsTotal: total, iterationsMax: most };
  if (truncated >= 0) return { ...stats, failure: { kind: 'truncated', step: (status[truncated * STATUS_WORDS]! & ~TRUNCATED_FLAG) - 1, trajectory: truncated } };
  if (failed < 0) return { ...stats, failure: null };
  const word = status[failed * STATUS_WORDS]!;
  const at = failed * STATUS_WORDS;
  if ((word & NONFINITE_BY_FLAG) !== 0) return { ...stats, failure: { kind: 'nonfiniteBy', step: (word & ~NONFINITE_BY_FLAG) - 1, trajectory: failed } };
  const step = (word & ~NO_CONVERGENCE_FLAG) - 1;
  return {
    ...stats,
    failure: (word & NO_CONVERGENCE_FLAG) !== 0
      ? { kind: 'noConvergence', step, trajectory: failed, residual: residuals[at + 3]!, iterations: status[at + 2]! }
      : { kind: 'nonfinite', step, trajectory: failed },
  };
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
export function loopBoundedSteps(gpu: Gpu, loops: KernelLoopIterations, maxIterations: number, method: string): number {
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
