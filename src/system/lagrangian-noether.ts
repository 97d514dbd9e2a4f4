/**
 * Noether's theorem for linear symmetry generators of a Lagrangian: the generators (rotations in a coordinate
 * plane, translations, simultaneous shifts of chosen coordinates), their charges p·X(q), and the invariance check.
 */
import { DarbouxError } from '../errors.js';
import { graphEvaluator } from '../ir/evaluate-graph.js';
import type { Expr } from '../ir/expr.js';

/** What the Noether helpers need of a Lagrangian (declared here so that this module does not import it). */
export interface NoetherSubject {
  readonly dof: number;
  readonly paramValues: readonly Float64Array[];
  gradientExprs(): { dq: Expr; dv: Expr };
  evaluatorInputs(): Expr[];
  momenta(q: ArrayLike<number>, v: ArrayLike<number>, t?: number): Float64Array;
}

/**
 * A linear symmetry generator X of configuration space: `{ rotation: [i, j] }` rotates the (qᵢ, qⱼ) plane
 * (X(q) = qᵢ eⱼ − qⱼ eᵢ, charge qᵢpⱼ − qⱼpᵢ), `{ translation: d }` translates along d (charge p·d),
 * `{ shift: [i, …] }` shifts the listed coordinates together (angles; charge Σ pᵢ).
 */
export type NoetherGenerator = { readonly rotation: readonly [number, number] } | { readonly translation: readonly number[] } | { readonly shift: readonly number[] };

/** Options of `checkSymmetry`. */
export interface SymmetryCheckOptions {
  /** Number of random states (default 64). */
  samples?: number;
  /** Seed of the random states (default 1). */
  seed?: number;
  /** Largest accepted relative change |δL| / (|∂L/∂q·X(q)| + |∂L/∂v·X(v)|) (default 1e-9). */
  tolerance?: number;
  /** Half-widths of the uniform boxes the states are drawn from (defaults: q 1, v 0.5/√dof). */
  scale?: { q?: number; v?: number };
  /** States to test instead of random ones. */
  states?: readonly { q: ArrayLike<number>; v: ArrayLike<number>; t?: number }[];
}

/** The result of `checkSymmetry`. */
export interface SymmetryReport {
  /** Whether every tested state had a relative change of L within the tolerance. */
  readonly invariant: boolean;
  /** The generator, in words. */
  readonly generator: string;
  /** States at which L and its gradient were finite (the others are skipped). */
  readonly samples: number;
  readonly tolerance: number;
  /** The largest relative change of L seen. */
  readonly maxViolation: number;
  /** The state with the largest relative change, and δL = ∂L/∂q·X(q) + ∂L/∂v·X(v) there. */
  readonly worst?: { readonly q: number[]; readonly v: number[]; readonly deltaL: number; readonly relative: number };
  /** One sentence saying what was found. */
  readonly message: string;
}

/** The generator's action on positions X(q) and on velocities (its linear part, X(v) for rotations; 0 otherwise). */
export interface GeneratorAction {
  readonly description: string;
  onPositions(q: ArrayLike<number>): Float64Array;
  onVelocities(v: ArrayLike<number>): Float64Array;
}

const isIndex = (i: unknown, dof: number): i is number => Number.isInteger(i) && (i as number) >= 0 && (i as number) < dof;

/**
 * Validates a generator for `dof` coordinates and returns its action (INPUT errors name the bad field).
 *
 * @example
 * generatorAction({ rotation: [0, 1] }, 2).onPositions([1, 0]); // [0, 1]
 */
export function generatorAction(generator: NoetherGenerator, dof: number): GeneratorAction {
  const g = generator as Partial<Record<'rotation' | 'translation' | 'shift', readonly number[]>>;
  const keys = generator === null || typeof generator !== 'object' ? [] : Object.keys(generator);
  if (keys.length !== 1 || !['rotation', 'translation', 'shift'].includes(keys[0]!)) {
    throw new DarbouxError('INPUT', `a symmetry generator is one of { rotation: [i, j] }, { translation: number[${dof}] }, { shift: number[] }; got ${JSON.stringify(generator)}`, { generator });
  }
  if (g.rotation !== undefined) {
    const [i, j] = g.rotation;
    if (!Array.isArray(g.rotation) || g.rotation.length !== 2 || !isIndex(i, dof) || !isIndex(j, dof) || i === j) {
      throw new DarbouxError('INPUT', `rotation needs two distinct coordinate indices in 0…${dof - 1}, got ${JSON.stringify(g.rotation)}`, { generator });
    }
    const rotate = (x: ArrayLike<number>) => {
      const out = new Float64Array(dof);
      out[i] = -x[j]!;
      out[j] = x[i]!;
      return out;
    };
    return { description: `rotation in the (q${i}, q${j}) plane`, onPositions: rotate, onVelocities: rotate };
  }
  const zero = () => new Float64Array(dof);
  if (g.translation !== undefined) {
    const d = g.translation;
    if (!Array.isArray(d) || d.length !== dof || !d.every(Number.isFinite) || d.every((x) => x === 0)) {
      throw new DarbouxError('INPUT', `translation needs a non-zero direction of ${dof} finite numbers, got ${JSON.stringify(d)}`, { generator });
    }
    return { description: `translation along [${d.join(', ')}]`, onPositions: () => Float64Array.from(d), onVelocities: zero };
  }
  const s = g.shift!;
  if (!Array.isArray(s) || s.length === 0 || !s.every((i) => isIndex(i, dof)) || new Set(s).size !== s.length) {
    throw new DarbouxError('INPUT', `shift needs distinct coordinate indices in 0…${dof - 1}, got ${JSON.stringify(s)}`, { generator });
  }
  const direction = new Float64Array(dof);
  for (const i of s) direction[i] = 1;
  return { description: `shift of q${s.join(', q')}`, onPositions: () => direction.slice(), onVelocities: zero };
}

