import { describe, expect, it } from 'vitest';
import {
  add, constant, cos, DarbouxError, div, dot, index, input, matvec, mul, neg, param, pow, powi, sin, stack, sub, sum,
  tensorConstant, map,
} from '../../src/index.js';

const q = input('q', 'q', [3]);
const x = index(q, 0), y = index(q, 1);

describe('interning', () => {
  it('returns the same node for the same structure', () => {
    expect(mul(sin(x), y)).toBe(mul(sin(x), y));
    expect(add(x, y)).toBe(add(y, x)); // commutative arguments are canonically ordered
    expect(param('W', [2, 3])).toBe(param('W', [2, 3]));
    expect(param('W', [2, 3])).not.toBe(param('W', [3, 2]));
  });
  it('keeps -0 and 0 apart', () => {
    expect(constant(-0)).not.toBe(constant(0));
  });
});

describe('simplification at construction', () => {
  it.each([
    ['x + 0', () => add(x, 0), () => x],
    ['0 + x', () => add(0, x), () => x],
    ['x * 1', () => mul(x, 1), () => x],
    ['x * 0', () => mul(x, 0), () => constant(0)],
    ['x - 0', () => sub(x, 0), () => x],
    ['x - x', () => sub(x, x), () => constant(0)],
    ['--x', () => neg(neg(x)), () => x],
    ['x / 1', () => div(x, 1), () => x],
    ['x^1', () => pow(x, 1), () => x],
    ['x^0', () => pow(x, 0), () => constant(1)],
    ['(x^2)^3', () => powi(powi(x, 2), 3), () => powi(x, 6)],
    ['2 * (3 * x)', () => mul(2, mul(3, x)), () => mul(6, x)],
    ['x + x', () => add(x, x), () => mul(2, x)],
    ['x * x', () => mul(x, x), () => powi(x, 2)],
    ['x + (-y)', () => add(x, neg(y)), () => sub(x, y)],
    ['[x, y][1]', () => index(stack([x, y]), 1), () => y],
  ])('%s', (_name, build, expected) => {
    expect(build()).toBe(expected());
  });

  it('folds constants, including tensor ops', () => {
    expect(add(constant(2), 3)).toBe(constant(5));
    expect(cos(constant(0))).toBe(constant(1));
    const m = tensorConstant([1, 2, 3, 4], [2, 2]);
    const v = tensorConstant([1, 1], [2]);
    expect(matvec(m, v)).toBe(tensorConstant([3, 7], [2]));
    expect(sum(tensorConstant([1, 2, 3], [3]))).toBe(constant(6));
  });

  it('never changes a shape when simplifying', () => {
    const v = param('v', [3]);
    expect(mul(v, 0).shape).toEqual([3]);
    expect(add(constant(0, [3]), x).shape).toEqual([3]);
  });
});

describe('shape errors name the op and the shapes', () => {
  const v = param('v', [3]), w = param('w', [2]), m = param('M', [2, 3]);
  it.each([
    ['add of [3] and [2]', () => add(v, w), /add: shapes \[3\] and \[2\] do not match/],
    ['dot of [3] and [2]', () => dot(v, w), /dot: got \[3\], \[2\]; needs two vectors of equal length/],
    ['matvec of [2×3] and [2]', () => matvec(m, w), /matvec: got \[2×3\], \[2\]; needs a matrix \[m×n\] and a vector \[n\]/],
    ['index out of range', () => index(v, 3), /index: got \[3\]; index \[3\] is out of range/],
    // @ts-expect-error a vector is not a scalar: rejected by the type checker too
    ['stack of a vector', () => stack([v]), /stack: got \[3\]; needs one or more scalars/],
  ])('%s', (_name, build, message) => {
    expect(build).toThrow(DarbouxError);
    expect(build).toThrow(message);
  });
});

describe('ranks are checked by TypeScript where they are known', () => {
  it('a scalar is not accepted where a vector is needed (compile-time and runtime)', () => {
    const W = param('W', [2, 3]), u = param('u', [3]);
    const s = dot(u, u);
    // @ts-expect-error dot needs vectors; `s` is a Scalar
    expect(() => dot(s, u)).toThrow(/dot: got scalar, \[3\]/);
    // @ts-expect-error matvec needs a matrix first
    expect(() => matvec(u, W)).toThrow(DarbouxError);
    expect(matvec(W, u).shape).toEqual([2]);
  });
  it('map applies an elementwise function and refuses a shape change', () => {
    const u = param('u', [3]);
    expect(map(u, (e) => sin(e)).shape).toEqual([3]);
    expect(() => map(u, (e) => sum(e))).toThrow(/map: the function changed the shape/);
  });
});
