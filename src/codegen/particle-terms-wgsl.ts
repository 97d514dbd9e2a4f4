/**
 * The force terms of a particle program (particle-analysis.ts) as WGSL functions, each body lowered by the
 * shared lowering (so any pair or site potential works): `pairWeight{k}(r2)` returns coefficient · f(r)/r inside
 * the cutoff (0 outside), f = dB/dr the pairGradient body, so the gradient of V at site i gathers
 * Σ_j pairWeight(r²) · d_ij; `siteGradient{k}(x)` returns coefficient · ∂B/∂x at one site. Also the inner loop
 * statements a kernel emits per partner (minimum image, r², accumulation).
 */
import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { decodeBody } from '../ir/ops/pair-body.js';
import { Lowering } from './lowering.js';
import { R_SQUARED, shareReciprocals, weightOverSquare } from './pair-weight.js';
import { wgslLiteral, wgslTarget } from './target-wgsl.js';
import { elementOf } from './values.js';
import type { ParticleForceTerm, ParticleProgram } from './particle-analysis.js';

/** A lowered body: module-scope declarations, and the function text. */
interface LoweredFunction {
  module: string[];
  text: string;
}

/** Lowers a body's root 0 with `bind` binding its variables; the function's signature and return are given. */
function lowerFunction(term: ParticleForceTerm, root: Expr, prefix: string, signature: string, bind: (vars: ReadonlyMap<string, Expr>, lowering: Lowering) => void, result: (v: Value) => string): LoweredFunction {
  const body = decodeBody(term.body);
  const lowering = new Lowering(wgslTarget, { prefix });
  bind(body.vars, lowering);
  term.lifted.forEach((values, k) => {
    const ph = body.vars.get(`a${k}`);
    if (ph === undefined) return;
    const shape = term.liftedShapes[k]!;
    lowering.bind(ph, shape.length === 0 ? { kind: 'scalar', code: wgslLiteral(values[0]!) } : { kind: 'array', name: lowering.constantArray([...values]), size: values.length });
  });
  const [v] = lowering.emit([root]);
  const ret = result(v!);
  const module = lowering.hoisted.filter((line) => line.startsWith('var<private>'));
  const local = lowering.hoisted.filter((line) => !line.startsWith('var<private>')).map((line) => `  ${line}`);
  // The lowering parenthesises every division, so "(1.0 / sqrt(" is exactly a reciprocal square root.
  const lines = [...lowering.lines, `  return ${ret};`].map((line) => line.replaceAll('(1.0 / sqrt(', '(inverseSqrt('));
  return { module, text: [`${signature} {`, ...local, ...lines, '}'].join('\n') };
}

/**
 * `fn pairWeight{k}(r2: f32) -> f32`: coefficient · f(r)/r inside the cutoff, 0 outside; written over r² without a
 * square root when the body allows (pair-weight.ts).
 */
function pairWeight(term: ParticleForceTerm, k: number): LoweredFunction {
  const cutoff = term.geometry.cutoff;
  const body = decodeBody(term.body);
  const r = body.vars.get('r');
  const overSquare = r === undefined ? null : weightOverSquare(body.roots[0]!, r);
  const root = shareReciprocals(overSquare ?? body.roots[0]!);
  return lowerFunction(term, root, `w${k}_`, `fn pairWeight${k}(r2: f32) -> f32`, (_vars, lowering) => {
    if (cutoff !== null) lowering.line(`if (r2 >= ${wgslLiteral(cutoff * cutoff)}) { return 0.0; }`, false);
    if (overSquare !== null) lowering.bind(R_SQUARED, { kind: 'scalar', code: 'r2' });
    else {
      lowering.line('let r = sqrt(r2)');
      if (r) lowering.bind(r, { kind: 'scalar', code: 'r' });
    }
  }, (v) => `${wgslLiteral(term.coefficient)} * (${elementOf(v, 0)})${overSquare !== null ? '' : ' / r'}`);
}

/** `fn siteGradient{k}(x: array<f32, D>) -> array<f32, D>`: coefficient · ∂B/∂x at one site. */
function siteGradient(term: ParticleForceTerm, k: number, dim: number): LoweredFunction {
  return lowerFunction(term, decodeBody(term.body).roots[0]!, `s${k}_`, `fn siteGradient${k}(x: array<f32, ${dim}>) -> array<f32, ${dim}>`, (vars, lowering) => {
    const x = vars.get('x');
    if (x) lowering.bind(x, { kind: 'unrolled', elems: Array.from({ length: dim }, (_, c) => lowering.temp(`x[${c}]`)) });
  }, (v) => `array<f32, ${dim}>(${Array.from({ length: dim }, (_, c) => `${wgslLiteral(term.coefficient)} * (${elementOf(v, c)})`).join(', ')})`);
}

/**
 * The WGSL functions of every force term of a program, in term order (pair terms `pairWeight{k}`, site terms
 * `siteGradient{k}`, k the term's index), module-scope constants first.
 *
 * @example
 * const wgsl = particleTermFunctions(particleProgram(program, dt)!);
 */
export function particleTermFunctions(pp: ParticleProgram): string {
  const fns = pp.terms.map((t, k) => (t.kind === 'site' ? siteGradient(t, k, pp.dim) : pairWeight(t, k)));
  return [...fns.flatMap((f) => f.module), ...fns.map((f) => f.text)].join('\n');
}