/**
 * The charge p·X(q) from positions and momenta (the discrete momenta of a variational integrator, or ∂L/∂v).
 *
 * @example
 * noetherCharge({ rotation: [0, 1] }, [1, 0], [0, 2]); // 2
 */
export function noetherCharge(generator: NoetherGenerator, q: ArrayLike<number>, p: ArrayLike<number>): number {
  if (q?.length !== p?.length) throw new DarbouxError('INPUT', `noetherCharge: q and p must have the same length, got ${q?.length} and ${p?.length}`);
  const x = generatorAction(generator, q.length).onPositions(q);
  let c = 0;
  for (let i = 0; i < x.length; i++) c += p[i]! * x[i]!;
  return c;
}

/** The charge of a generator as a function of (q, v) for a Lagrangian (see `Lagrangian.charge`). @internal */
export function chargeFunction(L: NoetherSubject, generator: NoetherGenerator): (q: ArrayLike<number>, v: ArrayLike<number>, t?: number) => number {
  const action = generatorAction(generator, L.dof);
  return (q, v, t = 0) => {
    const p = L.momenta(q, v, t);
    const x = action.onPositions(q);
    let c = 0;
    for (let i = 0; i < x.length; i++) c += p[i]! * x[i]!;
    return c;
  };
}

/** A small seeded generator of uniform numbers in [0, 1) (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The states a symmetry check visits: the given ones, or uniform random ones. */
function checkStates(dof: number, options: SymmetryCheckOptions): { q: ArrayLike<number>; v: ArrayLike<number>; t: number }[] {
  if (options.states !== undefined) return options.states.map((s) => ({ q: s.q, v: s.v, t: s.t ?? 0 }));
  const samples = options.samples ?? 64;
  if (!Number.isInteger(samples) || samples < 1) throw new DarbouxError('OPTION', `samples must be a positive integer, got ${String(samples)}`);
  const rand = uniform(options.seed ?? 1);
  const sq = options.scale?.q ?? 1, sv = options.scale?.v ?? 0.5 / Math.sqrt(dof);
  const box = (s: number) => Float64Array.from({ length: dof }, () => s * (2 * rand() - 1));
  return Array.from({ length: samples }, () => ({ q: box(sq), v: box(sv), t: 0 }));
}

/**
 * The invariance check behind `Lagrangian.checkSymmetry`: δL = ∂L/∂q·X(q) + ∂L/∂v·X(v) at each state, relative
 * to |∂L/∂q·X(q)| + |∂L/∂v·X(v)| (termwise), against the tolerance. @internal
 *
 * @example
 * checkSymmetry(L, { translation: [1, 0] }, { samples: 16 }).maxViolation;
 */
export function checkSymmetry(L: NoetherSubject, generator: NoetherGenerator, options: SymmetryCheckOptions = {}): SymmetryReport {
  const action = generatorAction(generator, L.dof);
  const tolerance = options.tolerance ?? 1e-9;
  if (!(tolerance > 0)) throw new DarbouxError('OPTION', `tolerance must be a positive number, got ${String(tolerance)}`);
  const { dq, dv } = L.gradientExprs();
  const f = graphEvaluator(L.evaluatorInputs(), [dq, dv]);
  const n = L.dof;
  let samples = 0, maxViolation = 0;
  let worst: SymmetryReport['worst'];
  for (const { q, v, t } of checkStates(n, options)) {
    if (q.length !== n || v.length !== n) throw new DarbouxError('INPUT', `checkSymmetry: states need q and v of length ${n}, got ${q.length} and ${v.length}`);
    const out = [new Float64Array(n), new Float64Array(n)];
    f([q, v, [t], ...L.paramValues], out);
    const xq = action.onPositions(q), xv = action.onVelocities(v);
    let delta = 0, size = 0;
    for (let i = 0; i < n; i++) {
      const a = out[0]![i]! * xq[i]!, b = out[1]![i]! * xv[i]!;
      delta += a + b;
      size += Math.abs(a) + Math.abs(b);
    }
    if (!Number.isFinite(delta) || !Number.isFinite(size)) continue;
    samples++;
    const relative = size === 0 ? 0 : Math.abs(delta) / size;
    if (worst === undefined || relative > maxViolation) {
      maxViolation = relative;
      worst = { q: Array.from(q), v: Array.from(v), deltaL: delta, relative };
    }
  }
  const invariant = samples > 0 && maxViolation <= tolerance;
  const message =
    samples === 0
      ? `L or its gradient was not finite at any of the tested states, so invariance under ${action.description} could not be checked; pass states`
      : invariant
        ? `L is invariant under ${action.description} at ${samples} states (largest relative change ${maxViolation.toExponential(2)})`
        : `L is not invariant under ${action.description}: δL = ${worst!.deltaL.toExponential(3)} (relative ${maxViolation.toExponential(2)} > ${tolerance}) ` +
          `at q = [${worst!.q.map((x) => x.toPrecision(4)).join(', ')}], v = [${worst!.v.map((x) => x.toPrecision(4)).join(', ')}]`;
  return { invariant, generator: action.description, samples, tolerance, maxViolation, ...(worst ? { worst } : {}), message };
}
