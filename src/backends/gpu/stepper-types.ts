/** The options and the shape of the per-trajectory GPU stepper (stepper.ts builds it). */
import type { AdapterChoice, Gpu } from '../../runtime/index.js';
import type { Stepper } from '../stepper.js';
import type { KernelExport } from './kernel-export.js';
import type { ParticleKernelChoice } from './particle-stepper.js';

/** GPU-specific options of `compile`. */
export interface GpuOptions {
  /** Which adapter to use (default: DARBOUX_ADAPTER, else hardware → llvmpipe → SwiftShader). */
  adapter?: AdapterChoice;
  /** Upper bound on trajectories per buffer set (default: from device limits); smaller values force splitting. */
  maxTrajectoriesPerChunk?: number;
  /** Upper bound on workgroups per dispatch (default: the device limit). */
  maxWorkgroupsPerDispatch?: number;
  /** Approximate node·step budget of one dispatch, which sets how many steps a dispatch fuses (default 2e9). */
  dispatchBudget?: number;
  /**
   * Compile parameters of up to 16 elements into the kernel as constants (default true: the stepper fixes their
   * values, and constant folding then simplifies the step). Larger tensors are always read from a buffer.
   */
  specializeParameters?: boolean;
  /**
   * Steps fused into one dispatch, overriding the automatic choice (from `dispatchBudget` and, on llvmpipe, its
   * bound on loop iterations per invocation). A dispatch cut short by the adapter is reported as a DEVICE error.
   */
  stepsPerDispatch?: number;
  /**
   * Particle systems (a kick/drift method of a separable H whose force is pair, edge and site reductions): which
   * per-particle kernel runs them ('auto', default: by size), or 'off' for the per-trajectory kernels.
   */
  particleKernel?: ParticleKernelChoice | 'off';
}

/** A Stepper on the GPU, with the WGSL it dispatches. */
export interface GpuStepper extends Stepper {
  readonly wgsl: string;
  readonly gpu: Gpu;
  /** The kernel `run` dispatches, described for another WebGPU application's own device (see kernel-export.ts). */
  exportKernel(): KernelExport;
}