/**
 * Statements adding the pair term k's contribution of partner position `xj` (code per component) to the scalar
 * gradient accumulators `${g}0`, `${g}1`, … of the site at `xi`: d = xi − xj (minimum image in a periodic box),
 * r², g += pairWeight·d. `self`: code of a condition under which the partner is the site itself (its weight is
 * then 0, without a branch).
 *
 * @example
 * pairAccumulate(pp.terms[0]!, 0, 3, (c) => `xi${c}`, (c) => `tk.${'xyz'[c]}`, 'g', 't + k == i');
 */
export function pairAccumulate(term: ParticleForceTerm, k: number, dim: number, xi: (c: number) => string, xj: (c: number) => string, g: string, self: string | null): string[] {
  const box = term.geometry.box;
  const lines: string[] = [];
  for (let c = 0; c < dim; c++) {
    if (box === null) lines.push(`let d${k}_${c} = ${xi(c)} - ${xj(c)};`);
    else {
      const L = wgslLiteral(box[c]!), inverse = wgslLiteral(1 / box[c]!);
      lines.push(`let e${k}_${c} = ${xi(c)} - ${xj(c)};`);
      lines.push(`let d${k}_${c} = e${k}_${c} - ${L} * round(e${k}_${c} * ${inverse});`);
    }
  }
  const weight = `pairWeight${k}(${Array.from({ length: dim }, (_, c) => `d${k}_${c} * d${k}_${c}`).join(' + ')})`;
  lines.push(`let w${k} = ${self === null ? weight : `select(${weight}, 0.0, ${self})`};`);
  for (let c = 0; c < dim; c++) lines.push(`${g}${c} += w${k} * d${k}_${c};`);
  return lines;
}

/** Edge lists of the edge terms as CSR adjacency, and the layout of the fixed u32 data a kernel reads. */
export interface FixedData {
  /** inverse masses (f32 bits, n·dim), then per edge term: offsets (n + 1, absolute indices) and partners. */
  words: Uint32Array;
  /** Per term index: where its offsets start in `words` (edge terms only). */
  edgeOffsets: Map<number, number>;
  /** The largest degree over all edge terms (bounds the partner loops). */
  maxDegree: number;
}

/**
 * The fixed data of a program: inverse masses, and for each edge term the CSR adjacency (both directions of
 * every edge), built on the host, so each particle gathers over its own edges (no scatter).
 *
 * @example
 * const fixed = fixedData(pp); createStorageBuffer(gpu, fixed.words);
 */
export function fixedData(pp: ParticleProgram): FixedData {
  const parts: number[][] = [];
  const inverse = new Float32Array(pp.inverseMass);
  const edgeOffsets = new Map<number, number>();
  let at = inverse.length, maxDegree = 0;
  pp.terms.forEach((t, k) => {
    if (t.kind !== 'edges') return;
    const lists: number[][] = Array.from({ length: pp.n }, () => []);
    const e = t.geometry.edges!;
    for (let m = 0; m < e.length; m += 2) {
      lists[e[m]!]!.push(e[m + 1]!);
      lists[e[m + 1]!]!.push(e[m]!);
    }
    const start = at + pp.n + 1;
    const offsets: number[] = [];
    let o = start;
    for (const l of lists) {
      offsets.push(o);
      o += l.length;
      maxDegree = Math.max(maxDegree, l.length);
    }
    offsets.push(o);
    edgeOffsets.set(k, at);
    parts.push(offsets, lists.flat());
    at = o;
  });
  const words = new Uint32Array(at);
  words.set(new Uint32Array(inverse.buffer), 0);
  let w = inverse.length;
  for (const part of parts) {
    words.set(part, w);
    w += part.length;
  }
  return { words, edgeOffsets, maxDegree };
}

/**
 * Statements adding every edge and site term at site `i` (position `xi`) to the accumulators `${g}0`, `${g}1`, …: edge partners read through
 * `position(j, c)` (code), site terms by their function.
 *
 * @example
 * localTerms(pp, fixed, 'i', (c) => `xi${c}`, (j, c) => `qs[${j}].${'xyz'[c]}`, 'g');
 */
export function localTerms(pp: ParticleProgram, fixed: FixedData, i: string, xi: (c: number) => string, position: (j: string, c: number) => string, g: string): string[] {
  const lines: string[] = [];
  pp.terms.forEach((t, k) => {
    if (t.kind === 'site') {
      lines.push(`{ let s${k} = siteGradient${k}(array<f32, ${pp.dim}>(${Array.from({ length: pp.dim }, (_, c) => xi(c)).join(', ')}));`);
      for (let c = 0; c < pp.dim; c++) lines.push(`  ${g}${c} += s${k}[${c}];`);
      lines.push('}');
    } else if (t.kind === 'edges') {
      const base = fixed.edgeOffsets.get(k)!;
      lines.push(`for (var e${k}: u32 = fixed[${base}u + ${i}]; e${k} < fixed[${base}u + ${i} + 1u]; e${k}++) {`);
      lines.push(`  let j${k} = fixed[e${k}];`);
      lines.push(...pairAccumulate(t, k, pp.dim, xi, (c) => position(`j${k}`, c), g, null).map((l) => `  ${l}`));
      lines.push('}');
    }
  });
  return lines;
}
