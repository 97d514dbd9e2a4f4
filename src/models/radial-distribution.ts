/**
 * The radial distribution function g(r) of particles in a periodic box, from one configuration or averaged
 * over the frames of a recorded trajectory.
 */
import { DarbouxError, showValue } from '../errors.js';

/** Options of {@link radialDistribution}. */
export interface RadialDistributionOptions {
  n: number;
  dim: number;
  /** The periodic box (required): one side per dimension. */
  box: readonly number[];
  /** Number of bins on [0, rMax). */
  bins: number;
  /** Largest distance, at most half the smallest side. */
  rMax: number;
}

/** g(r) at the bin centres. */
export interface RadialDistribution {
  r: Float64Array;
  g: Float64Array;
}

/** Volume of the shell r₀ ≤ r < r₁ in dim dimensions (1, 2 or 3). */
function shellVolume(dim: number, r0: number, r1: number): number {
  if (dim === 1) return 2 * (r1 - r0);
  if (dim === 2) return Math.PI * (r1 * r1 - r0 * r0);
  return (4 / 3) * Math.PI * (r1 ** 3 - r0 ** 3);
}

function checkOptions(options: RadialDistributionOptions): void {
  const { n, dim, box, bins, rMax } = options ?? ({} as RadialDistributionOptions);
  if (!Number.isInteger(n) || n < 2) throw new DarbouxError('OPTION', `radialDistribution: n must be an integer ≥ 2, got ${showValue(n)}`, { n });
  if (!Number.isInteger(dim) || dim < 1 || dim > 3) throw new DarbouxError('OPTION', `radialDistribution: dim must be 1, 2 or 3, got ${showValue(dim)}`, { dim });
  if (!Array.isArray(box) || box.length !== dim) throw new DarbouxError('OPTION', `radialDistribution needs a periodic box of ${dim} sides`, { box });
  if (!box.every((L) => typeof L === 'number' && L > 0 && Number.isFinite(L))) throw new DarbouxError('SPEC', `radialDistribution: box sides must be finite and > 0, got ${JSON.stringify(box)}`, { box });
  if (!Number.isInteger(bins) || bins < 1) throw new DarbouxError('OPTION', `radialDistribution: bins must be a positive integer, got ${showValue(bins)}`, { bins });
  const half = Math.min(...box) / 2;
  if (typeof rMax !== 'number' || !(rMax > 0) || rMax > half) {
    throw new DarbouxError('OPTION', `radialDistribution: rMax must be in (0, ${half}] (half the smallest box side), got ${showValue(rMax)}`, { rMax, box });
  }
}

/** The frames of q: one configuration, frames concatenated (frames × n·dim), or an array of configurations. */
function framesOf(q: ArrayLike<number> | readonly ArrayLike<number>[], size: number): ArrayLike<number>[] {
  const list = Array.isArray(q) && q.length > 0 && typeof q[0] === 'object' ? (q as readonly ArrayLike<number>[]) : undefined;
  if (list !== undefined) {
    list.forEach((frame, f) => {
      if (frame.length !== size) throw new DarbouxError('INPUT', `radialDistribution: frame ${f} has length ${frame.length}, expected n·dim = ${size}`, { frame: f });
    });
    return [...list];
  }
  const flat = q as ArrayLike<number>;
  if (typeof flat?.length !== 'number' || flat.length === 0 || flat.length % size !== 0) {
    throw new DarbouxError('INPUT', `radialDistribution: q must have length n·dim = ${size} or a multiple of it (frames), got ${showValue(flat?.length)}`, { expected: size });
  }
  const frames: ArrayLike<number>[] = [];
  const view = ArrayBuffer.isView(flat) ? (flat as Float64Array) : Float64Array.from(flat);
  for (let f = 0; f < flat.length / size; f++) frames.push(view.subarray(f * size, (f + 1) * size));
  return frames;
}

/**
 * g(r) over all pairs with the minimum image, normalised so that an ideal gas gives g ≈ 1:
 * g_k = 2·count_k·V / (n·(n − 1)·shell_k), averaged over frames. `q` is one configuration (n·dim), several
 * frames back to back (a recorded trajectory, frames × n·dim), or an array of frames.
 *
 * @example
 * const { q, box } = fcc({ cells: [4, 4, 4], density: 0.8442 });
 * const { r, g } = radialDistribution(q, { n: 256, dim: 3, box, bins: 100, rMax: 3 });
 */
export function radialDistribution(q: ArrayLike<number> | readonly ArrayLike<number>[], options: RadialDistributionOptions): RadialDistribution {
  checkOptions(options);
  const { n, dim, box, bins, rMax } = options;
  const frames = framesOf(q, n * dim);
  const counts = new Float64Array(bins);
  const width = rMax / bins;
  for (const x of frames) {
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let r2 = 0;
        for (let k = 0; k < dim; k++) {
          let d = x[i * dim + k]! - x[j * dim + k]!;
          d -= box[k]! * Math.round(d / box[k]!);
          r2 += d * d;
        }
        const bin = Math.floor(Math.sqrt(r2) / width);
        if (bin < bins) counts[bin]! += 1;
      }
    }
  }
  const volume = box.reduce((a, b) => a * b, 1);
  const r = new Float64Array(bins), g = new Float64Array(bins);
  const pairsPerFrame = (n * (n - 1)) / 2;
  for (let b = 0; b < bins; b++) {
    r[b] = (b + 0.5) * width;
    const expected = pairsPerFrame * frames.length * (shellVolume(dim, b * width, (b + 1) * width) / volume);
    g[b] = counts[b]! / expected;
  }
  return { r, g };
}
