/**
 * Observables of a particle system evaluated in f64 from a state: kinetic energy, temperature, total and
 * angular momentum, the pair virial and the overlap check. Positions and momenta are laid out
 * (x₀, y₀, z₀, x₁, …). kB = 1 and the temperature counts dim·(n − 1) degrees of freedom (LAMMPS's convention
 * for a system whose total momentum is zero): T = 2·KE / (dim·(n − 1)).
 */
import { DarbouxError } from '../errors.js';

/** How the particles are laid out: count, dimension, per-particle masses, the periodic box if any. */
export interface ParticleLayout {
  readonly n: number;
  readonly dim: number;
  /** Mass of each particle (length n). */
  readonly masses: Float64Array;
  readonly box?: readonly number[];
}

/** Refuses a state vector of the wrong length (INPUT). @example checkStateLength(layout, p, 'p') */
export function checkStateLength(layout: ParticleLayout, v: ArrayLike<number>, what: string): void {
  const want = layout.n * layout.dim;
  if (v === null || typeof v !== 'object' || typeof v.length !== 'number' || v.length !== want) {
    throw new DarbouxError('INPUT', `${what} must have length n·dim = ${want}, got ${v?.length}`, { what, expected: want, got: v?.length });
  }
}

/**
 * Σ|p_i|²/(2m_i).
 *
 * @example
 * kineticEnergy({ n: 2, dim: 1, masses: Float64Array.of(1, 1) }, [1, -1]); // 1
 */
export function kineticEnergy(layout: ParticleLayout, p: ArrayLike<number>): number {
  checkStateLength(layout, p, 'p');
  const { n, dim, masses } = layout;
  let ke = 0;
  for (let i = 0; i < n; i++) {
    let p2 = 0;
    for (let k = 0; k < dim; k++) p2 += p[i * dim + k]! ** 2;
    ke += p2 / (2 * masses[i]!);
  }
  return ke;
}

/** Degrees of freedom of the temperature: dim·(n − 1). @example temperatureDof({ n: 256, dim: 3, masses }) // 765 */
export function temperatureDof(layout: ParticleLayout): number {
  return layout.dim * (layout.n - 1);
}

/**
 * Kinetic temperature 2·KE / (dim·(n − 1)) (kB = 1); needs n ≥ 2.
 *
 * @example
 * temperature({ n: 2, dim: 1, masses: Float64Array.of(1, 1) }, [1, -1]); // 2
 */
export function temperature(layout: ParticleLayout, p: ArrayLike<number>): number {
  if (layout.n < 2) throw new DarbouxError('OPTION', 'temperature needs n ≥ 2 particles (it counts dim·(n − 1) degrees of freedom)', { n: layout.n });
  return (2 * kineticEnergy(layout, p)) / temperatureDof(layout);
}

/**
 * Total momentum Σ p_i, a Float64Array(dim).
 *
 * @example
 * momentum({ n: 2, dim: 2, masses: Float64Array.of(1, 1) }, [1, 0, 2, 1]); // [3, 1]
 */
export function momentum(layout: ParticleLayout, p: ArrayLike<number>): Float64Array {
  checkStateLength(layout, p, 'p');
  const out = new Float64Array(layout.dim);
  for (let i = 0; i < layout.n; i++) for (let k = 0; k < layout.dim; k++) out[k]! += p[i * layout.dim + k]!;
  return out;
}

/**
 * Total angular momentum Σ q_i × p_i about the origin (open boundaries only): Float64Array(1) in 2-D,
 * Float64Array(3) in 3-D.
 *
 * @example
 * angularMomentum({ n: 1, dim: 2, masses: Float64Array.of(1) }, [1, 0], [0, 1]); // [1]
 */
export function angularMomentum(layout: ParticleLayout, q: ArrayLike<number>, p: ArrayLike<number>): Float64Array {
  if (layout.box !== undefined) {
    throw new DarbouxError('OPTION', 'angularMomentum is not conserved (nor defined about one origin) in a periodic box: build the system without box', { box: layout.box });
  }
  if (layout.dim !== 2 && layout.dim !== 3) throw new DarbouxError('OPTION', `angularMomentum needs dim 2 or 3, got ${layout.dim}`, { dim: layout.dim });
  checkStateLength(layout, q, 'q');
  checkStateLength(layout, p, 'p');
  const { n, dim } = layout;
  const out = new Float64Array(dim === 2 ? 1 : 3);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    if (dim === 2) {
      out[0]! += q[o]! * p[o + 1]! - q[o + 1]! * p[o]!;
    } else {
      out[0]! += q[o + 1]! * p[o + 2]! - q[o + 2]! * p[o + 1]!;
      out[1]! += q[o + 2]! * p[o]! - q[o]! * p[o + 2]!;
      out[2]! += q[o]! * p[o + 1]! - q[o + 1]! * p[o]!;
    }
  }
  return out;
}

/**
 * Distance between particles i and j, with the minimum image when a box is given.
 *
 * @example
 * pairDistance([0.1, 9.9], 1, 0, 1, [10]); // 0.2
 */
export function pairDistance(q: ArrayLike<number>, dim: number, i: number, j: number, box?: readonly number[]): number {
  let r2 = 0;
  for (let k = 0; k < dim; k++) {
    let d = q[i * dim + k]! - q[j * dim + k]!;
    if (box !== undefined) d -= box[k]! * Math.round(d / box[k]!);
    r2 += d * d;
  }
  return Math.sqrt(r2);
}

/**
 * The first pair (i < j) at distance 0, or undefined.
 *
 * @example
 * findOverlap({ n: 2, dim: 1, masses: Float64Array.of(1, 1) }, [0, 0]); // [0, 1]
 */
export function findOverlap(layout: ParticleLayout, q: ArrayLike<number>): [number, number] | undefined {
  checkStateLength(layout, q, 'q');
  for (let i = 0; i < layout.n; i++) {
    for (let j = i + 1; j < layout.n; j++) if (pairDistance(q, layout.dim, i, j, layout.box) === 0) return [i, j];
  }
  return undefined;
}

/**
 * Throws NONFINITE naming the first overlapping pair, if any.
 *
 * @example
 * refuseOverlap(layout, q, 'pressure');
 */
export function refuseOverlap(layout: ParticleLayout, q: ArrayLike<number>, where: string): void {
  const pair = findOverlap(layout, q);
  if (pair !== undefined) {
    throw new DarbouxError('NONFINITE', `${where}: particles ${pair[0]} and ${pair[1]} overlap (r = 0), so the pair energy and force are not finite; move them apart`, { pair });
  }
}
