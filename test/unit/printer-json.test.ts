import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// Imports from the IR modules directly, so these tests do not depend on the rest of the package.
import { DarbouxError } from '../../src/errors.js';
import {
  abs, add, constant, cos, div, dot, exp, index, input, matTvec, matvec, mul, neg, outer, param, pow, powi, sin,
  stack, sub, sum, tanh, tensorConstant,
} from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { make } from '../../src/ir/make.js';
import { broadcast } from '../../src/ir/ops/tensor.js';
import { parseFormula } from '../../src/ir/parser.js';
import { printExpr } from '../../src/ir/printer.js';
import { deserializeGraph, graphFromJson, graphToJson, serializeGraph, type GraphJson } from '../../src/ir/json.js';
import { substitute } from '../../src/ir/traverse.js';
import { arbitraryExpr, arbitraryHamiltonian, arbitrarySeparableHamiltonian } from './arbitrary.js';

const q = input('q', 'q', [2]);
const p = input('p', 'p', [2]);
const [x, y] = [index(q, 0), index(q, 1)];
const [px, py] = [index(p, 0), index(p, 1)];
const lam = param('lam');
const W = param('W', [3, 2]);
const names = new Map<Expr, string>([[x, 'x'], [y, 'y'], [px, 'px'], [py, 'py'], [lam, 'lam']]);
const name = (n: Expr) => names.get(n);

describe('printExpr', () => {
  it.each<[string, () => Expr]>([
    ['px^2/2 + x^2/2', () => add(div(powi(px, 2), 2), div(powi(x, 2), 2))],
    ['-x^2', () => neg(powi(x, 2))],
    ['(-x)^2', () => powi(neg(x), 2)],
    ['x^-3', () => powi(x, -3)],
    ['-x^-3', () => neg(powi(x, -3))],
    ['x - y - px', () => sub(sub(x, y), px)],
    ['x - (y - px)', () => sub(x, sub(y, px))],
    ['x/y/px', () => div(div(x, y), px)],
    ['x/(y/px)', () => div(x, div(y, px))],
    ['x^y^px', () => pow(x, pow(y, px))],
    ['(x^y)^px', () => pow(pow(x, y), px)],
    ['(x + y)/px', () => div(add(x, y), px)],
    ['px*(x + y)', () => mul(add(x, y), px)], // commutative arguments in canonical order (older node first)
    ['lam*(y*x^2 - y^3/3)', () => mul(lam, sub(mul(powi(x, 2), y), div(powi(y, 3), 3)))],
    ['-sin(x)', () => neg(sin(x))],
    ['-(x*y)', () => mul(neg(x), y)], // simplified to neg(mul(x, y))
    ['x*(-y - px)', () => mul(x, sub(neg(y), px))],
    ['x + (-y/px)', () => add(x, div(neg(y), px))],
    ['y + (-2)*x', () => add(mul(-2, x), y)],
    ['0.1*x', () => mul(0.1, x)],
    ['1e-300 + x', () => add(1e-300, x)],
    ['x/(-0)', () => div(x, -0)],
    ['1e+21*x', () => mul(1e21, x)],
    ['exp((-1/0) + x)', () => exp(add(-Infinity, x))],
    ['-2', () => constant(-2)],
    ['-0', () => constant(-0)],
    ['(0/0)', () => constant(NaN)],
    ['abs(x)', () => abs(x)],
  ])('%s', (text, build) => {
    expect(printExpr(build(), { name })).toBe(text);
  });

  it('prints inputs by name and index as q[i] by default, and tensor ops for display', () => {
    expect(printExpr(add(index(q, 0), mul(2, index(p, 1))))).toBe('q[0] + 2*p[1]');
    expect(printExpr(dot(p, p))).toBe('dot(p, p)');
    expect(printExpr(sum(matvec(W, q)))).toBe('sum(matvec(W, q))');
    expect(printExpr(index(W, 2, 1))).toBe('W[2, 1]');
    expect(printExpr(index(add(q, p), 1))).toBe('(q + p)[1]');
    expect(printExpr(stack([add(x, 1), y]))).toBe('[1 + q[0], q[1]]');
    expect(printExpr(dot(tensorConstant([1, -0, NaN], [3]), input('aux', 'v', [3])))).toBe('dot([1, -0, NaN], v)');
    expect(printExpr(tensorConstant([1, 2, 3, 4], [2, 2]))).toBe('[[1, 2], [3, 4]]');
    expect(printExpr(broadcast(lam, [3]))).toBe('broadcast(lam, 3)');
  });

  it('names any node, not only leaves', () => {
    const r2 = add(powi(x, 2), powi(y, 2));
    expect(printExpr(div(1, sqrtOf(r2)), { name: (n) => (n === r2 ? 'r2' : name(n)) })).toBe('1/r2^0.5');
  });

  it('prints deep graphs without recursion', () => {
    let e: Expr = x;
    for (let k = 0; k < 20_000; k++) e = sin(add(e, 1));
    expect(printExpr(e, { name }).length).toBeGreaterThan(20_000 * 8);
  });

  it('reads back expressions rebuilt by substitute (pow with a constant exponent becomes powi)', () => {
    const [e] = substitute([pow(x, lam)], new Map([[lam, constant(2)]]));
    expect(e).toBe(powi(x, 2));
    expect(parseFormula(printExpr(e!, { name }), new Map([['x', x]]))).toBe(e);
    expect(make('pow', [x, constant(-3)])).toBe(powi(x, -3));
    expect(make('pow', [x, constant(100)]).op).toBe('pow'); // beyond powi's range, as with the builder
  });
});

