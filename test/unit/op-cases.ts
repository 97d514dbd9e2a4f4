/**
 * Test cases for every registered op, for the op-record tests (test/unit/op-records.test.ts and
 * test/gpu/op-records.test.ts): for each op, graphs whose node of interest is built by that op from fresh
 * input leaves, with samplers of input values inside the op's domain.
 *
 * Elementwise ops get their argument domains from `ELEMENTWISE_DOMAINS`; every other op has an explicit case
 * builder in `CASE_BUILDERS`. An op in neither table has no cases, and `opCases` throws, so a new op fails the
 * tests until it is given a generator.
 */
import { dot, index, input, matTvec, matvec, outer, sin, stack, sum, tensorConstant, constant } from '../../src/ir/build.js';
import type { Attrs, Expr } from '../../src/ir/expr.js';
import { make } from '../../src/ir/make.js';
import { opDef } from '../../src/ir/op.js';
import { size, type Shape } from '../../src/ir/shape.js';
import { broadcast } from '../../src/ir/ops/tensor.js';
import { add, mul, powi } from '../../src/ir/build.js';
import * as builders from '../../src/ir/build.js';
import { pairSum, edgeSum } from '../../src/ir/ops/pairs.js';
import { siteSum } from '../../src/ir/ops/sites.js';
import { topologicalOrder } from '../../src/ir/traverse.js';
import { gradient, vjp } from '../../src/autodiff/vjp.js';
import { bound, liftBody } from '../../src/ir/ops/pair-body.js';
import { jvp } from '../../src/autodiff/jvp.js';

/** A seeded uniform generator on [0, 1) (mulberry32). @example const rng = seededRandom(1); rng() */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of one input: uniform in [lo, hi], or with `signed`, |x| in [lo, hi] with a random sign. */
interface Domain {
  lo: number;
  hi: number;
  signed?: boolean;
}

/** One graph exercising an op. */
export interface OpCase {
  label: string;
  /** The node built by the op under test (its `op` is that op's name). */
  node: Expr;
  /** Input leaves of the graph. */
  inputs: Expr[];
  /** Domains of the inputs, aligned with `inputs`. */
  domains: Domain[];
  /** What is evaluated: the node itself, or readers of it (so that it is fused into them). */
  outputs: Expr[];
  /** Sibling reductions over one fused tensor: the emitted JS must compute them in exactly one loop. */
  oneLoop?: boolean;
}

const WIDE: Domain = { lo: -2, hi: 2 };

/** Domains of the arguments of each elementwise op (chosen away from poles and kinks), and attributes. */
export const ELEMENTWISE_DOMAINS: Readonly<Record<string, { args: Domain[]; attrs?: Attrs[] }>> = {
  add: { args: [WIDE, WIDE] },
  sub: { args: [WIDE, WIDE] },
  mul: { args: [WIDE, WIDE] },
  div: { args: [WIDE, { lo: 0.5, hi: 2, signed: true }] },
  neg: { args: [WIDE] },
  powi: { args: [{ lo: 0.3, hi: 2, signed: true }], attrs: [{ n: 2 }, { n: 3 }, { n: -2 }, { n: 5 }] },
  pow: { args: [{ lo: 0.5, hi: 2 }, { lo: -1.5, hi: 1.5 }] },
  sqrt: { args: [{ lo: 0.2, hi: 3 }] },
  exp: { args: [WIDE] },
  log: { args: [{ lo: 0.2, hi: 3 }] },
  sin: { args: [{ lo: -4, hi: 4 }] },
  cos: { args: [{ lo: -4, hi: 4 }] },
  tan: { args: [{ lo: -1.2, hi: 1.2 }] },
  // Past |x| = 10 the WGSL rendering clamps its argument: the domain crosses that point.
  tanh: { args: [{ lo: -12, hi: 12 }] },
  sinh: { args: [WIDE] },
  cosh: { args: [WIDE] },
  abs: { args: [{ lo: 0.2, hi: 2, signed: true }] },
  sign: { args: [{ lo: 0.2, hi: 2, signed: true }] },
  softplus: { args: [{ lo: -8, hi: 8 }] },
  sigmoid: { args: [{ lo: -8, hi: 8 }] },
};

