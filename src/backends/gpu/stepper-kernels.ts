/**
 * The kernels of a per-trajectory GPU stepper: one WGSL module with three entry points (`main`, `mainChecked`,
 * `mainRecord`) per set of parameters read per trajectory (none: the plain kernels, every small parameter
 * inlined), each entry point's pipeline compiled on first use and kept by the set.
 */
import { emitWgslStepper, wgslStepperKernel, type KernelLoopIterations } from '../../codegen/emit-wgsl.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { specializeParameters } from '../../integrators/specialize.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { graphSize } from '../../ir/traverse.js';
import { createComputeKernel, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import { keptParameters, type TrajectoryParams } from '../run-params.js';
import { loopBoundedSteps, refuseOversizedKernel } from './kernel-host.js';

/** The entry points of a stepper module. */
export type StepperEntryPoint = 'main' | 'mainChecked' | 'mainRecord';

/** One stepper module and its pipelines. */
export interface StepperKernelSet {
  /** The complete WGSL module. */
  readonly wgsl: string;
  /** Loop iterations of `main` (see `wgslStepperKernel`). */
  readonly loopIterations: KernelLoopIterations;
  /** Nodes of the step (dispatch sizing). */
  readonly cost: number;
  /** Steps per dispatch the adapter's loop bound allows. */
  readonly stepBound: number;
  /** The pipeline of an entry point (compiled on first use, then kept). */
  kernel(entryPoint: StepperEntryPoint): Promise<ComputeKernel>;
}

/** What `stepperKernelSet` needs. */
export interface StepperKernelOptions {
  /** Inline small parameters as constants (`specializeParameters`), except the per-trajectory ones. */
  readonly specialize: boolean;
  /** Scalar parameters read per trajectory from the packed parameter buffer (null: none). */
  readonly perTrajectory: TrajectoryParams | null;
}

/**
 * The kernel set of `program` for one set of per-trajectory parameters.
 *
 * @example
 * const plain = stepperKernelSet(gpu, program, settings, { specialize: true, perTrajectory: null });
 * await plain.kernel('main'); // compiled here
 */
export function stepperKernelSet(gpu: Gpu, program: StepProgram, settings: FixedPointSettings, options: StepperKernelOptions): StepperKernelSet {
  const tp = options.perTrajectory;
  const kernelProgram = options.specialize ? specializeParameters(program, 16, keptParameters(program.system, tp)) : program;
  refuseOversizedKernel(gpu, graphSize([kernelProgram.next.q, kernelProgram.next.p, ...(kernelProgram.implicit?.update ?? [])]), `${program.method}: the step kernel`);
  const perTrajectory = tp?.indices ?? [];
  const fast = wgslStepperKernel(kernelProgram, settings, { record: false, checkEveryStep: false, perTrajectory });
  // One module, three entry points: `main` (no recording; explicit methods test for a non-finite state after
  // the last step only), `mainChecked` (tests every step: run again to find the exact step of a failure) and
  // `mainRecord` (records, tests every step). Runs pay only for what they use.
  const wgsl = stepperModule({
    main: fast.wgsl,
    mainChecked: emitWgslStepper(kernelProgram, settings, { record: false, checkEveryStep: true, perTrajectory }),
    mainRecord: emitWgslStepper(kernelProgram, settings, { record: true, checkEveryStep: true, perTrajectory }),
  });
  const kernels = new Map<StepperEntryPoint, Promise<ComputeKernel>>();
  const variant = tp === null ? '' : `-params(${tp.names.join(',')})`;
  return {
    wgsl,
    loopIterations: fast.loopIterations,
    cost: Math.max(1, graphSize([kernelProgram.next.q, kernelProgram.next.p])),
    stepBound: loopBoundedSteps(gpu, fast.loopIterations, settings.maxIterations, program.method),
    kernel(entryPoint) {
      let kernel = kernels.get(entryPoint);
      if (kernel === undefined) {
        kernel = createComputeKernel(gpu, { wgsl, entryPoint, label: `darboux-${program.method}${variant}${entryPoint === 'main' ? '' : `-${entryPoint}`}` });
        kernels.set(entryPoint, kernel);
        kernel.catch(() => kernels.get(entryPoint) === kernel && kernels.delete(entryPoint));
      }
      return kernel;
    },
  };
}

/**
 * Joins kernels emitted with entry point `main` into one WGSL module: shared declarations once, each entry point renamed to its key.
 *
 * @example
 * const wgsl = stepperModule({ main: fast, mainRecord: recording });
 */
export function stepperModule(kernels: Record<string, string>): string {
  const parts = Object.entries(kernels).map(([name, text]) => {
    const at = text.indexOf('@compute');
    return { head: text.slice(0, at), body: text.slice(at).replace('fn main(', `fn ${name}(`) };
  });
  return `${parts[0]!.head}${parts.map((p) => p.body).join('\n')}`;
}
