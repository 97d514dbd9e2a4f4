/**
 * Every op record, checked against itself: for each op of the registry, on random inputs in its domain,
 * (a) the IR's f64 evaluation (the op's `evaluate`/`apply`) equals the emitted JavaScript;
 * (b) reverse mode is the transpose of forward mode: ⟨c, J t⟩ = ⟨Jᵀ c, t⟩ (VJP ≡ transposed JVP);
 * (c) forward mode equals central finite differences of the evaluation.
 * And the formula parser and the builders know every one-argument function of the registry.
 */
import { describe, expect, it } from 'vitest';
import { input, type Operand } from '../../src/ir/build.js';
import * as builders from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { make } from '../../src/ir/make.js';
import { isUnaryFunction, opDef, opNames, unaryFunctionNames } from '../../src/ir/op.js';
import { FORMULA_FUNCTIONS, parseFormula } from '../../src/ir/parser.js';
import { size } from '../../src/ir/shape.js';
import { jvp } from '../../src/autodiff/jvp.js';
import { vjp } from '../../src/autodiff/vjp.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { parse } from '../../src/system/parse.js';
import { DarbouxError } from '../../src/errors.js';
import { opCases, sampleInputs, seededRandom, type OpCase } from './op-cases.js';

const SAMPLES = 4;

/** Evaluates `outputs` at `values` of `inputs` with the reference evaluator. */
function evaluate(inputs: readonly Expr[], outputs: readonly Expr[], values: readonly Float64Array[]): Float64Array[] {
  const out = outputs.map((o) => new Float64Array(size(o.shape)));
  graphEvaluator(inputs, outputs)(values, out);
  return out;
}

const dotFlat = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const random = (shape: readonly number[], rng: () => number) => Float64Array.from({ length: size(shape) }, () => 2 * rng() - 1);