/** Longer than the default unroll limit (16), so the op is emitted with loops. */
const LONG = 24;

let inputCounter = 0;
/** A fresh input leaf (unique name, so cases never share leaves). */
function leaf(shape: Shape): Expr {
  return input('aux', `x${inputCounter++}`, shape);
}

function single(label: string, node: Expr, inputs: Expr[], domain: Domain = WIDE): OpCase {
  return { label, node, inputs, domains: inputs.map(() => domain), outputs: [node] };
}

/** Elementwise cases: scalars, short and long tensors, scalar broadcasting, and a long node fused into `sum`. */
function elementwiseCases(name: string): OpCase[] {
  const spec = ELEMENTWISE_DOMAINS[name]!;
  const arity = spec.args.length;
  const shapeSets: Shape[][] =
    arity === 1
      ? [[[]], [[3]], [[LONG]], [[2, 3]]]
      : [[[], []], [[3], [3]], [[LONG], [LONG]], [[], [LONG]], [[LONG], []], [[2, 3], []]];
  const cases: OpCase[] = [];
  for (const attrs of spec.attrs ?? [{}]) {
    for (const shapes of shapeSets) {
      const inputs = shapes.map(leaf);
      const node = make(name, inputs, attrs);
      const label = `${name}${JSON.stringify(attrs)} on ${shapes.map((s) => `[${s.join('×')}]`).join(', ')}`;
      cases.push({ label, node, inputs, domains: spec.args, outputs: [node] });
      if (size(node.shape) > 16) cases.push({ label: `${label}, fused into sum`, node, inputs, domains: spec.args, outputs: [sum(node)] });
    }
  }
  return cases;
}

const uniformRandom = seededRandom(7);

/** Case builders of the non-elementwise ops. */
export const CASE_BUILDERS: Readonly<Record<string, () => OpCase[]>> = {
  const: () =>
    [[], [3], [LONG]].map((shape) => {
      const node = constant(-1.25 + 2.5 * uniformRandom(), shape);
      return single(`const [${shape.join('×')}]`, node, []);
    }),
  tensor: () =>
    [[3], [LONG], [2, 3]].map((shape) => {
      const node = tensorConstant(Array.from({ length: size(shape) }, () => -2 + 4 * uniformRandom()), shape);
      return single(`tensor [${shape.join('×')}]`, node, []);
    }),
  input: () =>
    [[], [3], [LONG], [2, 3]].map((shape) => {
      const x = leaf(shape);
      return single(`input [${shape.join('×')}]`, x, [x]);
    }),
  dot: () =>
    [3, 40].map((n) => {
      const a = leaf([n]), b = leaf([n]);
      return single(`dot [${n}]`, dot(a, b), [a, b]);
    }),
  sum: () =>
    [[3], [40], [3, 4]].map((shape) => {
      const a = leaf(shape);
      return single(`sum [${shape.join('×')}]`, sum(a), [a]);
    }),
  broadcast: () =>
    [[3], [40], [2, 3]].map((shape) => {
      const x = leaf([]);
      return single(`broadcast to [${shape.join('×')}]`, broadcast(x, shape), [x]);
    }),
  index: () => [
    ...[5, 40].map((n) => {
      const v = leaf([n]);
      return single(`index [${n}]`, index(v, n - 2), [v]);
    }),
    (() => {
      const m = leaf([3, 4]);
      return single('index [3×4]', index(m, 1, 2), [m]);
    })(),
  ],
  stack: () =>
    [3, 20].map((n) => {
      const xs = Array.from({ length: n }, () => leaf([]));
      return single(`stack of ${n}`, stack(xs), xs);
    }),
  matvec: () =>
    [[3, 4], [20, LONG]].map(([r, c]) => {
      const m = leaf([r!, c!]), v = leaf([c!]);
      return single(`matvec [${r}×${c}]`, matvec(m, v), [m, v]);
    }),
  matTvec: () =>
    [[4, 3], [LONG, 20], [LONG, 5]].map(([r, c]) => {
      const m = leaf([r!, c!]), v = leaf([r!]);
      return single(`matTvec [${r}×${c}]`, matTvec(m, v), [m, v]);
    }),
  pairSum: () => pairCases('pairSum'),
  pairGradient: () => pairCases('pairGradient'),
  pairHessianVector: () => pairCases('pairHessianVector'),
  siteSum: () => pairCases('siteSum'),
  siteMap: () => pairCases('siteMap'),
  outer: () =>
    [[3, 4], [20, LONG]].map(([r, c]) => {
      const a = leaf([r!]), b = leaf([c!]);
      return single(`outer [${r}]×[${c}]`, outer(a, b), [a, b]);
    }),
};

