/**
 * darboux/internals: the compiler's parts, for advanced users who build their own methods, backends or
 * training loops. The user API (systems, DSL builders, `compile`, models, `fit`) comes from `darboux`; nothing is
 * exported from both. These names follow the source layout and may change between minor versions.
 *
 * - IR: interned nodes (`Expr`, `intern`, `make`), the op registry (`defineOp`, `opDef`, `opNames`), graph
 *   traversal and evaluation, the formula parser, JSON serialisation.
 * - Autodiff: `jvp`, `vjp`, `gradient`, and the unrolled dense solve.
 * - Systems and step programs: the `System` interface, separability, the method registry and builders, tangent,
 *   adjoint and inverse steps.
 * - Codegen: `compileJs`, the `Lowering`, the WGSL emitters.
 * - Backends: the CPU and GPU steppers, the backend registry of `compile`, the discrete-adjoint driver.
 * - Runtime: WebGPU adapter, device, kernels and buffers.
 * - Models and training internals: layers, network models, loss graphs, parameter gradients, Adam.
 *
 * @example
 * import { parse } from 'darboux';
 * import { stepProgram, cpuStepper, jvp } from 'darboux/internals';
 * const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });
 * const st = cpuStepper(stepProgram(h, 'leapfrog'), 0.01);
 */

// IR: nodes, interning, the op registry, traversal, evaluation, parsing, serialisation.
export { Expr, intern, internedCount, type Attrs, type AttrValue } from './ir/expr.js';
export { make, isConstant, constantValues } from './ir/make.js';
export { defineOp, opDef, opNames, type OpDef } from './ir/op.js';
export { size, sameShape, showShape, isScalar } from './ir/shape.js';
export { topologicalOrder, substitute, inputsOf } from './ir/traverse.js';
export { pairSum, edgeSum } from './ir/ops/pairs.js';
export { siteSum } from './ir/ops/sites.js';
export { graphEvaluator, type GraphEvaluator } from './ir/evaluate-graph.js';
export { parseFormula } from './ir/parser.js';
export {
  graphToJson, graphFromJson, serializeGraph, deserializeGraph, type GraphJson, type GraphJsonNode,
} from './ir/json.js';

// Autodiff.
export { jvp } from './autodiff/jvp.js';
export { vjp, gradient } from './autodiff/vjp.js';
export { solveLinearSystem } from './autodiff/linear-solve.js';

// Systems.
export { parameterValuesByName, type System } from './system/system.js';
export { splitSeparable, type SeparableSplit } from './system/separability.js';
export { luFactor, luSolve, pivotedSolve, SINGULAR_CONDITION, type DenseLu } from './system/lagrangian-linear.js';
export { generatorAction, type GeneratorAction } from './system/lagrangian-noether.js';

// Step programs and method builders.
export type { StepProgram, FixedPointProblem, InverseRule, SplittingStage, StepBuilder } from './integrators/step-program.js';
export { methods, stepProgram, lagrangianMethods, lagrangianStepProgram } from './integrators/methods.js';
export { variationalStep, eulerLagrangeRk4Step, type DiscreteLagrangian } from './integrators/variational.js';
export { leapfrogStep } from './integrators/leapfrog.js';
export { rk4Step } from './integrators/rk4.js';
export { gaussLegendreStep, midpointStep, gauss4Step, gauss6Step } from './integrators/gauss-legendre.js';
export {
  leapfrogComposition, yoshida4Step, suzuki6Step, yoshida8Step, symplecticEulerStep,
} from './integrators/compositions.js';
export { withImplicitSolver } from './integrators/newton.js';
export { specializeParameters } from './integrators/specialize.js';
export { tangentStep, jacobianColumns } from './integrators/jacobian.js';
export { adjointStep, stepVjp, type AdjointStep, type AdjointStateSource } from './integrators/adjoint-step.js';
export { inverseStep, isReversible, type InverseStep } from './integrators/inverse-step.js';

// Codegen.
export { compileJs, type JsFunction } from './codegen/emit-js.js';
export { Lowering } from './codegen/lowering.js';
export { emitWgslStepper, emitWgslEvaluator, WORKGROUP_SIZE } from './codegen/emit-wgsl.js';

// Backends: steppers, the registry `compile` chooses from, the discrete-adjoint driver.
export { cpuStepper } from './backends/cpu/stepper.js';
export { lagrangianStepper } from './backends/lagrangian-stepper.js';
export { lagrangianVjp } from './backends/lagrangian-adjoint.js';
export { gpuStepper } from './backends/gpu/stepper.js';
export { jacobianFunction } from './backends/cpu/jacobian.js';
export { programVjp, type ProgramVjpOptions } from './backends/cpu/adjoint.js';
export { runVjp, type AdjointBackend } from './backends/adjoint-driver.js';
export {
  registerBackend, backendNames, selectBackend, type BackendEntry, type BackendOptions,
} from './backends/registry.js';

// Runtime (WebGPU through Dawn).
export {
  ADAPTER_CHOICES, acquireGpu, checkDevice, createComputeKernel, splitDispatch, createStorageBuffer,
  createUniformBuffer, writeBuffer, readBuffer, READBACK_TIMEOUT_MS, type Gpu, type GpuLimits, type AcquireOptions,
  type ComputeKernel, type KernelSource, type DispatchChunk, type BufferData, type StorageBufferOptions,
  type ReadBufferOptions,
} from './runtime/index.js';

// Neural building blocks.
export { NetworkModel, type NetworkGraph } from './models/neural/network-model.js';
export {
  dense, mlp, mlpHidden, mlpScalar, activate, activationNames, type DenseOptions, type MlpOptions,
} from './models/neural/layers.js';
export { initialiser, fansOf, mergeParams, type Fans } from './models/neural/params.js';

// Training internals: loss graphs, parameter gradients, Adam, minibatches, trajectory objectives.
export { planTraining } from './train/fit.js';
export { LOSSES_BY_KIND } from './train/options.js';
export type { TrajectoryGradientMemory } from './train/types.js';
export { lossGraph, type LossGraph, type LossColumn, type LossSettings } from './train/losses.js';
export {
  gradientProgram, paramLayout, packParams, unpackParams, type GradientProgram, type ParamLayout,
} from './train/gradient-program.js';
export { compileCpuGradient, type CpuBatchGradient } from './train/cpu-gradient.js';
export { emitSampleKernel } from './train/wgsl-training.js';
export { Adam, learningRate, clipFactor, type AdamSettings } from './train/adam.js';
export { minibatchSampler, seededUniform, type MinibatchSampler } from './train/minibatch.js';
export { fitTrajectories, trajectoryObjective, type TrajectoryObjective } from './train/trajectory-fit.js';