function checkEvaluationEqualsJs(c: OpCase, rng: () => number): void {
  const js = compileJs(c.inputs, c.outputs);
  const reference = graphEvaluator(c.inputs, c.outputs);
  if (c.oneLoop) expect((js.source.match(/for \(/g) ?? []).length, `${c.label}: sibling reductions share one loop`).toBe(1);
  for (let s = 0; s < SAMPLES; s++) {
    const values = sampleInputs(c, rng);
    const want = c.outputs.map((o) => new Float64Array(size(o.shape)));
    const got = c.outputs.map((o) => new Float64Array(size(o.shape)).fill(NaN));
    reference(values, want);
    js(values, got);
    want.forEach((w, k) =>
      w.forEach((v, i) => {
        const g = got[k]![i]!;
        if (!(Number.isFinite(v) && Math.abs(g - v) <= 1e-12 * Math.max(1, Math.abs(v)))) {
          throw new Error(`${c.label}: output ${k}[${i}] evaluates to ${v}, emitted JS gives ${g}\n${js.source}`);
        }
      }),
    );
  }
}

/** Tangent seeds, cotangent inputs, the JVP of the outputs and the VJP onto the inputs. */
function derivatives(c: OpCase) {
  const tangents = c.inputs.map((x, k) => input('aux', `tangent${k}`, x.shape));
  const cotangents = c.outputs.map((o, k) => input('aux', `cotangent${k}`, o.shape));
  const forward = jvp(c.outputs, new Map(c.inputs.map((x, k) => [x, tangents[k]!])));
  const reverse = vjp(c.outputs, cotangents, c.inputs);
  return { tangents, cotangents, forward, reverse };
}

function checkVjpIsTransposedJvp(c: OpCase, rng: () => number): void {
  const { tangents, cotangents, forward, reverse } = derivatives(c);
  const present = forward.map((f, k) => f ?? make('const', [], { value: 0, shape: [...c.outputs[k]!.shape] }));
  const leaves = [...c.inputs, ...tangents, ...cotangents];
  const f = graphEvaluator(leaves, [...present, ...reverse]);
  for (let s = 0; s < SAMPLES; s++) {
    const values = [...sampleInputs(c, rng), ...tangents.map((t) => random(t.shape, rng)), ...cotangents.map((t) => random(t.shape, rng))];
    const out = [...present, ...reverse].map((o) => new Float64Array(size(o.shape)));
    f(values, out);
    const cotangentValues = values.slice(c.inputs.length + tangents.length);
    const tangentValues = values.slice(c.inputs.length, c.inputs.length + tangents.length);
    const lhs = out.slice(0, present.length).reduce((acc, jt, k) => acc + dotFlat(cotangentValues[k]!, jt), 0);
    const rhs = out.slice(present.length).reduce((acc, jc, k) => acc + dotFlat(jc, tangentValues[k]!), 0);
    const scale = 1 + Math.abs(lhs) + Math.abs(rhs);
    if (!(Math.abs(lhs - rhs) <= 1e-11 * scale)) throw new Error(`${c.label}: ⟨c, J t⟩ = ${lhs} but ⟨Jᵀc, t⟩ = ${rhs}`);
  }
}

function checkJvpAgainstFiniteDifferences(c: OpCase, rng: () => number): void {
  if (c.inputs.length === 0) return; // constants: no direction to differentiate in
  const { tangents, forward } = derivatives(c);
  const present = forward.map((f, k) => f ?? make('const', [], { value: 0, shape: [...c.outputs[k]!.shape] }));
  const h = 1e-5;
  for (let s = 0; s < SAMPLES; s++) {
    const x = sampleInputs(c, rng);
    const t = tangents.map((tn) => random(tn.shape, rng));
    const shifted = (sign: number) => x.map((v, k) => v.map((xi, i) => xi + sign * h * t[k]![i]!));
    const plus = evaluate(c.inputs, c.outputs, shifted(1));
    const minus = evaluate(c.inputs, c.outputs, shifted(-1));
    const analytic = evaluate([...c.inputs, ...tangents], present, [...x, ...t]);
    analytic.forEach((a, k) =>
      a.forEach((v, i) => {
        const fd = (plus[k]![i]! - minus[k]![i]!) / (2 * h);
        if (!(Math.abs(fd - v) <= 1e-6 * (1 + Math.abs(v)))) throw new Error(`${c.label}: JVP ${v}, finite differences ${fd} (output ${k}[${i}])`);
      }),
    );
  }
}

describe('op records: every registered op', () => {
  const names = opNames();

  it('the registry holds the known ops, and each one has test cases built by it', () => {
    for (const known of ['const', 'tensor', 'input', 'add', 'mul', 'powi', 'sin', 'tanh', 'softplus', 'dot', 'sum', 'index', 'stack', 'matTvec', 'outer']) {
      expect(names).toContain(known);
    }
    for (const name of names) {
      const cases = opCases(name); // throws for an op without a generator
      expect(cases.length, name).toBeGreaterThan(0);
      for (const c of cases) expect(c.node.op, c.label).toBe(name);
    }
    // Reductions that share one loop with their siblings, so the one-loop check runs for each.
    for (const name of ['dot', 'sum', 'matTvec']) expect(opCases(name).some((c) => c.oneLoop), name).toBe(true);
  });

  for (const name of names) {
    describe(name, () => {
      const cases = opCases(name);
      it('evaluation ≡ emitted JavaScript (f64, 1e-12 relative)', () => {
        const rng = seededRandom(101);
        for (const c of cases) checkEvaluationEqualsJs(c, rng);
      });
      it('VJP ≡ transposed JVP', () => {
        const rng = seededRandom(202);
        for (const c of cases) checkVjpIsTransposedJvp(c, rng);
      });
      it('JVP ≡ central finite differences', () => {
        const rng = seededRandom(303);
        for (const c of cases) checkJvpAgainstFiniteDifferences(c, rng);
      });
    });
  }
});

describe('one-argument functions: parser and builders from the registry', () => {
  const known = ['sqrt', 'exp', 'log', 'sin', 'cos', 'tan', 'tanh', 'sinh', 'cosh', 'abs', 'sign', 'softplus', 'sigmoid'];
  const x = input('q', 'xq', []);
  const scope = new Map([['x', x]]);

  it('the registry marks exactly the elementwise one-argument calls, known ones included', () => {
    const fromRegistry = unaryFunctionNames();
    for (const name of known) expect(fromRegistry).toContain(name);
    for (const name of ['neg', 'powi', 'add', 'sum', 'dot', 'index', 'const']) expect(fromRegistry).not.toContain(name);
    expect(fromRegistry).toEqual(opNames().filter((n) => isUnaryFunction(opDef(n))));
  });

  it('the formula parser accepts every one-argument function of the registry, and nothing else', () => {
    expect([...FORMULA_FUNCTIONS.keys()].sort()).toEqual(unaryFunctionNames().sort());
    for (const name of [...known, ...unaryFunctionNames()]) {
      expect(parseFormula(`${name}(x)`, scope), name).toBe(make(name, [x]));
    }
    for (const name of ['neg', 'powi', 'sum', 'dot', 'frobnicate']) {
      expect(() => parseFormula(`${name}(x)`, scope), name).toThrow(/unknown function/);
    }
  });

  it('each one-argument function has a builder of its name in build.ts', () => {
    const table = builders as unknown as Record<string, ((a: Operand) => Expr) | undefined>;
    for (const name of [...known, ...unaryFunctionNames()]) {
      expect(typeof table[name], name).toBe('function');
      expect(table[name]!(x), name).toBe(make(name, [x]));
    }
  });

  it('parse() refuses every function name as a variable name', () => {
    for (const name of [...known, ...unaryFunctionNames()]) {
      let error: unknown;
      try {
        parse({ q: [name], p: ['p'], H: 'p^2/2' });
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(DarbouxError);
      expect((error as DarbouxError).message, name).toMatch(/is a function name/);
    }
  });
});
