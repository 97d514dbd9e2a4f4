/**
 * Initial states of particle systems: an fcc lattice at a number density, and Maxwell–Boltzmann momenta at a
 * temperature with zero total momentum.
 */
import { DarbouxError, showValue } from '../errors.js';
import { createRandom } from './neural/random.js';

/** Options of {@link fcc}. */
export interface FccOptions {
  /** Unit cells along x, y, z (positive integers); 4 atoms per cell. */
  cells: readonly [number, number, number] | readonly number[];
  /** Number density ρ = n / V (> 0); the lattice constant is (4/ρ)^{1/3}. */
  density: number;
}

/** A lattice state: positions (x₀, y₀, z₀, x₁, …) and the periodic box it fills. */
export interface LatticeState {
  q: Float64Array;
  box: number[];
}

const FCC_BASIS = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]] as const;

/**
 * A face-centred cubic lattice filling a periodic box of cells[0]×cells[1]×cells[2] unit cells at number
 * density `density` (LAMMPS's `lattice fcc ρ*` in reduced units): 4·Πcells atoms, lattice constant
 * a = (4/ρ)^{1/3}, nearest-neighbour distance a/√2.
 *
 * @example
 * const { q, box } = fcc({ cells: [4, 4, 4], density: 0.8442 }); // 256 atoms, box ≈ [6.72, 6.72, 6.72]
 */
export function fcc(options: FccOptions): LatticeState {
  const { cells, density } = options ?? ({} as FccOptions);
  if (!Array.isArray(cells) || cells.length !== 3 || !cells.every((c) => Number.isInteger(c) && c >= 1)) {
    throw new DarbouxError('SPEC', `fcc: cells must be three positive integers, got ${JSON.stringify(cells)}`, { cells });
  }
  if (typeof density !== 'number' || !(density > 0) || !Number.isFinite(density)) {
    throw new DarbouxError('SPEC', `fcc: density must be a finite number > 0, got ${showValue(density)}`, { density });
  }
  const a = Math.cbrt(4 / density);
  const [cx, cy, cz] = cells as readonly number[] as [number, number, number];
  const q = new Float64Array(4 * cx * cy * cz * 3);
  let k = 0;
  for (let i = 0; i < cx; i++) {
    for (let j = 0; j < cy; j++) {
      for (let l = 0; l < cz; l++) {
        for (const [bx, by, bz] of FCC_BASIS) {
          q[k++] = (i + bx) * a;
          q[k++] = (j + by) * a;
          q[k++] = (l + bz) * a;
        }
      }
    }
  }
  return { q, box: [cx * a, cy * a, cz * a] };
}

/** Options of {@link hexagonal}. */
export interface HexagonalOptions {
  /** Rectangular cells along x and y (positive integers); 2 atoms per cell of a × a√3. */
  cells: readonly [number, number] | readonly number[];
  /** Number density ρ = n / area (> 0); the spacing is a = (2/(√3·ρ))^{1/2}. */
  density: number;
}

/**
 * A 2-D hexagonal (triangular) lattice filling a periodic box of cells[0]×cells[1] rectangular cells
 * (a × a√3, 2 atoms each) at number density `density`; nearest-neighbour distance a.
 *
 * @example
 * const { q, box } = hexagonal({ cells: [8, 5], density: 0.8 }); // 80 atoms in 2-D
 */
export function hexagonal(options: HexagonalOptions): LatticeState {
  const { cells, density } = options ?? ({} as HexagonalOptions);
  if (!Array.isArray(cells) || cells.length !== 2 || !cells.every((c) => Number.isInteger(c) && c >= 1)) {
    throw new DarbouxError('SPEC', `hexagonal: cells must be two positive integers, got ${JSON.stringify(cells)}`, { cells });
  }
  if (typeof density !== 'number' || !(density > 0) || !Number.isFinite(density)) {
    throw new DarbouxError('SPEC', `hexagonal: density must be a finite number > 0, got ${showValue(density)}`, { density });
  }
  const a = Math.sqrt(2 / (Math.sqrt(3) * density));
  const h = a * Math.sqrt(3);
  const [cx, cy] = cells as readonly number[] as [number, number];
  const q = new Float64Array(2 * cx * cy * 2);
  let k = 0;
  for (let i = 0; i < cx; i++) {
    for (let j = 0; j < cy; j++) {
      q[k++] = i * a; q[k++] = j * h;
      q[k++] = (i + 0.5) * a; q[k++] = (j + 0.5) * h;
    }
  }
  return { q, box: [cx * a, cy * h] };
}

/** Options of {@link maxwellBoltzmann}. */
export interface MaxwellBoltzmannOptions {
  n: number;
  dim: number;
  /** kB·T (kB = 1) ≥ 0; the result's kinetic temperature 2·KE/(dim·(n − 1)) equals it exactly. */
  temperature: number;
  /** One mass, or one per particle (each > 0). */
  mass: number | ArrayLike<number>;
  /** Integer seed of the random stream. */
  seed: number;
}

/**
 * Momenta drawn from the Maxwell–Boltzmann distribution p ~ N(0, m·T) per component, then shifted to zero total
 * momentum and rescaled so that the kinetic temperature 2·KE/(dim·(n − 1)) (kB = 1; the convention of
 * `ParticleSystem.temperature`) is exactly `temperature`. Same seed, same momenta.
 *
 * @example
 * const p = maxwellBoltzmann({ n: 256, dim: 3, temperature: 0.72, mass: 1, seed: 0 });
 */
export function maxwellBoltzmann(options: MaxwellBoltzmannOptions): Float64Array {
  const { n, dim, temperature, mass, seed } = options ?? ({} as MaxwellBoltzmannOptions);
  if (!Number.isInteger(n) || n < 2) throw new DarbouxError('SPEC', `maxwellBoltzmann: n must be an integer ≥ 2 (zero total momentum leaves dim·(n − 1) degrees of freedom), got ${showValue(n)}`, { n });
  if (!Number.isInteger(dim) || dim < 1) throw new DarbouxError('SPEC', `maxwellBoltzmann: dim must be a positive integer, got ${showValue(dim)}`, { dim });
  if (typeof temperature !== 'number' || !(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new DarbouxError('SPEC', `maxwellBoltzmann: temperature must be a finite number ≥ 0, got ${showValue(temperature)}`, { temperature });
  }
  const masses = typeof mass === 'number' ? new Float64Array(n).fill(mass) : Float64Array.from(mass ?? []);
  if (masses.length !== n || !masses.every((m) => m > 0 && Number.isFinite(m))) {
    throw new DarbouxError('SPEC', `maxwellBoltzmann: mass must be a number > 0 or ${n} numbers > 0`, { mass });
  }
  const rng = createRandom(seed);
  const p = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    const sd = Math.sqrt(masses[i]! * temperature);
    for (let k = 0; k < dim; k++) p[i * dim + k] = sd * rng.normal();
  }
  for (let k = 0; k < dim; k++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += p[i * dim + k]!;
    for (let i = 0; i < n; i++) p[i * dim + k]! -= total / n;
  }
  let ke = 0;
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) ke += p[i * dim + k]! ** 2 / (2 * masses[i]!);
  const current = (2 * ke) / (dim * (n - 1));
  const scale = current > 0 ? Math.sqrt(temperature / current) : 0;
  for (let k = 0; k < p.length; k++) p[k]! *= scale;
  return p;
}
