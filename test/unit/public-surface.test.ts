/**
 * The public surface: `darboux` (src/index.ts) exports exactly the curated user API, `darboux/internals`
 * (src/internals.ts) the compiler's parts, the two do not overlap, and every name the README imports exists.
 * Adding a name to the root is a decision: add it to ROOT_VALUES / ROOT_TYPES here, and to the README if it is
 * a contract.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as root from '../../src/index.js';
import * as internals from '../../src/internals.js';
import { exportNames, readmeImports } from './export-names.js';

const words = (s: string) => s.trim().split(/\s+/).sort();

/** Runtime values of the root, grouped as in src/index.ts. */
const ROOT_VALUES = words(`
  DarbouxError
  parse phaseSpace hamiltonian Hamiltonian particles
  lagrangian configurationSpace Lagrangian noetherCharge
  abs add addAll constant cos cosh div dot exp index input lift log map matTvec matvec mul neg outer param pow powi
  sigmoid sign sin sinh softplus sqrt stack stepSize sub sum tan tanh tensorConstant time unitVector zeros broadcast
  compile methodNames
  symplecticDefect graphSize printExpr gpuAvailable gpuInfo releaseGpu
  harmonicOscillator pendulum kepler keplerPolar henonHeiles lennardJones doubleWell coupledOscillator doublePendulum dnls plummer fpuChain
  fcc hexagonal maxwellBoltzmann radialDistribution
  hnn graphHnn lnn LagrangianNetwork invariantCount mlpField sympnet mapJacobian ParamStore initialisers glorot he normal zerosInit createRandom
  dataset fit integrateModel
  readNpy writeNpy readNpz writeNpz readCsv writeCsv readJsonArrays writeJsonArrays
  trajectoryFromRun trajectoryArrays trajectoryFromArrays withFrameEnergies encodeTrajectory decodeTrajectory
  loadArray loadArrays saveArrays saveTrajectory loadTrajectory
  plot
`);

/** Type-only names of the root. */
const ROOT_TYPES = words(`
  DarbouxErrorCode
  FormulaSpec PhaseSpace HamiltonianDefinition ParamValues
  LagrangianFormulaSpec ConfigurationSpace LagrangianDefinition NoetherGenerator SymmetryCheckOptions SymmetryReport
  LagrangianStepper LagrangianRunOptions LagrangianRunResult LagrangianVjpOptions LagrangianVjpResult
  ParticlesOptions ParticleSystem PlummerOptions PlummerModel PairOptions BondOptions ExternalOptions PairPotential ExternalPotential
  Expr Shape Operand Scalar Vector Matrix
  CompileOptions ImplicitSolver Stepper RunOptions RunResult VjpOptions VjpResult VjpMemory LyapunovOptions LyapunovResult GpuOptions GpuStepper
  DeviceState StateRunOptions StateRunResult UploadOptions
  KernelExport KernelBinding KernelUniformValues KernelManifest
  Progress TrajectoryStatus OnFailure CpuRunnerInfo
  PrintOptions AdapterChoice GpuInfo
  Model
  FccOptions HexagonalOptions LatticeState MaxwellBoltzmannOptions RadialDistributionOptions RadialDistribution
  NeuralModel NeuralKind ParamTensors HnnOptions GraphHnnOptions LnnOptions LnnSymmetry MlpFieldOptions SympNetOptions Activation Initialiser InitName Random
  FromHamiltonianOptions HamiltonianDataset InitialState FitOptions FitResult TrainingData LagrangianTrainingData SampleData TrajectoryTrainingData
  TrajectoryData TrajectoryFitOptions RolloutOptions LossName IntegrateModelOptions
  NdArray NpzOptions CsvTable Trajectory TrajectoryInputs FileFormat
  PlotOptions PlotOutput EnergyOptions EnergySeries PhaseOptions RunFrameOptions SectionInput SectionOptions LossInput GradientMemoryRow RdfInput RdfSeries
`);

const rootSource = exportNames('src/index.ts');
const internalsSource = exportNames('src/internals.ts');
const readme = fs.readFileSync('README.md', 'utf8');

