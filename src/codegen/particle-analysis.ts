/**
 * Recognises a step program that a per-particle kernel can run: a kick/drift splitting (leapfrog, its
 * compositions, symplectic Euler) of a separable particle Hamiltonian, read from the IR. The kick's force ∇V(q)
 * must be a linear combination (coefficients independent of the state) of per-site reductions over q —
 * `pairGradient` over all pairs or over an edge list, and `siteMap` — and the drift's velocity ∇T(p) a diagonal
 * linear map of p (Σ|pᵢ|²/2mᵢ). Anything else (a time-dependent force, a q-dependent coefficient, a kinetic
 * energy that is not quadratic) is not a particle program, and the caller keeps the per-trajectory kernels.
 */
import type { Expr } from '../ir/expr.js';
import { graphEvaluator } from '../ir/evaluate-graph.js';
import { size } from '../ir/shape.js';
import { topologicalOrder } from '../ir/traverse.js';
import { geometry, type PairGeometry } from '../ir/ops/pair-geometry.js';
import type { StepProgram } from '../integrators/step-program.js';

/** A per-site reduction in the force, with its fixed lifted arguments and its coefficient in ∇V. */
export interface ParticleForceTerm {
  /** 'pairs': pairGradient over all pairs; 'edges': over an edge list; 'site': siteMap over each particle. */
  readonly kind: 'pairs' | 'edges' | 'site';
  /** The node's body attribute (a serialized graph over r or x and a0, a1, …). */
  readonly body: string;
  /** Values of the lifted arguments a0, a1, … (f64, from the Hamiltonian's parameter values). */
  readonly lifted: readonly Float64Array[];
  /** Shapes of the lifted arguments. */
  readonly liftedShapes: readonly (readonly number[])[];
  /** The pair geometry (all kinds; sites use n and dim only). */
  readonly geometry: PairGeometry;
  /** ∇V = Σ coefficient · term. */
  readonly coefficient: number;
}

/** One sub-map of the splitting with its step fixed: p ← p − step·∇V(q) or q ← q + step·M⁻¹p. */
export interface ParticleStage {
  readonly kind: 'kick' | 'drift';
  readonly step: number;
}

/** A step program that per-particle kernels can run. */
export interface ParticleProgram {
  readonly n: number;
  readonly dim: number;
  readonly terms: readonly ParticleForceTerm[];
  /** ∂T/∂p as a diagonal: velocity_k = inverseMass[k]·p_k, length n·dim. */
  readonly inverseMass: Float64Array;
  /** The stages of one step, in order. */
  readonly stages: readonly ParticleStage[];
}

/** Nodes of `root`'s graph that depend on any of `leaves`. */
function dependents(root: Expr, leaves: readonly Expr[]): Set<Expr> {
  const out = new Set<Expr>(leaves);
  for (const node of topologicalOrder([root])) if (node.args.some((a) => out.has(a))) out.add(node);
  return out;
}

/** A leaf of a linear combination with the product of the factors on its path (null: 1, a sign in `negate`). */
interface Path {
  node: Expr;
  factors: Expr[];
  negate: boolean;
}

/**
 * Flattens `root` over add, sub, neg and multiplication by a factor outside `dependent` into leaves with their
 * factors. Iterative. Returns null when a node mixes the state in any other way.
 */
function linearLeaves(root: Expr, dependent: ReadonlySet<Expr>, isLeaf: (e: Expr) => boolean): Path[] | null {
  const pending: Path[] = [{ node: root, factors: [], negate: false }];
  const leaves: Path[] = [];
  while (pending.length > 0) {
    const { node: e, factors, negate } = pending.pop()!;
    if (!dependent.has(e)) return null; // a constant force or velocity: not a particle term
    if (isLeaf(e)) leaves.push({ node: e, factors, negate });
    else if (e.op === 'add') e.args.forEach((a) => pending.push({ node: a, factors, negate }));
    else if (e.op === 'sub') pending.push({ node: e.args[0]!, factors, negate }, { node: e.args[1]!, factors, negate: !negate });
    else if (e.op === 'neg') pending.push({ node: e.args[0]!, factors, negate: !negate });
    else if (e.op === 'mul' && e.args.length === 2 && dependent.has(e.args[0]!) !== dependent.has(e.args[1]!)) {
      const [inner, factor] = dependent.has(e.args[0]!) ? [e.args[0]!, e.args[1]!] : [e.args[1]!, e.args[0]!];
      pending.push({ node: inner, factors: [...factors, factor], negate });
    } else return null;
  }
  return leaves;
}

