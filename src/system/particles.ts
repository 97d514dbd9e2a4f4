/**
 * Particle systems: n particles in dim dimensions with kinetic energy Σ|p_i|²/(2m_i), a pair potential over all
 * pairs (optional cutoff, periodic box with the minimum image), bonds over an edge list and an external field,
 * as one `Hamiltonian` of dof n·dim, plus the observables of molecular dynamics.
 * The sums are the IR's pair, edge and site reductions (`src/ir/ops`): the graph of H has the same size for any n.
 */
import { DarbouxError, showValue } from '../errors.js';
import { add, constant, dot, input, mul, neg, tensorConstant } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { inputsOf } from '../ir/traverse.js';
import { gradient as symbolicGradient } from '../autodiff/vjp.js';
import { graphEvaluator } from '../ir/evaluate-graph.js';
import { Hamiltonian, type HamiltonianDefinition } from './hamiltonian.js';
import { edgeSum, pairSum } from '../ir/ops/pair-builders.js';
import { siteSum } from '../ir/ops/sites.js';
import { externalPotential, mergeParams, pairPotential, type ExternalPotential, type PairPotential } from './particles-potentials.js';
import * as obs from './particles-observables.js';

/** The pair term: V(r) over all pairs i < j. */
export interface PairOptions {
  /** A formula in `r` and the names of `params`, or a DSL function of the distance. */
  V: PairPotential;
  params?: Record<string, number>;
  /** Pairs with r ≥ cutoff are skipped; at most half the smallest box side. */
  cutoff?: number;
  /** Subtract V(cutoff) (shifted energy) or not (truncated, like LAMMPS's `lj/cut`); default false. */
  shift?: boolean;
}

/** The bond term: V(r) over an explicit edge list. */
export interface BondOptions {
  edges: readonly (readonly [number, number])[];
  V: PairPotential;
  params?: Record<string, number>;
}

/** The external term: Σ_i f(x_i) over the particles. */
export interface ExternalOptions {
  /** A formula in one particle's coordinates x, y, z (dim ≤ 3) or a DSL function of its [dim] position. */
  V: ExternalPotential;
  params?: Record<string, number>;
}

/** Options of {@link particles}. */
export interface ParticlesOptions {
  n: number;
  dim: number;
  /** One mass for all particles, or one per particle (each > 0). */
  mass: number | ArrayLike<number>;
  /** Side lengths of the orthorhombic periodic box; omitted: open boundaries. */
  box?: readonly number[];
  pair?: PairOptions;
  bonds?: BondOptions;
  external?: ExternalOptions;
}

/** A particle system: its Hamiltonian and its observables. */
export interface ParticleSystem {
  /** H = Σ|p_i|²/(2m_i) + pair + bonds + external; dof = n·dim; gradient(q, p).dq = −forces. */
  readonly hamiltonian: Hamiltonian;
  readonly n: number;
  readonly dim: number;
  /** The periodic box, or undefined for open boundaries. */
  readonly box: readonly number[] | undefined;
  /** The mass as given (a number, or a copy of the per-particle masses). */
  readonly mass: number | Float64Array;
  /** Σ|p_i|²/(2m_i). */
  kineticEnergy(p: ArrayLike<number>): number;
  /** 2·KE / (dim·(n − 1)) with kB = 1 (LAMMPS's count of degrees of freedom). */
  temperature(p: ArrayLike<number>): number;
  /** Σ p_i, Float64Array(dim). */
  momentum(p: ArrayLike<number>): Float64Array;
  /** Σ q_i × p_i (open boundaries; dim 2 → Float64Array(1), dim 3 → Float64Array(3)). */
  angularMomentum(q: ArrayLike<number>, p: ArrayLike<number>): Float64Array;
  /** Virial pressure (2·KE + Σ_pairs r·F) / (dim·V) from the pair and bond terms (periodic box only). */
  pressure(q: ArrayLike<number>, p: ArrayLike<number>): number;
  /** The first overlapping pair (r = 0), or undefined. */
  overlaps(q: ArrayLike<number>): [number, number] | undefined;
}

/**
 * A Hamiltonian whose energy and gradient, when not finite, name the overlapping pair (NONFINITE) if there is one.
 */
class ParticleHamiltonian extends Hamiltonian {
  constructor(def: HamiltonianDefinition, private readonly layout: obs.ParticleLayout) {
    super(def);
  }

  override energy(q: ArrayLike<number>, p: ArrayLike<number>, t = 0): number {
    const e = super.energy(q, p, t);
    if (!Number.isFinite(e)) obs.refuseOverlap(this.layout, q, 'energy');
    return e;
  }

  override gradient(q: ArrayLike<number>, p: ArrayLike<number>, t = 0): { dq: Float64Array; dp: Float64Array } {
    const g = super.gradient(q, p, t);
    if (!g.dq.every(Number.isFinite)) obs.refuseOverlap(this.layout, q, 'gradient');
    return g;
  }

