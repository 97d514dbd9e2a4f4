import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// Imports from the IR modules directly, so these tests do not depend on the rest of the package.
import { DarbouxError } from '../../src/errors.js';
import {
  abs, add, constant, cos, cosh, div, exp, index, input, log, mul, neg, param, pow, powi, sigmoid, sign, sin, sinh,
  softplus, sqrt, sub, tan, tanh,
} from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { parseFormula } from '../../src/ir/parser.js';
import { printExpr } from '../../src/ir/printer.js';
import { tokenize } from '../../src/ir/tokenizer.js';
import { arbitraryExpr } from './arbitrary.js';

const q = input('q', 'q', [3]);
const p = input('p', 'p', [3]);
const [x, y, z] = [0, 1, 2].map((i) => index(q, i)) as [Expr, Expr, Expr];
const [px, py] = [0, 1].map((i) => index(p, i)) as [Expr, Expr];
const lam = param('lam');
const scope = new Map<string, Expr>([
  ['x', x], ['y', y], ['z', z], ['px', px], ['py', py], ['lam', lam], ['a', x], ['b', y], ['c', z],
]);
const parse = (text: string) => parseFormula(text, scope);

describe('parseFormula: precedence and associativity', () => {
  it.each<[string, () => Expr]>([
    ['-x^2', () => neg(powi(x, 2))],
    ['(-x)^2', () => powi(neg(x), 2)],
    ['-x*y', () => mul(neg(x), y)],
    ['2^3^2', () => constant(512)],
    ['x^y^z', () => pow(x, pow(y, z))],
    ['(x^y)^z', () => pow(pow(x, y), z)],
    ['a-b-c', () => sub(sub(x, y), z)],
    ['a-(b-c)', () => sub(x, sub(y, z))],
    ['a/b/c', () => div(div(x, y), z)],
    ['a/(b/c)', () => div(x, div(y, z))],
    ['a+b*c', () => add(x, mul(y, z))],
    ['(a+b)*c', () => mul(add(x, y), z)],
    ['a*b^2', () => mul(x, powi(y, 2))],
    ['x^-2', () => powi(x, -2)],
    ['x^-y', () => pow(x, neg(y))],
    ['2^-x^2', () => pow(2, neg(powi(x, 2)))],
    ['x^+3', () => powi(x, 3)],
    ['+x', () => x],
    ['--x', () => x],
    ['x*-y', () => mul(x, neg(y))],
    ['x^2.5', () => pow(x, 2.5)],
    ['x^100', () => pow(x, 100)],
    ['px^2/2 + x^2/2', () => add(div(powi(px, 2), 2), div(powi(x, 2), 2))],
    ['lam*(x^2*y - y^3/3)', () => mul(lam, sub(mul(powi(x, 2), y), div(powi(y, 3), 3)))],
    ['  x\t+\ny  ', () => add(x, y)],
  ])('%s', (text, expected) => {
    expect(parse(text)).toBe(expected());
  });

  it.each<[string, number]>([
    ['2', 2], ['2.5', 2.5], ['.5', 0.5], ['2.', 2], ['1e-3', 1e-3], ['2E+4', 2e4], ['1.5e2', 150], ['007', 7],
    ['1e-300', 1e-300], ['5e-324', 5e-324], ['0.1', 0.1], ['-0', -0], ['1/0', Infinity], ['0/0', NaN],
  ])('number %s', (text, value) => {
    const e = parse(text);
    expect(e.op).toBe('const');
    expect(Object.is(e.attrs.value, value)).toBe(true);
  });

  it.each<[string, () => Expr]>([
    ['sin(x)', () => sin(x)], ['cos(x)', () => cos(x)], ['tan(x)', () => tan(x)], ['exp(x)', () => exp(x)],
    ['log(x)', () => log(x)], ['sqrt(x)', () => sqrt(x)], ['tanh(x)', () => tanh(x)], ['sinh(x)', () => sinh(x)],
    ['cosh(x)', () => cosh(x)], ['abs(x)', () => abs(x)], ['softplus(x)', () => softplus(x)],
    ['sigmoid(x)', () => sigmoid(x)], ['sign(x)', () => sign(x)],
    ['sin(x)^2', () => powi(sin(x), 2)],
    ['-cos(x + y)*px', () => mul(neg(cos(add(x, y))), px)],
    ['exp(-x^2/2)', () => exp(div(neg(powi(x, 2)), 2))],
    ['sqrt((x - y)^2 + 1)', () => sqrt(add(powi(sub(x, y), 2), 1))],
    ['sin ( x )', () => sin(x)],
  ])('call %s', (text, expected) => {
    expect(parse(text)).toBe(expected());
  });

  it('prefers a function over a scope name only when called', () => {
    const s = new Map<string, Expr>([['sin', x]]);
    expect(parseFormula('sin', s)).toBe(x);
    expect(parseFormula('sin(sin)', s)).toBe(sin(x));
  });

  it('tokenizes with 1-based columns counted in characters', () => {
    expect(tokenize('x^2 + 1e-3').map((t) => [t.text, t.column])).toEqual([
      ['x', 1], ['^', 2], ['2', 3], ['+', 5], ['1e-3', 7], ['', 11],
    ]);
  });
});

