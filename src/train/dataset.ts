/**
 * Training data from an analytic Hamiltonian, the way Greydanus et al. (2019) made theirs: trajectories from
 * random initial states, sampled at a fixed rate, with exact time derivatives from the true dynamics and
 * Gaussian noise added to the observed coordinates (not to the derivatives).
 */
import { compile } from '../backends/compile.js';
import { DarbouxError, showValue } from '../errors.js';
import { Hamiltonian } from '../system/hamiltonian.js';
import { createRandom, type Random } from '../models/neural/random.js';

/** An initial state. */
export interface InitialState {
  q: ArrayLike<number>;
  p: ArrayLike<number>;
}

/** Options of `dataset.fromHamiltonian`. */
export interface FromHamiltonianOptions {
  /** Number of trajectories (positive integer). */
  trajectories: number;
  /** Time span [t0, t1], t1 > t0. */
  tSpan: readonly [number, number];
  /** Samples per unit time; each trajectory has round((t1 − t0)·rate) samples at t0 + k/rate, k = 0, 1, … */
  samplesPerUnitTime: number;
  /** Standard deviation of the Gaussian noise added to the sampled q and p (default 0). */
  noise?: number;
  /** Seed of the initial states and the noise (default 0). */
  seed?: number;
  /** Draws one initial state (default: a uniformly random direction in phase space times a radius from `radius`). */
  sampleInitial?: (random: Random) => InitialState;
  /** Radius range [min, max] of the default initial states, ‖(q, p)‖ uniform in it (default [0.2, 1]). */
  radius?: readonly [number, number];
  /** Largest step of the gauss6 reference integration (default: sample spacing / 20); rounded down to divide the spacing. */
  dtReference?: number;
}

/** Samples from `dataset.fromHamiltonian`: arrays are samples × dof, row-major, trajectory-major order. */
export interface HamiltonianDataset {
  dof: number;
  /** trajectories × samples per trajectory. */
  samples: number;
  /** Observed positions and momenta (with noise). */
  q: Float64Array;
  p: Float64Array;
  /** Exact q̇ = ∂H/∂p and ṗ = −∂H/∂q at the noiseless states. */
  dqdt: Float64Array;
  dpdt: Float64Array;
  /** Sample times. */
  t: Float64Array;
  /** Which trajectory each sample belongs to. */
  trajectoryIndex: Int32Array;
  /** The noiseless states (samples × dof). */
  clean: { q: Float64Array; p: Float64Array };
  /** The same observed states as trajectories (count × length × dof) at spacing dt, for rollout losses. */
  trajectories: { q: Float64Array; p: Float64Array; dt: number; length: number; count: number };
  /** The reference step and substeps per sample spacing that produced the states. */
  reference: { method: 'gauss6'; dt: number; substeps: number };
}

const fail = (code: 'OPTION' | 'INPUT', message: string): never => {
  throw new DarbouxError(code, `dataset.fromHamiltonian: ${message}`);
};

/** Default initial states: a uniform direction in R^{2·dof} scaled to a radius uniform in [rMin, rMax]. */
function radialInitial(dof: number, [rMin, rMax]: readonly [number, number]) {
  return (random: Random): InitialState => {
    const z = Array.from({ length: 2 * dof }, () => random.normal());
    const norm = Math.hypot(...z) || 1;
    const r = rMin + (rMax - rMin) * random.next();
    return { q: z.slice(0, dof).map((v) => (v / norm) * r), p: z.slice(dof).map((v) => (v / norm) * r) };
  };
}

function checkOptions(h: Hamiltonian, options: FromHamiltonianOptions) {
  if (!(h instanceof Hamiltonian)) fail('INPUT', 'the first argument must be a Hamiltonian (from parse, hamiltonian or a model)');
  if (typeof options !== 'object' || options === null) fail('OPTION', 'expected an options object');
  const { trajectories, tSpan, samplesPerUnitTime, noise = 0, seed = 0, radius = [0.2, 1] } = options;
  if (!Number.isInteger(trajectories) || trajectories < 1) fail('OPTION', `trajectories must be a positive integer, got ${showValue(trajectories)}`);
  if (!Array.isArray(tSpan) || tSpan.length !== 2 || !tSpan.every(Number.isFinite) || !(tSpan[1]! > tSpan[0]!)) {
    fail('OPTION', `tSpan must be [t0, t1] with finite t1 > t0, got ${JSON.stringify(tSpan)}`);
  }
  if (!Number.isFinite(samplesPerUnitTime) || samplesPerUnitTime <= 0) fail('OPTION', `samplesPerUnitTime must be a positive number, got ${showValue(samplesPerUnitTime)}`);
  const length = Math.round((tSpan[1] - tSpan[0]) * samplesPerUnitTime);
  if (length < 1) fail('OPTION', `tSpan ${JSON.stringify(tSpan)} at ${samplesPerUnitTime} samples per unit time holds no sample`);
  if (!Number.isFinite(noise) || noise < 0) fail('OPTION', `noise must be a finite number ≥ 0, got ${showValue(noise)}`);
  if (!Number.isSafeInteger(seed)) fail('OPTION', `seed must be an integer, got ${showValue(seed)}`);
  if (!Array.isArray(radius) || radius.length !== 2 || !radius.every(Number.isFinite) || radius[0]! < 0 || radius[1]! < radius[0]!) {
    fail('OPTION', `radius must be [min, max] with 0 ≤ min ≤ max, got ${JSON.stringify(radius)}`);
  }
  if (options.sampleInitial !== undefined && typeof options.sampleInitial !== 'function') fail('OPTION', 'sampleInitial must be a function (random) => { q, p }');
  const spacing = 1 / samplesPerUnitTime;
  const dtReference = options.dtReference ?? spacing / 20;
  if (!Number.isFinite(dtReference) || dtReference <= 0) fail('OPTION', `dtReference must be a positive number, got ${showValue(dtReference)}`);
  const substeps = Math.max(1, Math.ceil(spacing / dtReference - 1e-9));
  return { trajectories, t0: tSpan[0], length, noise, seed, radius, spacing, substeps };
}