  /** Why a run from q went non-finite at once, when it is an overlapping pair (NONFINITE naming it); else undefined. */
  nonfiniteReason(q: ArrayLike<number>): DarbouxError | undefined {
    try {
      obs.refuseOverlap(this.layout, q, 'run');
    } catch (error) {
      if (error instanceof DarbouxError) return error;
      throw error;
    }
    return undefined;
  }
}

function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new DarbouxError('SPEC', `particles: ${what} must be a positive integer, got ${showValue(value)}`, { [what]: value });
  }
  return value;
}

function checkMasses(mass: unknown, n: number): Float64Array {
  const masses = typeof mass === 'number' ? new Float64Array(n).fill(mass)
    : mass !== null && typeof mass === 'object' && typeof (mass as ArrayLike<number>).length === 'number' ? Float64Array.from(mass as ArrayLike<number>) : undefined;
  if (masses === undefined || masses.length !== n) {
    throw new DarbouxError('SPEC', `particles: mass must be a number or ${n} numbers (one per particle)`, { mass });
  }
  const bad = masses.findIndex((m) => !(m > 0) || !Number.isFinite(m));
  if (bad >= 0) throw new DarbouxError('SPEC', `particles: mass of particle ${bad} is ${masses[bad]}; masses must be finite and > 0`, { particle: bad, mass: masses[bad] });
  return masses;
}

function checkBox(box: unknown, dim: number): readonly number[] | undefined {
  if (box === undefined) return undefined;
  if (!Array.isArray(box) || box.length !== dim) throw new DarbouxError('SPEC', `particles: box must list ${dim} side lengths (one per dimension)`, { box });
  const bad = box.findIndex((L) => typeof L !== 'number' || !(L > 0) || !Number.isFinite(L));
  if (bad >= 0) throw new DarbouxError('SPEC', `particles: box side ${bad} is ${showValue(box[bad])}; every side must be finite and > 0`, { box, side: bad });
  return [...(box as number[])];
}

function checkCutoff(pair: PairOptions, box: readonly number[] | undefined): void {
  const { cutoff, shift } = pair;
  if (cutoff !== undefined && (typeof cutoff !== 'number' || !(cutoff > 0) || !Number.isFinite(cutoff))) {
    throw new DarbouxError('OPTION', `particles: pair.cutoff must be a finite number > 0, got ${showValue(cutoff)}`, { cutoff });
  }
  if (shift === true && cutoff === undefined) throw new DarbouxError('OPTION', 'particles: pair.shift needs a pair.cutoff to shift at', {});
  if (box !== undefined) {
    const half = Math.min(...box) / 2;
    if (cutoff === undefined) throw new DarbouxError('OPTION', `particles: a periodic box needs a pair.cutoff (at most half the smallest side, ${half})`, { box });
    if (cutoff > half) {
      throw new DarbouxError('OPTION', `particles: pair.cutoff ${cutoff} is above half the smallest box side (${half}); the minimum image would miss pairs: use a larger box or a smaller cutoff`, { cutoff, box });
    }
  }
}

function checkEdges(edges: unknown, n: number): readonly (readonly [number, number])[] {
  if (!Array.isArray(edges)) throw new DarbouxError('SPEC', 'particles: bonds.edges must be an array of [i, j] pairs', {});
  edges.forEach((e: unknown, k) => {
    const ok = Array.isArray(e) && e.length === 2 && e.every((i) => Number.isInteger(i) && i >= 0 && i < n);
    if (!ok) throw new DarbouxError('SPEC', `particles: bonds.edges[${k}] = ${JSON.stringify(e)} must be two particle indices in [0, ${n})`, { edge: k });
    if (e[0] === e[1]) throw new DarbouxError('SPEC', `particles: bonds.edges[${k}] joins particle ${e[0]} to itself`, { edge: k });
  });
  return edges as readonly (readonly [number, number])[];
}

/** −r·V′(r), the virial body of a pair or bond term V(r). */
function virialBody(potential: (r: Expr) => Expr): (r: Expr) => Expr {
  return (r) => neg(mul(r, symbolicGradient(potential(r), [r])[0]!));
}

/**
 * The pair virial Σ r_ij·F_ij = −Σ r·V′(r) over the pairs within the cutoff and over the bonds, as an f64 function of
 * q: the same pair and edge reductions as H, with the body −r·V′(r).
 */
function virialFunction(
  q: Expr, n: number, dim: number, box: readonly number[] | undefined, params: Record<string, number>,
  pair: { V: (r: Expr) => Expr; cutoff?: number } | undefined, bonds: { V: (r: Expr) => Expr; edges: readonly (readonly [number, number])[] } | undefined,
): (q: ArrayLike<number>) => number {
  let W: Expr = constant(0);
  if (pair !== undefined) W = add(W, pairSum(q, { n, dim, potential: virialBody(pair.V), cutoff: pair.cutoff, box }));
  if (bonds !== undefined) W = add(W, edgeSum(q, { n, dim, edges: bonds.edges, potential: virialBody(bonds.V), box }));
  const paramNodes = inputsOf([W]).filter((node) => node.attrs.role === 'param');
  const f = graphEvaluator([q, ...paramNodes], [W]);
  const values = paramNodes.map((node) => [params[node.attrs.name as string]!]);
  const out = [new Float64Array(1)];
  return (qv) => {
    f([qv, ...values], out);
    return out[0]![0]!;
  };
}