describe('darboux (the root)', () => {
  it('lists its names explicitly (no export *)', () => {
    expect(rootSource.stars).toBe(0);
  });

  it('exports exactly the curated values', () => {
    expect(Object.keys(root).sort()).toEqual(ROOT_VALUES);
    expect([...rootSource.values].sort()).toEqual(ROOT_VALUES);
    for (const name of ROOT_VALUES) expect(root[name as keyof typeof root], name).not.toBeUndefined();
  });

  it('exports exactly the curated types', () => {
    expect([...rootSource.types].sort()).toEqual(ROOT_TYPES);
  });

  it('has every name the README imports from darboux', () => {
    const names = readmeImports(readme, 'darboux');
    expect(names.length).toBeGreaterThan(10); // the README's examples were found
    const exported = new Set([...rootSource.values, ...rootSource.types]);
    expect(names.filter((n) => !exported.has(n))).toEqual([]);
  });
});

describe('darboux/internals', () => {
  it('lists its names explicitly and shares none with the root', () => {
    expect(internalsSource.stars).toBe(0);
    const rootNames = new Set([...rootSource.values, ...rootSource.types]);
    // `Expr` is a type in the root (for DSL users) and the class in internals.
    const shared = [...internalsSource.values, ...internalsSource.types].filter((n) => rootNames.has(n));
    expect(shared).toEqual(['Expr']);
    expect(rootSource.types.has('Expr') && internalsSource.values.has('Expr')).toBe(true);
  });

  it('defines every value it lists, and nothing else at runtime', () => {
    expect(Object.keys(internals).sort()).toEqual([...internalsSource.values].sort());
    for (const name of internalsSource.values) expect(internals[name as keyof typeof internals], name).not.toBeUndefined();
  });

  it('holds the compiler parts that left the root', () => {
    for (const name of ['defineOp', 'make', 'intern', 'jvp', 'vjp', 'stepProgram', 'compileJs', 'Lowering', 'cpuStepper', 'gpuStepper', 'programVjp', 'runVjp', 'acquireGpu', 'compileCpuGradient']) {
      expect(internalsSource.values.has(name), name).toBe(true);
      expect(ROOT_VALUES.includes(name), name).toBe(false);
    }
  });

  it('has every name the README imports from darboux/internals', () => {
    const exported = new Set([...internalsSource.values, ...internalsSource.types]);
    expect(readmeImports(readme, 'darboux/internals').filter((n) => !exported.has(n))).toEqual([]);
  });
});

describe('package.json', () => {
  it('exports the root and darboux/internals, each with its types, both built by scripts/build.mjs (the root for browsers by scripts/build-browser.mjs)', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', browser: './dist/browser/darboux.js', import: './dist/index.js' });
    expect(Object.keys(pkg.exports['.'])).toEqual(['types', 'browser', 'import']); // conditions match in order: browser before import
    expect(fs.readFileSync('scripts/build-browser.mjs', 'utf8')).toMatch(/entryPoints: \{ darboux: 'src\/index.ts' \}/);
    expect(pkg.exports['./internals']).toEqual({ types: './dist/internals.d.ts', import: './dist/internals.js' });
    const build = fs.readFileSync('scripts/build.mjs', 'utf8');
    expect(build).toMatch(/index: 'src\/index.ts'/);
    expect(build).toMatch(/internals: 'src\/internals.ts'/);
    expect(JSON.parse(fs.readFileSync('tsconfig.build.json', 'utf8')).files).toEqual(['src/index.ts', 'src/internals.ts']);
  });
});

describe('the README helpers of this test', () => {
  it('find imports, type markers and renames', () => {
    const md = "```ts\nimport { a, type B, c as d } from 'darboux';\nimport { e } from 'darboux/internals';\n```\n```sh\nimport { f } from 'darboux';\n```";
    expect(readmeImports(md, 'darboux')).toEqual(['a', 'B', 'c']);
    expect(readmeImports(md, 'darboux/internals')).toEqual(['e']);
  });
});