/**
 * Trajectories of `h` from random initial states, integrated with gauss6 on the f64 CPU backend at a small
 * reference step that divides the sample spacing (so samples lie exactly on the grid), sampled at
 * `samplesPerUnitTime`, with exact derivatives q̇ = ∂H/∂p, ṗ = −∂H/∂q from the symbolic gradient at the
 * noiseless states; then N(0, noise²) is added to q and p, as in Greydanus et al. (2019), whose derivative
 * targets are noiseless. The flat arrays are the `data` that `fit` consumes; `trajectories` holds the same
 * observed states per trajectory for rollout losses.
 *
 * @example
 * const h = parse({ q: ['q'], p: ['p'], H: 'q^2 + p^2' });
 * const data = await dataset.fromHamiltonian(h, { trajectories: 50, tSpan: [0, 3], samplesPerUnitTime: 10, noise: 0.1, seed: 0, radius: [0.1, 1] });
 * data.q.length; // 50 · 30 samples × 1 dof
 */
export async function fromHamiltonian(h: Hamiltonian, options: FromHamiltonianOptions): Promise<HamiltonianDataset> {
  const { trajectories, t0, length, noise, seed, radius, spacing, substeps } = checkOptions(h, options);
  const dof = h.dof;
  const random = createRandom(seed);
  const initialRandom = random.fork('initial'), noiseRandom = random.fork('noise');
  const draw = options.sampleInitial ?? radialInitial(dof, radius);
  const q0 = new Float64Array(trajectories * dof), p0 = new Float64Array(trajectories * dof);
  for (let b = 0; b < trajectories; b++) {
    const s = draw(initialRandom);
    if (s === null || typeof s !== 'object' || s.q?.length !== dof || s.p?.length !== dof) {
      fail('INPUT', `sampleInitial must return { q, p } with ${dof} values each (trajectory ${b})`);
    }
    for (let i = 0; i < dof; i++) {
      q0[b * dof + i] = s.q[i]!;
      p0[b * dof + i] = s.p[i]!;
    }
  }
  const badInitial = [...q0, ...p0].findIndex((v) => !Number.isFinite(v));
  if (badInitial >= 0) fail('INPUT', `initial state of trajectory ${Math.floor((badInitial % (trajectories * dof)) / dof)} is not finite`);

  const dt = spacing / substeps;
  const stepper = await compile(h, { method: 'gauss6', dt, backend: 'cpu' });
  let recorded: { q: Float64Array; p: Float64Array };
  try {
    const steps = substeps * (length - 1);
    const result = steps > 0 ? await stepper.run({ q0, p0, batch: trajectories, steps, t0, record: substeps }) : undefined;
    recorded = { q: result?.record?.q ?? new Float64Array(0), p: result?.record?.p ?? new Float64Array(0) };
  } finally {
    stepper.dispose();
  }

  const samples = trajectories * length;
  const clean = { q: new Float64Array(samples * dof), p: new Float64Array(samples * dof) };
  const t = new Float64Array(samples), trajectoryIndex = new Int32Array(samples);
  for (let b = 0; b < trajectories; b++) {
    for (let k = 0; k < length; k++) {
      const row = b * length + k;
      t[row] = t0 + k * spacing;
      trajectoryIndex[row] = b;
      for (let i = 0; i < dof; i++) {
        // Snapshot k − 1 of the record is the state after k·substeps steps (snapshot-major, then trajectory).
        const from = ((k - 1) * trajectories + b) * dof + i;
        clean.q[row * dof + i] = k === 0 ? q0[b * dof + i]! : recorded.q[from]!;
        clean.p[row * dof + i] = k === 0 ? p0[b * dof + i]! : recorded.p[from]!;
      }
    }
  }

  const dqdt = new Float64Array(samples * dof), dpdt = new Float64Array(samples * dof);
  for (let row = 0; row < samples; row++) {
    const at = row * dof;
    const g = h.gradient(clean.q.subarray(at, at + dof), clean.p.subarray(at, at + dof), t[row]!);
    for (let i = 0; i < dof; i++) {
      dqdt[at + i] = g.dp[i]!;
      dpdt[at + i] = -g.dq[i]!;
    }
  }
  if (![...dqdt, ...dpdt].every(Number.isFinite)) {
    throw new DarbouxError('NONFINITE', 'dataset.fromHamiltonian: the Hamiltonian\'s gradient is not finite along a trajectory; narrow the initial states');
  }

  const q = clean.q.slice(), p = clean.p.slice();
  if (noise > 0) {
    for (let k = 0; k < q.length; k++) {
      q[k]! += noise * noiseRandom.normal();
      p[k]! += noise * noiseRandom.normal();
    }
  }
  return {
    dof,
    samples,
    q,
    p,
    dqdt,
    dpdt,
    t,
    trajectoryIndex,
    clean,
    trajectories: { q: q.slice(), p: p.slice(), dt: spacing, length, count: trajectories },
    reference: { method: 'gauss6', dt, substeps },
  };
}

/**
 * Data set builders.
 * @example const data = await dataset.fromHamiltonian(h, { trajectories: 50, tSpan: [0, 3], samplesPerUnitTime: 10, noise: 0.1 });
 */
export const dataset = { fromHamiltonian } as const;