describe('parseFormula: errors', () => {
  const fails = (text: string, message: RegExp, column: number, s: ReadonlyMap<string, Expr> = scope) => {
    let caught: unknown;
    try {
      parseFormula(text, s);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DarbouxError);
    const err = caught as DarbouxError;
    expect(err.code).toBe('PARSE');
    expect(err.message).toMatch(message);
    expect(err.details.column).toBe(column);
    return err;
  };

  it('unknown names, with a suggestion when one is close', () => {
    const err = fails('x + zz', /^unknown name 'zz' at column 5 \(did you mean 'z'\?\)$/, 5);
    expect(err.details.token).toBe('zz');
    fails('x + lamda', /^unknown name 'lamda' at column 5 \(did you mean 'lam'\?\)$/, 5);
    fails('X', /^unknown name 'X' at column 1 \(did you mean 'x'\?\)$/, 1);
    fails('qqqqqq', /^unknown name 'qqqqqq' at column 1 \(known names: x, y, z, px, py, lam, a, b, c\)$/, 1);
  });

  it('unknown functions, and names used as functions', () => {
    fails('foo(x)', /^unknown function 'foo' at column 1$/, 1);
    fails('2*sinn(x)', /^unknown function 'sinn' at column 3 \(did you mean 'sin'\?\)$/, 3);
    fails('x(y)', /^'x' at column 1 is not a function/, 1);
    fails('1 + sin', /^function 'sin' at column 5 needs its argument in parentheses/, 5);
  });

  it('wrong argument counts', () => {
    fails('sin()', /^function 'sin' at column 1 takes exactly one argument, got 0$/, 1);
    fails('x + cos(x, y)', /^function 'cos' at column 5 takes exactly one argument, got 2$/, 5);
    fails('sin(x, )', /^missing argument after ',' at column 6$/, 6);
  });

  it('unbalanced parentheses', () => {
    fails('x*(y+1', /^unbalanced parenthesis: '\(' at column 3 is never closed$/, 3);
    fails('(x + y) * 2)', /^unbalanced parenthesis: '\)' at column 12 has no match$/, 12);
    fails('x + y) * (2', /^unbalanced parenthesis: '\)' at column 6 has no match$/, 6);
    fails('sin((x)', /^unbalanced parenthesis: '\(' at column 4 is never closed$/, 4);
    fails('()', /^empty parentheses '\(\)' at column 1$/, 1);
  });

  it('missing operands', () => {
    fails('x + * y', /^missing operand after '\+' at column 3$/, 3);
    fails('x +', /^missing operand after '\+' at column 3 \(the formula ends there\)$/, 3);
    fails('2^', /^missing operand after '\^' at column 2/, 2);
    fails('-', /^missing operand after '-' at column 1/, 1);
    fails('* x', /^missing operand before '\*' at column 1$/, 1);
    fails('(/x)', /^missing operand before '\/' at column 2$/, 2);
  });

  it('stray characters and malformed numbers', () => {
    fails('x#y', /^stray character '#' at column 2$/, 2);
    fails('x \u2212 y', /^stray character '\u2212' at column 3 \(use '-' for minus\)$/, 3);
    fails('\u{1d465} + x', /^stray character '\u{1d465}' at column 1$/u, 1);
    fails('x + \u{1d465}', /^stray character '\u{1d465}' at column 5$/u, 5);
    fails('q[0]', /^stray character '\[' at column 2/, 2);
    fails('x**2', /^'\*\*' at column 2 is not an operator: use '\^' for powers$/, 2);
    fails('1e+ 2', /^malformed number '1e\+' at column 1/, 1);
    fails('x = 2', /^stray character '=' at column 3$/, 3);
  });

  it('missing operators', () => {
    fails('2 x', /^expected an operator between '2' and 'x' at column 3$/, 3);
    fails('2x', /^expected an operator between '2' and 'x' at column 2$/, 2);
    fails('(x)(y)', /^expected an operator between '\)' and '\(' at column 4$/, 4);
    fails('x sin(y)', /^expected an operator between 'x' and 'sin' at column 3$/, 3);
    fails('1.2.3', /^expected an operator between '1.2' and '.3' at column 4$/, 4);
    fails('x, y', /^unexpected ',' at column 2/, 2);
    fails('(x, y)', /^unexpected ',' at column 3/, 3);
  });

  it('empty formulas', () => {
    fails('', /^empty formula/, 1);
    fails('   ', /^empty formula/, 1);
  });

  it('reports deep nesting as a parse error, not a stack overflow', () => {
    fails(`${'('.repeat(5000)}x${')'.repeat(5000)}`, /^formula nested too deeply/, 1001);
    fails(`${'-'.repeat(5000)}x`, /^formula nested too deeply/, 1001);
    expect(parse(`${'('.repeat(900)}x${')'.repeat(900)}`)).toBe(x);
  });

  it('treats hostile names as data: not identifiers in a formula, printed verbatim from a scope', () => {
    const evil = 'x);process.exit(1);//';
    fails(evil, /^stray character ';' at column 3$/, 3);
    fails('x)', /^unbalanced parenthesis: '\)' at column 2 has no match$/, 2);
    fails('__proto__ + constructor', /^unknown name '__proto__' at column 1/, 1);
    fails('toString', /^unknown name 'toString'/, 1);
    // Given as a display name, it is only text.
    expect(printExpr(add(x, mul(2, y)), { name: (n) => (n === x ? evil : n === y ? 'y' : undefined) })).toBe(`${evil} + 2*y`);
  });
});

