/**
 * Symmetry-enforcing input layers of Noether-invariant Lagrangian networks (Müller 2023, §2.2–2.3 and appendix A):
 * functions of (q, v) — P particles in D dimensions, q and v particle-major — that are exactly invariant under
 * translations of every particle together, under rotations SO(D) of every position and velocity together, or
 * under both. A network fed only with them is invariant for every θ, so Noether's theorem conserves the charges.
 */
import { DarbouxError } from '../../errors.js';
import { add, index, mul, neg, stack, sub, type Scalar, type Vector } from '../../ir/build.js';

/** Which continuous symmetry the input layer enforces ('none': the raw q and v). */
export type LnnSymmetry = 'none' | 'rotation' | 'translation' | 'euclidean';

/** Symmetry names, for messages. @example lnnSymmetries() // ['none', 'rotation', 'translation', 'euclidean'] */
export function lnnSymmetries(): LnnSymmetry[] {
  return ['none', 'rotation', 'translation', 'euclidean'];
}

/** Binomial coefficient C(n, k) (0 for k > n). @example binomial(4, 2) // 6 */
function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/**
 * The number of invariants the input layer of a symmetry gives for `particles` particles in `dim` dimensions
 * (Müller's Tab. 2 is the case P = 2, D = 4: 16, 11, 12, 6):
 *
 * - 'none': 2·P·D (q and v themselves);
 * - 'translation': (P − 1)·D + P·D (the differences x⁽ⁱ⁾ − x⁽ᴾ⁾, i < P, and every velocity);
 * - 'rotation': n(n+1)/2 + C(n, D) with n = 2P vectors (x⁽¹⁾ … x⁽ᴾ⁾, v⁽¹⁾ … v⁽ᴾ⁾): every dot product, and every full
 *   contraction of D distinct vectors with the Levi-Civita symbol (a D×D determinant; SO(D), not O(D), invariant);
 * - 'euclidean': the same with n = 2P − 1 vectors (the P − 1 position differences and the P velocities).
 *
 * One particle in 3-D (Kepler): rotation 3 (|q|², q·v, |v|²), translation 3, euclidean 1 (|v|²).
 *
 * @example
 * invariantCount('rotation', 2, 4); // 11
 */
export function invariantCount(symmetry: LnnSymmetry, particles: number, dim: number): number {
  const P = particles, D = dim;
  switch (symmetry) {
    case 'none':
      return 2 * P * D;
    case 'translation':
      return (2 * P - 1) * D;
    case 'rotation':
    case 'euclidean': {
      const n = symmetry === 'rotation' ? 2 * P : 2 * P - 1;
      return (n * (n + 1)) / 2 + binomial(n, D);
    }
    default:
      throw new DarbouxError('OPTION', `unknown symmetry '${String(symmetry)}'; use ${lnnSymmetries().join(', ')}`, { symmetry });
  }
}

/** Σ a_k b_k of two vectors given as scalar components. */
function dotScalars(a: readonly Scalar[], b: readonly Scalar[]): Scalar {
  let s: Scalar = mul(a[0]!, b[0]!);
  for (let k = 1; k < a.length; k++) s = add(s, mul(a[k]!, b[k]!));
  return s;
}

/** Sign of a permutation (given as an array of 0 … n−1), by counting inversions. */
function permutationSign(p: readonly number[]): number {
  let inversions = 0;
  for (let i = 0; i < p.length; i++) for (let j = i + 1; j < p.length; j++) if (p[i]! > p[j]!) inversions++;
  return inversions % 2 === 0 ? 1 : -1;
}

/** Every permutation of 0 … n−1 (Heap's algorithm, iterative). */
function permutations(n: number): number[][] {
  const a = Array.from({ length: n }, (_, i) => i), c = new Array<number>(n).fill(0), out = [a.slice()];
  let i = 0;
  while (i < n) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[j], a[i]] = [a[i]!, a[j]!];
      out.push(a.slice());
      c[i]!++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
  return out;
}

