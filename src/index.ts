/**
 * darboux: Hamiltonians as typed expression graphs, differentiated symbolically and compiled into
 * symplectic integrator kernels.
 */
export { DarbouxError, type DarbouxErrorCode } from './errors.js';
export { parse, type FormulaSpec } from './system/parse.js';
export { compile, type CompileOptions } from './backends/compile.js';
export { stepProgram } from './integrators/methods.js';
export type { Stepper, RunOptions, RunResult } from './backends/stepper.js';
export { Hamiltonian, type HamiltonianDefinition, type ParamValues } from './system/hamiltonian.js';
export { phaseSpace, hamiltonian, type PhaseSpace } from './system/dsl.js';

// IR and DSL builders.
export { Expr, internedCount } from './ir/expr.js';
export type { Shape } from './ir/shape.js';
export {
  abs, add, addAll, constant, cos, cosh, div, dot, exp, index, input, log, matTvec, matvec, mul, neg, outer, param,
  pow, powi, sigmoid, sign, sin, sinh, softplus, sqrt, stack, stepSize, sub, sum, tan, tanh, tensorConstant, time,
  unitVector, zeros, lift, map, type Operand, type Scalar, type Vector, type Matrix,
} from './ir/build.js';
export { broadcast } from './ir/ops/tensor.js';
export { make, isConstant } from './ir/make.js';
export { topologicalOrder, graphSize, substitute, inputsOf } from './ir/traverse.js';
export { printExpr } from './ir/printer.js';
export { parseFormula } from './ir/parser.js';
export { graphToJson, graphFromJson, serializeGraph, deserializeGraph } from './ir/json.js';
export { opDef, opNames, defineOp, type OpDef } from './ir/op.js';

// Transforms and lowering.
export { jvp } from './autodiff/jvp.js';
export { vjp, gradient } from './autodiff/vjp.js';
export { compileJs, type JsFunction } from './codegen/emit-js.js';

// Integrators.
export type { StepProgram } from './integrators/step-program.js';
export { leapfrogStep } from './integrators/leapfrog.js';
export { rk4Step } from './integrators/rk4.js';
export { methods, methodNames } from './integrators/methods.js';
export { tangentStep, symplecticDefect } from './integrators/jacobian.js';
export { jacobianFunction } from './backends/cpu/jacobian.js';
export { splitSeparable } from './system/separability.js';

// Models.
export * from './models/index.js';

// Implicit and composition methods, GPU backend.
export { gaussLegendreStep, midpointStep, gauss4Step, gauss6Step } from './integrators/gauss-legendre.js';
export { yoshida4Step, suzuki6Step, yoshida8Step, symplecticEulerStep, leapfrogComposition } from './integrators/compositions.js';
export type { FixedPointProblem } from './integrators/step-program.js';
export { withImplicitSolver, type ImplicitSolver } from './integrators/newton.js';
export { solveLinearSystem } from './autodiff/linear-solve.js';
export { gpuStepper, type GpuOptions, type GpuStepper } from './backends/gpu/stepper.js';
export { gpuInfo, gpuAvailable, releaseGpu, type AdapterChoice } from './runtime/index.js';
export { emitWgslStepper, emitWgslEvaluator } from './codegen/emit-wgsl.js';

// Neural models, parameter store, initialisers and data sets (issue 5: models and data).
export {
  hnn, sympnet, mlpField, NetworkModel, ParamStore, initialisers, glorot, he, normal, zerosInit, initialiser, fansOf,
  mergeParams, createRandom, dense, mlp, mlpHidden, mlpScalar, activate, activationNames,
  type NeuralModel, type NeuralKind, type ParamTensors, type Random, type Initialiser, type InitName, type Fans,
  type Activation, type DenseOptions, type MlpOptions, type NetworkGraph, type HnnOptions, type MlpFieldOptions,
  type SympNetOptions,
} from './models/neural/index.js';
export { dataset, type FromHamiltonianOptions, type HamiltonianDataset, type InitialState } from './train/dataset.js';

// Training (parameter gradients on CPU and GPU, Adam, fit).
export {
  fit, planTraining, LOSSES_BY_KIND, lossGraph, gradientProgram, paramLayout, packParams, unpackParams, compileCpuGradient,
  emitSampleKernel, Adam, learningRate, clipFactor, minibatchSampler, seededUniform,
  type FitOptions, type FitResult, type TrainingData, type RolloutOptions, type LossName, type LossGraph, type LossColumn,
  type LossSettings, type GradientProgram, type ParamLayout, type CpuBatchGradient, type AdamSettings, type MinibatchSampler,
} from './train/index.js';
export { integrateModel, type IntegrateModelOptions } from './train/integrate-model.js';
export { mapJacobian } from './models/neural/map-jacobian.js';
export {
  fitTrajectories, trajectoryObjective, type TrajectoryData, type TrajectoryFitOptions, type TrajectoryObjective, type TrajectoryGradientMemory,
} from './train/trajectory-fit.js';
export type { TrajectoryTrainingData } from './train/options.js';

// Discrete adjoints (vjp): backward step programs, memory modes, the trainer entry point.
export type { VjpOptions, VjpResult, VjpMemory } from './backends/stepper.js';
export { programVjp, type ProgramVjpOptions } from './backends/cpu/adjoint.js';
export { adjointStep, stepVjp, type AdjointStep, type AdjointStateSource } from './integrators/adjoint-step.js';
export { inverseStep, isReversible, type InverseStep } from './integrators/inverse-step.js';