const sqrtOf = (e: Expr) => pow(e, 0.5);

describe('graph JSON', () => {
  const roundTrip = (outputs: readonly Expr[]) => {
    const json = graphToJson(outputs);
    const back = graphFromJson(json);
    expect(back).toHaveLength(outputs.length);
    back.forEach((b, i) => expect(b).toBe(outputs[i]));
    const viaText = deserializeGraph(serializeGraph(outputs));
    viaText.forEach((b, i) => expect(b).toBe(outputs[i]));
    return json;
  };

  it('round-trips awkward constants exactly', () => {
    const awkward = [-0, 1e-300, 1 / 3, 5e-324, -1.7976931348623157e308, Infinity, -Infinity, NaN, 0.1 + 0.2];
    for (const v of awkward) {
      const [c] = deserializeGraph(serializeGraph(constant(v)));
      expect(c).toBe(constant(v));
      expect(Object.is(c!.attrs.value, v)).toBe(true);
    }
    const t = tensorConstant([-0, 1e-300, 1 / 3, NaN, Infinity, -Infinity], [2, 3]);
    const json = roundTrip([t, mul(x, constant(-0, [2]))]);
    expect(JSON.stringify(json)).toContain('{"$number":"-0"}');
    expect(JSON.stringify(json)).toContain('{"$number":"NaN"}');
    expect(graphFromJson(json)[0]!.attrs.values).toEqual([-0, 1e-300, 1 / 3, NaN, Infinity, -Infinity]);
  });

  it('round-trips tensor ops and shared nodes', () => {
    const b = param('b', [3]);
    const hidden = tanh(add(matvec(W, q), b));
    const H = add(mul(0.5, dot(p, p)), dot(param('c', [3]), hidden));
    const grad = matTvec(W, mul(sub(1, mul(hidden, hidden)), param('c', [3])));
    const json = roundTrip([H, grad, stack([x, neg(y), lam]), sum(outer(q, p)), broadcast(sin(x), [4]), index(W, 2, 1)]);
    expect(json.version).toBe(1);
    expect(json.nodes.filter((n) => n.op === 'matvec')).toHaveLength(1); // shared, written once
    json.nodes.forEach((n, k) => n.args.forEach((a) => expect(a).toBeLessThan(k)));
  });

  it('round-trips random expressions and Hamiltonians', () => {
    const leaves = [x, y, px, py, lam];
    fc.assert(fc.property(arbitraryExpr(leaves, 5), arbitraryExpr(leaves, 3), (e, f) => void roundTrip([e, f, dot(stack([e, f]), q)])), { numRuns: 300 });
    fc.assert(fc.property(arbitrarySeparableHamiltonian(3), ({ T, V, H }) => void roundTrip([H, T, V])), { numRuns: 100 });
    fc.assert(fc.property(arbitraryHamiltonian(2), ({ H }) => void roundTrip([H])), { numRuns: 100 });
  });

  it('handles deep graphs (iterative traversal)', () => {
    let e: Expr = x;
    for (let k = 0; k < 20_000; k++) e = add(mul(e, y), k + 0.5);
    const text = serializeGraph(e);
    expect(deserializeGraph(text)[0]).toBe(e);
  });

  it('keeps strings that look like special numbers as strings', () => {
    const odd = input('aux', 'NaN', [2]);
    const [back] = graphFromJson(graphToJson(sum(odd)));
    expect(back!.args[0]).toBe(odd);
    expect(back!.args[0]!.attrs.name).toBe('NaN');
  });

  describe('rejects malformed input with JSON errors', () => {
    const good = () => graphToJson(add(x, cos(y))) as unknown as { version: number; nodes: { op: string; args: unknown[]; attrs: Record<string, unknown> }[]; outputs: unknown[] };
    const rejects = (json: unknown, message: RegExp) => {
      let caught: unknown;
      try {
        graphFromJson(json as GraphJson);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DarbouxError);
      expect((caught as DarbouxError).code).toBe('JSON');
      expect((caught as DarbouxError).message).toMatch(message);
    };
    it.each<[string, (j: ReturnType<typeof good>) => unknown, RegExp]>([
      ['wrong version', (j) => ({ ...j, version: 2 }), /unsupported graph version 2/],
      ['missing version', (j) => ({ nodes: j.nodes, outputs: j.outputs }), /unsupported graph version undefined/],
      ['not an object', () => 'graph', /must be an object/],
      ['null', () => null, /must be an object/],
      ['nodes not an array', (j) => ({ ...j, nodes: {} }), /nodes must be an array/],
      ['unknown op', (j) => ((j.nodes[0]!.op = 'frobnicate'), j), /node 0: unknown op "frobnicate"/],
      ['forward reference', (j) => ((j.nodes[1]!.args = [5]), j), /node 1 \(index\): argument 5 is not the index of an earlier node/],
      ['self reference', (j) => ((j.nodes[1]!.args = [1]), j), /argument 1 is not the index of an earlier node/],
      ['fractional index', (j) => ((j.nodes[1]!.args = [0.5]), j), /argument 0.5 is not/],
      ['bad output', (j) => ({ ...j, outputs: [99] }), /output 99 is not the index of a node/],
      ['bad special number', (j) => ((j.nodes[1]!.attrs.i = { $number: 'Inf' }), j), /attribute 'i': expected a number/],
      ['shape error', (j) => ((j.nodes[1]!.attrs.i = 7), j), /node 1 \(index\) cannot be built: index: .*out of range/],
      ['attrs not an object', (j) => ((j.nodes[0]!.attrs = [] as never), j), /attrs must be an object/],
    ])('%s', (_label, corrupt, message) => {
      rejects(corrupt(good()), message);
    });
    it('malformed JSON text', () => {
      expect(() => deserializeGraph('{"version": 1,')).toThrow(/not valid JSON/);
    });
    it('a "__proto__" attribute does not reach the prototype', () => {
      const j = JSON.parse('{"version":1,"nodes":[{"op":"input","args":[],"attrs":{"role":"aux","name":"v","shape":[1],"__proto__":{"polluted":1}}}],"outputs":[0]}');
      rejects(j, /expected a number/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
});