/** ε^{i₁…i_D} a⁽¹⁾_{i₁} ⋯ a⁽ᴰ⁾_{i_D}: the determinant of the D vectors (Leibniz formula, D! terms). */
function leviCivita(vectors: readonly (readonly Scalar[])[], perms: readonly number[][]): Scalar {
  let det: Scalar | undefined;
  for (const p of perms) {
    let term: Scalar = vectors[0]![p[0]!]!;
    for (let k = 1; k < p.length; k++) term = mul(term, vectors[k]![p[k]!]!);
    if (permutationSign(p) < 0) term = neg(term);
    det = det === undefined ? term : add(det, term);
  }
  return det!;
}

/** Every k-subset of 0 … n−1 in lexicographic order (iterative). */
function subsets(n: number, k: number): number[][] {
  if (k > n) return [];
  const out: number[][] = [], s = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    out.push(s.slice());
    let i = k - 1;
    while (i >= 0 && s[i] === n - k + i) i--;
    if (i < 0) return out;
    s[i]!++;
    for (let j = i + 1; j < k; j++) s[j] = s[j - 1]! + 1;
  }
}

/** The rotation invariants of a set of vectors: dot products (i ≤ j, row by row), then Levi-Civita contractions. */
function rotationInvariants(vectors: readonly (readonly Scalar[])[], dim: number): Scalar[] {
  const out: Scalar[] = [];
  for (let i = 0; i < vectors.length; i++) for (let j = i; j < vectors.length; j++) out.push(dotScalars(vectors[i]!, vectors[j]!));
  const chosen = subsets(vectors.length, dim);
  if (chosen.length > 0) {
    const perms = permutations(dim);
    for (const s of chosen) out.push(leviCivita(s.map((k) => vectors[k]!), perms));
  }
  return out;
}

/** Largest number of Levi-Civita terms (C(n, D)·D!) an input layer may build. */
const MAX_LEVI_CIVITA_TERMS = 20_000;

/**
 * The symmetry-enforcing input layer: the invariants of (q, v) as one vector (length `invariantCount`), in the
 * order the TSDoc of `invariantCount` lists them. q and v are particle-major vectors of length P·D.
 *
 * @example
 * const s = configurationSpace(3);
 * const x = invariantLayer(s.q, s.v, 'rotation', 1, 3); // [|q|², q·v, |v|²]
 */
export function invariantLayer(q: Vector, v: Vector, symmetry: LnnSymmetry, particles: number, dim: number): Vector {
  const count = invariantCount(symmetry, particles, dim);
  const P = particles, D = dim;
  const particle = (x: Vector, i: number) => Array.from({ length: D }, (_, k) => index(x, i * D + k));
  const positions = Array.from({ length: P }, (_, i) => particle(q, i));
  const velocities = Array.from({ length: P }, (_, i) => particle(v, i));
  const differences = positions.slice(0, P - 1).map((x) => x.map((c, k) => sub(c, positions[P - 1]![k]!)));
  if (symmetry === 'rotation' || symmetry === 'euclidean') {
    const n = symmetry === 'rotation' ? 2 * P : 2 * P - 1;
    let terms = binomial(n, D);
    for (let k = 2; k <= D && terms <= MAX_LEVI_CIVITA_TERMS; k++) terms *= k;
    if (terms > MAX_LEVI_CIVITA_TERMS) {
      throw new DarbouxError('OPTION', `lnn: the ${symmetry} layer of ${P} particles in ${D} dimensions needs ${binomial(n, D)} Levi-Civita contractions of ${D}! terms each; use fewer dimensions or particles`, { particles, dim });
    }
  }
  let elems: Scalar[];
  switch (symmetry) {
    case 'none':
      elems = [...positions.flat(), ...velocities.flat()];
      break;
    case 'translation':
      elems = [...differences.flat(), ...velocities.flat()];
      break;
    case 'rotation':
      elems = rotationInvariants([...positions, ...velocities], D);
      break;
    case 'euclidean':
      elems = rotationInvariants([...differences, ...velocities], D);
      break;
    default:
      throw new DarbouxError('OPTION', `unknown symmetry '${String(symmetry)}'; use ${lnnSymmetries().join(', ')}`, { symmetry });
  }
  if (elems.length !== count) throw new DarbouxError('SHAPE', `lnn: the ${symmetry} layer built ${elems.length} invariants, expected ${count}`);
  return stack(elems);
}
