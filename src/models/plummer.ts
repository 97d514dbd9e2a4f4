/**
 * Softened gravitational N-body systems: the pair potential −G m²/√(r² + ε²) over all pairs with open
 * boundaries, started from a Plummer sphere in Hénon units (G = 1, total mass 1, total energy −1/4 for ε → 0).
 */
import { DarbouxError, showValue } from '../errors.js';
import { particles, type ParticleSystem } from '../system/particles.js';
import { createRandom } from './neural/random.js';

/** Options of {@link plummer}. */
export interface PlummerOptions {
  /** Number of bodies (≥ 2), each of mass 1/n. */
  n: number;
  /** Plummer softening length ε (> 0; default 0.01). */
  softening?: number;
  /** Seed of the sampled positions and velocities (integer). */
  seed: number;
}

/** A gravitational N-body system and its initial state. */
export interface PlummerModel {
  /** The particle system (3-D, open boundaries): H = Σ|pᵢ|²/(2m) − Σ_{i<j} G m²/√(r² + ε²). */
  system: ParticleSystem;
  /** Positions (x₀, y₀, z₀, x₁, …), centre of mass at the origin. */
  q: Float64Array;
  /** Momenta mᵢvᵢ, total momentum zero. */
  p: Float64Array;
}

/** A uniformly random unit vector, scaled by `length`, written into `out` at `at`. */
function isotropic(random: () => number, length: number, out: Float64Array, at: number): void {
  const z = 2 * random() - 1, phi = 2 * Math.PI * random(), s = Math.sqrt(1 - z * z);
  out[at] = length * s * Math.cos(phi);
  out[at + 1] = length * s * Math.sin(phi);
  out[at + 2] = length * z;
}

/**
 * A Plummer sphere of n equal masses sampled as Aarseth, Hénon & Wielen (1974): radii from the cumulative mass
 * M(r) = r³/(1 + r²)^{3/2} (truncated at r = 10 scale radii), speeds by rejection from the distribution function
 * g(x) ∝ x²(1 − x²)^{7/2} of x = v/v_escape, isotropic directions; then scaled to Hénon units (lengths × 3π/16,
 * velocities × √(16/3π)) and moved to the centre-of-mass frame. The system's virial ratio 2T/|W| is ≈ 1.
 *
 * @example
 * const { system, q, p } = plummer({ n: 256, seed: 1 });
 * const st = await compile(system.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
 */
export function plummer(options: PlummerOptions): PlummerModel {
  const { n, seed } = options;
  const softening = options.softening ?? 0.01;
  if (!Number.isInteger(n) || n < 2) throw new DarbouxError('SPEC', `plummer: n must be an integer ≥ 2, got ${showValue(n)}`, { n });
  if (!(softening > 0) || !Number.isFinite(softening)) {
    throw new DarbouxError('SPEC', `plummer: softening must be a finite number > 0, got ${showValue(softening)}`, { softening });
  }
  const stream = createRandom(seed);
  const random = () => stream.next();
  const mass = 1 / n, lengthScale = (3 * Math.PI) / 16, speedScale = Math.sqrt(16 / (3 * Math.PI));
  const q = new Float64Array(3 * n), p = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    let r = Infinity;
    while (!(r <= 10)) r = 1 / Math.sqrt(Math.pow(Math.max(random(), 1e-300), -2 / 3) - 1);
    isotropic(random, r * lengthScale, q, 3 * i);
    let x = 0, y = 1;
    while (y > x * x * Math.pow(1 - x * x, 3.5)) {
      x = random();
      y = 0.1 * random();
    }
    const escape = Math.SQRT2 * Math.pow(1 + r * r, -0.25);
    isotropic(random, mass * x * escape * speedScale, p, 3 * i);
  }
  for (const v of [q, p]) {
    for (let k = 0; k < 3; k++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += v[3 * i + k]! / n;
      for (let i = 0; i < n; i++) v[3 * i + k]! -= mean;
    }
  }
  const system = particles({
    n, dim: 3, mass,
    pair: { V: '-G*m^2/sqrt(r^2 + soft^2)', params: { G: 1, m: mass, soft: softening } },
  });
  return { system, q, p };
}