/** The node built by `op` in a graph (the reductions' derivative nodes are reached through autodiff). */
function nodeOf(root: Expr, op: string): Expr {
  const found = topologicalOrder([root]).find((n) => n.op === op);
  if (found === undefined) throw new Error(`no ${op} node in the case graph`);
  return found;
}

/**
 * Pair and site reduction cases: n = 4 particles in 2D, a smooth potential cos(a·r) + b²·r⁴ (V'(r)/r is smooth at
 * r = 0, so uniform positions are in its domain), open or periodic, all pairs or edges. Positions fixed as
 * constants where an op is differentiated only in its other arguments.
 */
function pairCases(op: string): OpCase[] {
  const n = 4, dim = 2;
  const fixedQ = tensorConstant(Array.from({ length: n * dim }, () => -2 + 4 * uniformRandom()), [n * dim]);
  const fixedV = tensorConstant(Array.from({ length: n * dim }, () => -1 + 2 * uniformRandom()), [n * dim]);
  const fixedV2 = tensorConstant(Array.from({ length: n * dim }, () => -1 + 2 * uniformRandom()), [n * dim]);
  const soft = (a: Expr, b: Expr) => (r: Expr) => add(builders.cos(mul(a, r)), mul(powi(b, 2), powi(r, 4)));
  const geometries = [
    { label: 'open', opts: {} },
    { label: 'box 5×6 with cutoff', opts: { box: [5, 6], cutoff: 2.4, shift: true } },
  ];
  const cases: OpCase[] = [];
  for (const g of geometries) {
    const a = leaf([]), b = leaf([]), q = leaf([n * dim]), v = leaf([n * dim]);
    const E = pairSum(q, { n, dim, potential: soft(a, b), ...g.opts });
    if (op === 'pairSum') {
      cases.push(single(`pairSum, ${g.label}`, E, [q, a, b]));
      const Ee = edgeSum(q, { n, dim, edges: [[0, 1], [1, 3], [2, 0]], potential: soft(a, b), box: g.label === 'open' ? undefined : [5, 6] });
      cases.push(single(`edgeSum, ${g.label}`, Ee, [q, a, b]));
      // A projected sum (∂/∂a of ⟨v, ∂E/∂q⟩), differentiated in its lifted argument only.
      const Ef = pairSum(fixedQ, { n, dim, potential: soft(a, b), ...g.opts });
      const [mixed] = vjp([gradient(Ef, [fixedQ])[0]!], [fixedV], [a]);
      cases.push(single(`projected pairSum, ${g.label}`, nodeOf(mixed!, 'pairSum'), [a, b]));
      // Two projections (∂/∂a of ⟨c, H v⟩), differentiated in its lifted argument only.
      const [hv] = jvp([gradient(Ef, [fixedQ])[0]!], new Map([[fixedQ, fixedV]]));
      const [twice] = vjp([hv!], [fixedV2], [a]);
      cases.push(single(`pairSum projected on two vectors, ${g.label}`, nodeOf(twice!, 'pairSum'), [a, b]));
    }
    if (op === 'pairGradient') cases.push(single(`pairGradient, ${g.label}`, nodeOf(gradient(E, [q])[0]!, 'pairGradient'), [q, a, b]));
    if (op === 'pairHessianVector') {
      // Built directly: its q-derivatives would be third derivatives (not supported), so q is fixed.
      const r = bound('r');
      const { text } = liftBody([add(mul(0.3, powi(r, 2)), 1), add(mul(0.2, powi(r, 2)), 0.5)]);
      const { shift: _s, ...attrs } = { n, dim, ...g.opts } as Record<string, unknown>;
      cases.push(single(`pairHessianVector, ${g.label}`, make('pairHessianVector', [fixedQ, v], { ...(attrs as Attrs), body: text }), [v]));
      // With a lifted argument (the HVP of a potential with a parameter), q fixed.
      const Ea = pairSum(fixedQ, { n, dim, potential: soft(a, constant(0.4)), ...g.opts });
      const [hva] = jvp([gradient(Ea, [fixedQ])[0]!], new Map([[fixedQ, v]]));
      cases.push(single(`pairHessianVector with a parameter, ${g.label}`, nodeOf(hva!, 'pairHessianVector'), [v, a]));
    }
  }
  const a = leaf([]), q = leaf([n * dim]), v = leaf([n * dim]);
  const U = siteSum(q, { n, dim, body: (x) => add(mul(a, powi(index(x, 0), 3)), mul(index(x, 1), index(x, 0))) });
  if (op === 'siteSum') cases.push(single('siteSum', U, [q, a]));
  if (op === 'siteMap') {
    cases.push(single('siteMap (gradient)', nodeOf(gradient(U, [q])[0]!, 'siteMap'), [q, a]));
    const x = bound('x', [dim]), y = bound('y', [dim]);
    const { text } = liftBody([stack([add(mul(powi(index(x, 0), 2), index(y, 0)), index(y, 1)), mul(index(x, 1), index(y, 0))])]);
    cases.push(single('siteMap (Jacobian-vector, linear in y)', make('siteMap', [fixedQ, v], { n, dim, vector: true, body: text }), [v]));
  }
  return cases;
}