/** The kinetic term Σ|p_i|²/(2m_i). */
function kineticTerm(p: Expr, masses: Float64Array, dim: number): Expr {
  if (masses.every((m) => m === masses[0])) return mul(0.5 / masses[0]!, dot(p, p));
  const inverse = Float64Array.from({ length: masses.length * dim }, (_, k) => 0.5 / masses[Math.floor(k / dim)]!);
  return dot(p, mul(tensorConstant(inverse, [inverse.length]), p));
}

/**
 * A particle system: n particles in dim dimensions, with a pair potential, bonds and an external field.
 *
 * @example
 * const { q, box } = fcc({ cells: [2, 2, 2], density: 0.8442 });
 * const sys = particles({ n: q.length / 3, dim: 3, mass: 1, box,
 *   pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 1.2 } });
 * sys.hamiltonian.energy(q, new Float64Array(q.length));
 */
export function particles(options: ParticlesOptions): ParticleSystem {
  if (options === null || typeof options !== 'object') throw new DarbouxError('SPEC', 'particles needs { n, dim, mass, box?, pair?, bonds?, external? }', {});
  const n = positiveInteger(options.n, 'n');
  const dim = positiveInteger(options.dim, 'dim');
  const masses = checkMasses(options.mass, n);
  const box = checkBox(options.box, dim);
  const { pair, bonds, external } = options;
  if (pair !== undefined) checkCutoff(pair, box);
  const edges = bonds !== undefined ? checkEdges(bonds.edges, n) : undefined;
  const params = mergeParams([['pair', pair?.params], ['bonds', bonds?.params], ['external', external?.params]]);

  const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
  let H = kineticTerm(p, masses, dim);
  const pairV = pair !== undefined ? pairPotential('pair', pair.V, pair.params ?? {}) : undefined;
  const bondV = bonds !== undefined ? pairPotential('bonds', bonds.V, bonds.params ?? {}) : undefined;
  if (pairV !== undefined) H = add(H, pairSum(q, { n, dim, potential: pairV, cutoff: pair!.cutoff, shift: pair!.shift ?? false, box }));
  if (bondV !== undefined) H = add(H, edgeSum(q, { n, dim, edges: edges!, potential: bondV, box }));
  if (external !== undefined) H = add(H, siteSum(q, { n, dim, body: externalPotential(external.V, external.params ?? {}, dim) }));

  const axes = ['x', 'y', 'z'];
  const coordinate = (k: number) => (dim <= 3 ? axes[k % dim]! : `x${k % dim}_`) + String(Math.floor(k / dim));
  const qNames = Array.from({ length: n * dim }, (_, k) => coordinate(k));
  const layout: obs.ParticleLayout = { n, dim, masses, box };
  const hamiltonian = new ParticleHamiltonian({ H, q, p, params, names: { q: qNames, p: qNames.map((s) => `p${s}`) } }, layout);

  let virial: ((qv: ArrayLike<number>) => number) | undefined;
  const pairVirial = (qv: ArrayLike<number>) =>
    (virial ??= virialFunction(q, n, dim, box, params, pairV && { V: pairV, cutoff: pair!.cutoff }, bondV && { V: bondV, edges: edges! }))(qv);
  return {
    hamiltonian,
    n,
    dim,
    box,
    mass: typeof options.mass === 'number' ? options.mass : masses.slice(),
    kineticEnergy: (pv) => obs.kineticEnergy(layout, pv),
    temperature: (pv) => obs.temperature(layout, pv),
    momentum: (pv) => obs.momentum(layout, pv),
    angularMomentum: (qv, pv) => obs.angularMomentum(layout, qv, pv),
    pressure: (qv, pv) => pressure(layout, pairVirial, qv, pv),
    overlaps: (qv) => obs.findOverlap(layout, qv),
  };
}

function pressure(layout: obs.ParticleLayout, pairVirial: (q: ArrayLike<number>) => number, q: ArrayLike<number>, p: ArrayLike<number>): number {
  if (layout.box === undefined) {
    throw new DarbouxError('OPTION', 'pressure needs a periodic box (the volume of open boundaries is not defined): build the system with box', {});
  }
  obs.checkStateLength(layout, q, 'q');
  obs.refuseOverlap(layout, q, 'pressure');
  const volume = layout.box.reduce((a, b) => a * b, 1);
  return (2 * obs.kineticEnergy(layout, p) + pairVirial(q)) / (layout.dim * volume);
}