describe('parseFormula ∘ printExpr is the identity on interned expressions', () => {
  const dof = 3;
  const names = new Map<Expr, string>();
  const roundTripScope = new Map<string, Expr>();
  for (let i = 0; i < dof; i++) {
    names.set(index(q, i), `x${i}`);
    names.set(index(p, i), `px${i}`);
  }
  names.set(lam, 'lam');
  for (const [node, name] of names) roundTripScope.set(name, node);
  const name = (n: Expr) => names.get(n);
  const check = (e: Expr) => {
    const text = printExpr(e, { name });
    const back = parseFormula(text, roundTripScope);
    if (back !== e) throw new Error(`'${text}' parsed to '${printExpr(back, { name })}'`);
  };

  it('for random smooth expressions', () => {
    fc.assert(fc.property(arbitraryExpr([...names.keys()], 5), check), { numRuns: 1000 });
  });

  it('for random expressions over every printable op, including poles and awkward constants', () => {
    const leaf = fc.oneof(
      fc.constantFrom(...names.keys()),
      fc.double().map((v) => constant(v)), // any double: -0, ±Infinity, NaN, subnormals, 1e300
      fc.integer({ min: -3, max: 3 }).map((v) => constant(v)),
    );
    const unary = [neg, sin, cos, tan, exp, log, sqrt, tanh, sinh, cosh, abs, sign, softplus, sigmoid];
    const binary = [add, sub, mul, div, pow];
    const { tree } = fc.letrec<{ tree: Expr }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.tuple(fc.constantFrom(...unary), tie('tree')).map(([f, a]) => f(a)),
        fc.tuple(fc.constantFrom(...binary), tie('tree'), tie('tree')).map(([f, a, b]) => f(a, b)),
        fc.tuple(tie('tree'), fc.integer({ min: -64, max: 64 })).map(([a, n]) => powi(a, n)),
      ),
    }));
    fc.assert(fc.property(tree, check), { numRuns: 2000 });
  });

  it.each<[string, () => Expr]>([
    ['-x^2', () => neg(powi(x, 2))],
    ['(-x)^2', () => powi(neg(x), 2)],
    ['x^-2', () => powi(x, -2)],
    ['-(x*y)', () => neg(mul(x, y))],
    ['x + (-y/z)', () => add(x, div(neg(y), z))],
    ['x^(y - z)', () => pow(x, sub(y, z))],
    ['x^-y^2', () => pow(x, neg(powi(y, 2)))],
    ['(x^y)^z', () => pow(pow(x, y), z)],
    ['(x^10)^10', () => powi(powi(x, 10), 10)],
    ['x - (y - z)', () => sub(x, sub(y, z))],
    ['x/(y*z)', () => div(x, mul(y, z))],
    ['x*(y/z)', () => mul(x, div(y, z))],
    ['x/(-y)', () => div(x, neg(y))],
    ['x/(-0)', () => div(x, constant(-0))],
    ['(1/0) + x', () => add(x, constant(Infinity))],
    ['(-1/0)*x', () => mul(x, constant(-Infinity))],
    ['(0/0)*x', () => mul(constant(NaN), x)],
    ['(-2)^x', () => pow(-2, x)],
    ['sin(-x)', () => sin(neg(x))],
  ])('prints %s and reads it back', (text, build) => {
    const e = build();
    expect(printExpr(e, { name: (n) => (n === x ? 'x' : n === y ? 'y' : n === z ? 'z' : undefined) })).toBe(text);
    expect(parseFormula(text, new Map([['x', x], ['y', y], ['z', z]]))).toBe(e);
  });
});