/** Evaluates parameter-only expressions with the system's parameter values. */
function parameterEvaluator(program: StepProgram): (e: Expr) => Float64Array {
  const h = program.system;
  return (e) => {
    const out = [new Float64Array(size(e.shape))];
    graphEvaluator([...h.params], [e])([...h.paramValues], out);
    return out[0]!;
  };
}

/** The product of a path's factors as a vector of `length` (scalars broadcast), or null if a factor has another shape. */
function pathScale(path: Path, length: number, value: (e: Expr) => Float64Array): Float64Array | null {
  const out = new Float64Array(length).fill(path.negate ? -1 : 1);
  for (const f of path.factors) {
    const v = value(f);
    if (v.length !== 1 && v.length !== length) return null;
    for (let k = 0; k < length; k++) out[k]! *= v.length === 1 ? v[0]! : v[k]!;
  }
  return out;
}

/** The force terms of ∇V, or null when ∇V is not a combination of per-site reductions over q. */
function forceTerms(program: StepProgram, gradV: Expr, value: (e: Expr) => Float64Array): ParticleForceTerm[] | null {
  const h = program.system;
  const stateful = dependents(gradV, [h.q, h.p, h.time]);
  const onlyQ = dependents(gradV, [h.q]);
  if (topologicalOrder([gradV]).some((e) => e === h.p || e === h.time)) return null;
  const isLeaf = (e: Expr) => (e.op === 'pairGradient' || (e.op === 'siteMap' && e.attrs.vector !== true)) && e.args[0] === h.q && e.args.slice(1).every((a) => !stateful.has(a));
  const leaves = linearLeaves(gradV, onlyQ, isLeaf);
  if (leaves === null || leaves.length === 0) return null;
  const terms: ParticleForceTerm[] = [];
  for (const path of leaves) {
    const scale = pathScale(path, size(gradV.shape), value);
    if (scale === null || !scale.every((s) => s === scale[0])) return null;
    const g = geometry(path.node.attrs);
    const kind = path.node.op === 'siteMap' ? 'site' : g.edges !== null ? 'edges' : 'pairs';
    const args = path.node.args.slice(1);
    terms.push({ kind, body: path.node.attrs.body as string, lifted: args.map(value), liftedShapes: args.map((a) => [...a.shape]), geometry: g, coefficient: scale[0]! });
  }
  return terms;
}

/** The diagonal of ∇T(p) = M⁻¹p, or null when ∇T is not such a map. */
function inverseMassOf(program: StepProgram, gradT: Expr, value: (e: Expr) => Float64Array): Float64Array | null {
  const h = program.system;
  if (topologicalOrder([gradT]).some((e) => e === h.q || e === h.time)) return null;
  const leaves = linearLeaves(gradT, dependents(gradT, [h.p]), (e) => e === h.p);
  if (leaves === null || leaves.length === 0) return null;
  const out = new Float64Array(h.dof);
  for (const path of leaves) {
    const scale = pathScale(path, h.dof, value);
    if (scale === null) return null;
    scale.forEach((s, k) => (out[k]! += s));
  }
  return out;
}

/**
 * The particle form of a step program at step size `dt`, or null when it has none (then the per-trajectory
 * kernels run it).
 *
 * @example
 * const particle = particleProgram(stepProgram(sys.hamiltonian, 'leapfrog'), 0.005);
 * particle?.terms.map((t) => t.kind); // ['edges', 'pairs', 'site']
 */
export function particleProgram(program: StepProgram, dt: number): ParticleProgram | null {
  const stages = program.splitting;
  if (stages === undefined || stages.length === 0 || program.implicit !== undefined) return null;
  const h = program.system;
  const value = parameterEvaluator(program);
  const kick = stages.find((s) => s.kind === 'kick'), drift = stages.find((s) => s.kind === 'drift');
  if (kick === undefined || drift === undefined) return null;
  if (stages.some((s) => s.force !== (s.kind === 'kick' ? kick.force : drift.force))) return null;
  const terms = forceTerms(program, kick.force, value);
  if (terms === null) return null;
  const [first] = terms;
  const { n, dim } = first!.geometry;
  if (n * dim !== h.dof || terms.some((t) => t.geometry.n !== n || t.geometry.dim !== dim)) return null;
  const inverseMass = inverseMassOf(program, drift.force, value);
  if (inverseMass === null) return null;
  const stepValue = (e: Expr) => {
    const out = [new Float64Array(1)];
    graphEvaluator([h.dt, ...h.params], [e])([[dt], ...h.paramValues], out);
    return out[0]![0]!;
  };
  if (stages.some((s) => topologicalOrder([s.step]).some((e) => e === h.q || e === h.p || e === h.time))) return null;
  return { n, dim, terms, inverseMass, stages: stages.map((s) => ({ kind: s.kind, step: stepValue(s.step) })) };
}