/**
 * For an op with a reduction rule: each case variant where a long argument X is replaced by the fused tensor
 * sin(X) that a second reduction reads too, so that the lowering fuses both into one loop over X.
 */
function siblingCases(name: string, cases: readonly OpCase[]): OpCase[] {
  const rule = opDef(name).reduction;
  if (rule === undefined) return [];
  const result: OpCase[] = [];
  for (const c of cases) {
    c.node.args.forEach((arg, k) => {
      if (size(arg.shape) <= 16 || rule.accumulators(c.node, k, 16) === null) return;
      const x = sin(arg);
      const node = make(name, c.node.args.map((a, j) => (j === k ? x : a)), c.node.attrs);
      const extra = leaf(x.shape);
      const partner = node === sum(x) ? dot(x, extra) : sum(x);
      result.push({
        label: `${c.label}, argument ${k} shared with a sibling reduction`,
        node,
        inputs: [...c.inputs, extra],
        domains: [...c.domains, WIDE],
        outputs: [node, partner],
        oneLoop: true,
      });
    });
  }
  return result;
}

/**
 * Every case of one op: its elementwise or explicit cases, plus sibling-reduction variants for reductions.
 * Throws when the op has no generator.
 *
 * @example
 * for (const name of opNames()) for (const c of opCases(name)) check(c);
 */
export function opCases(name: string): OpCase[] {
  const def = opDef(name);
  let cases: OpCase[];
  if (def.elementwise !== undefined && name in ELEMENTWISE_DOMAINS) cases = elementwiseCases(name);
  else if (name in CASE_BUILDERS) cases = CASE_BUILDERS[name]!();
  else throw new Error(`op '${name}' has no test-case generator: add it to ELEMENTWISE_DOMAINS or CASE_BUILDERS in test/unit/op-cases.ts`);
  return [...cases, ...siblingCases(name, cases)];
}

/** Draws values of a case's inputs inside their domains. @example const values = sampleInputs(c, seededRandom(1)); */
export function sampleInputs(c: OpCase, rng: () => number): Float64Array[] {
  return c.inputs.map((x, k) => {
    const { lo, hi, signed } = c.domains[k]!;
    return Float64Array.from({ length: size(x.shape) }, () => {
      const v = lo + (hi - lo) * rng();
      return signed && rng() < 0.5 ? -v : v;
    });
  });
}
