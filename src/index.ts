/**
 * darboux: Hamiltonians as typed expression graphs, differentiated symbolically and compiled into
 * symplectic integrator kernels.
 *
 * This is the user API: systems (formulas and the DSL), `compile` and its Stepper, the classical and neural
 * models, training, and diagnostics. The compiler's parts (IR nodes and the op registry, autodiff, step
 * programs, code generation, backends, the WebGPU runtime) are exported for advanced use from
 * `darboux/internals` (src/internals.ts); they may change between minor versions.
 *
 * @example
 * import { parse, compile, symplecticDefect } from 'darboux';
 * const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });
 * const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
 * symplecticDefect(st.jacobian([1], [0])); // ≈ 1e-16
 */

// Errors.
export { DarbouxError, type DarbouxErrorCode } from './errors.js';

// Systems: formulas, the DSL, the Hamiltonian class.
export { parse, type FormulaSpec } from './system/parse.js';
export { phaseSpace, hamiltonian, type PhaseSpace } from './system/dsl.js';
export { Hamiltonian, type HamiltonianDefinition, type ParamValues } from './system/hamiltonian.js';
export {
  particles, type ParticlesOptions, type ParticleSystem, type PairOptions, type BondOptions, type ExternalOptions,
} from './system/particles.js';
export type { PairPotential, ExternalPotential } from './system/particles-potentials.js';
export { lagrangian, configurationSpace, type LagrangianFormulaSpec, type ConfigurationSpace } from './system/lagrangian-spec.js';
export { Lagrangian, type LagrangianDefinition } from './system/lagrangian.js';
export { noetherCharge, type NoetherGenerator, type SymmetryCheckOptions, type SymmetryReport } from './system/lagrangian-noether.js';

// DSL builders (typed expression graphs).
export type { Expr } from './ir/expr.js';
export type { Shape } from './ir/shape.js';
export {
  abs, add, addAll, constant, cos, cosh, div, dot, exp, index, input, lift, log, map, matTvec, matvec, mul, neg, outer,
  param, pow, powi, sigmoid, sign, sin, sinh, softplus, sqrt, stack, stepSize, sub, sum, tan, tanh, tensorConstant,
  time, unitVector, zeros, type Operand, type Scalar, type Vector, type Matrix,
} from './ir/build.js';
export { broadcast } from './ir/ops/tensor.js';

// Compiling and running: the Stepper contract.
export { compile, type CompileOptions } from './backends/compile.js';
export { methodNames } from './integrators/methods.js';
export type { ImplicitSolver } from './integrators/newton.js';
export type { Stepper, RunOptions, RunResult, VjpOptions, VjpResult, VjpMemory, LyapunovOptions, LyapunovResult, DeviceState, StateRunOptions, StateRunResult, UploadOptions } from './backends/stepper.js';
export type { Progress, TrajectoryStatus, OnFailure, CpuRunnerInfo } from './backends/stepper.js';
export type { GpuOptions, GpuStepper } from './backends/gpu/stepper.js';
export type { KernelBinding, KernelExport, KernelManifest, KernelUniformValues } from './backends/gpu/kernel-export.js';
export type { LagrangianStepper, LagrangianRunOptions, LagrangianRunResult } from './backends/lagrangian-stepper.js';
export type { LagrangianVjpOptions, LagrangianVjpResult } from './backends/lagrangian-adjoint.js';

// Diagnostics.
export { symplecticDefect } from './integrators/jacobian.js';
export { graphSize } from './ir/traverse.js';
export { printExpr, type PrintOptions } from './ir/printer.js';
export { gpuAvailable, gpuInfo, releaseGpu, type AdapterChoice, type GpuInfo } from './runtime/index.js';

// Classical models.
export type { Model } from './models/model.js';
export { harmonicOscillator } from './models/harmonic-oscillator.js';
export { pendulum } from './models/pendulum.js';
export { kepler } from './models/kepler.js';
export { keplerPolar } from './models/kepler-polar.js';
export { henonHeiles } from './models/henon-heiles.js';
export { lennardJones } from './models/lennard-jones.js';
export { doubleWell } from './models/double-well.js';
export { coupledOscillator } from './models/coupled-oscillator.js';
export { doublePendulum } from './models/double-pendulum.js';
export { dnls } from './models/dnls.js';
export { fpuChain } from './models/fpu.js';
export { plummer, type PlummerOptions, type PlummerModel } from './models/plummer.js';

// Particle states and observables.
export {
  fcc, hexagonal, maxwellBoltzmann, type FccOptions, type HexagonalOptions, type LatticeState, type MaxwellBoltzmannOptions,
} from './models/particle-states.js';
export { radialDistribution, type RadialDistributionOptions, type RadialDistribution } from './models/radial-distribution.js';

// Neural models and their parameters.
export type { NeuralModel, NeuralKind, ParamTensors } from './models/neural/model.js';
export { hnn, type HnnOptions } from './models/neural/hnn.js';
export { mlpField, type MlpFieldOptions } from './models/neural/mlp-field.js';
export { sympnet, type SympNetOptions } from './models/neural/sympnet.js';
export { graphHnn, type GraphHnnOptions } from './models/neural/graph-hnn.js';
export { lnn, LagrangianNetwork, type LnnOptions } from './models/neural/lnn.js';
export { invariantCount, type LnnSymmetry } from './models/neural/lnn-invariants.js';
export { mapJacobian } from './models/neural/map-jacobian.js';
export type { Activation } from './models/neural/layers.js';
export {
  ParamStore, initialisers, glorot, he, normal, zerosInit, type Initialiser, type InitName,
} from './models/neural/params.js';
export { createRandom, type Random } from './models/neural/random.js';

// Training: data sets, fit, integrating a learned model.
export { dataset, type FromHamiltonianOptions, type HamiltonianDataset, type InitialState } from './train/dataset.js';
export { fit } from './train/fit.js';
export type {
  FitOptions, FitResult, TrainingData, LagrangianTrainingData, SampleData, TrajectoryTrainingData, TrajectoryData, TrajectoryFitOptions, RolloutOptions,
  LossName,
} from './train/types.js';
export { integrateModel, type IntegrateModelOptions } from './train/integrate-model.js';

// Files: NumPy .npy/.npz, CSV and JSON arrays; trajectories.
export type { NdArray } from './io/ndarray.js';
export { readNpy, writeNpy } from './io/npy.js';
export { readNpz, writeNpz, type NpzOptions } from './io/npz.js';
export { readCsv, writeCsv, type CsvTable } from './io/csv.js';
export { readJsonArrays, writeJsonArrays } from './io/json-arrays.js';
export { trajectoryFromRun, trajectoryArrays, trajectoryFromArrays, withFrameEnergies, type Trajectory, type TrajectoryInputs } from './io/trajectory.js';
export { encodeTrajectory, decodeTrajectory, type FileFormat } from './io/trajectory-formats.js';
export { loadArray, loadArrays, saveArrays, saveTrajectory, loadTrajectory } from './io/files.js';

// Plots (Observable Plot: SVG, and PNG with the optional @resvg/resvg-js)
export {
  plot, type PlotOptions, type PlotOutput, type EnergyOptions, type EnergySeries, type PhaseOptions, type RunFrameOptions, type SectionInput, type SectionOptions,
  type LossInput, type GradientMemoryRow, type RdfInput, type RdfSeries,
} from './plot/index.js';
