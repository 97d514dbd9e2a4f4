/**
 * The WebAssembly SIMD lane runner of the CPU backend (src/codegen/emit-wasm-stepper.ts, lane-runner.ts): against the
 * JS runner, element by element with Object.is (the same f64 operations in the same order must give the same bits),
 * on random Hamiltonians built from the ops WebAssembly has exactly, for every explicit method, with records,
 * windows, partial blocks, time and parameters; escaping trajectories fail at the same step with the same state;
 * programs it cannot run fall back to the JS runner automatically (and say why), `cpuRunner` forces either.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, Hamiltonian, henonHeiles, parse, type RunResult } from '../../src/index.js';
import { abs, add, constant, div, dot, index, input, mul, neg, powi, sqrt, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { stepProgram } from '../../src/integrators/methods.js';
import { compileJsRunner, JS_FIXED_POINT } from '../../src/codegen/emit-js-stepper.js';
import { compileLaneRunner } from '../../src/codegen/lane-runner.js';
import { parseLineExpr, parseStatements } from '../../src/codegen/straight-line.js';
import { arbitrarySeparableHamiltonian } from './arbitrary.js';
import { differences, escapingBatch, refusal } from './run-fixtures.js';


/** Expects two run results to be the same bit for bit: state, record and status. */
function expectSameBits(js: RunResult, wasm: RunResult): void {
  expect(differences(wasm.q, js.q)).toEqual([]);
  expect(differences(wasm.p, js.p)).toEqual([]);
  expect(wasm.record === undefined).toBe(js.record === undefined);
  if (js.record) expect([differences(wasm.record!.q, js.record.q), differences(wasm.record!.p, js.record.p)]).toEqual([[], []]);
  expect(wasm.status).toEqual(js.status);
}

/** A state of `batch` trajectories with entries in [-r, r] (deterministic). */
function start(batch: number, dof: number, r: number, seed: number) {
  const at = (i: number) => r * Math.sin(1.7 * i + seed) * Math.cos(0.3 * i * seed);
  return { q0: Array.from({ length: batch * dof }, (_, i) => at(i)), p0: Array.from({ length: batch * dof }, (_, i) => at(i + 7919)) };
}

/** Runs `h` with the JS and the lane runner (one thread) and expects the same bits; returns the lane stepper's runner kind. */
async function compareRunners(h: Hamiltonian, method: string, dt: number, options: { batch: number; steps: number; record?: number; r?: number; seed?: number }) {
  const { q0, p0 } = start(options.batch, h.dof, options.r ?? 0.5, options.seed ?? 1);
  const js = await compile(h, { method, dt, backend: 'cpu', threads: 1, cpuRunner: 'js' });
  const wasm = await compile(h, { method, dt, backend: 'cpu', threads: 1 });
  const run = { q0, p0, batch: options.batch, steps: options.steps, record: options.record ?? 0, onFailure: 'report' as const };
  const [a, b] = [await js.run(run), await wasm.run(run)];
  js.dispose();
  wasm.dispose();
  if (wasm.cpuRunner!.kind === 'wasm') expectSameBits(a, b);
  return wasm.cpuRunner!;
}

/** Random smooth expressions from the ops WebAssembly has exactly: + − × ÷, powers, sqrt, abs (no poles). */
function exactExpr(leaves: readonly Expr[], depth: number): fc.Arbitrary<Expr> {
  const coefficient = fc.constantFrom(1, -1, 2, 0.5, -1.5, 3 / 7, 0.1);
  let g: fc.Arbitrary<Expr> = fc.oneof(fc.constantFrom(...leaves), coefficient.map((c) => constant(c)));
  for (let d = 0; d < depth; d++) {
    const a = g;
    g = fc.oneof(
      { arbitrary: a, weight: 1 },
      { arbitrary: fc.tuple(a, a).map(([x, y]) => add(x, y)), weight: 3 },
      { arbitrary: fc.tuple(a, a).map(([x, y]) => sub(x, y)), weight: 2 },
      { arbitrary: a.map(neg), weight: 1 },
      { arbitrary: fc.tuple(a, a).map(([x, y]) => mul(x, y)), weight: 3 },
      { arbitrary: fc.tuple(coefficient, a).map(([c, x]) => mul(c, x)), weight: 2 },
      { arbitrary: fc.tuple(a, a).map(([x, y]) => div(x, add(1, mul(y, y)))), weight: 1 },
      { arbitrary: fc.tuple(a, fc.integer({ min: 2, max: 4 })).map(([x, n]) => powi(x, n)), weight: 2 },
      { arbitrary: a.map((x) => sqrt(add(1, mul(x, x)))), weight: 1 },
      { arbitrary: a.map(abs), weight: 1 },
    );
  }
  return g;
}

/** Random Hamiltonians ½|p|² + f(q, p) (separable ones: ½|p|² + g(p) + f(q)) over the exact ops. */
function exactHamiltonians(dof: number, separable: boolean, runs: number, seed: number): Hamiltonian[] {
  const q = input('q', 'q', [dof]), p = input('p', 'p', [dof]);
  const qs = Array.from({ length: dof }, (_, i) => index(q, i)), ps = Array.from({ length: dof }, (_, i) => index(p, i));
  const kinetic = mul(0.5, dot(p, p));
  const arb = separable
    ? fc.tuple(exactExpr(qs, 3), exactExpr(ps, 2)).map(([v, t]) => add(add(kinetic, mul(0.1, t)), v))
    : exactExpr([...qs, ...ps], 3).map((f) => add(kinetic, mul(0.1, f)));
  return fc.sample(arb, { numRuns: runs, seed }).map((H) => new Hamiltonian({ H, q, p }));
}

describe('CPU lane runner (WebAssembly SIMD): the same bits as the JS runner', () => {
  it('random separable Hamiltonians of exact ops, every explicit splitting method, partial blocks and records', async () => {
    const methods = ['leapfrog', 'symplecticEulerA', 'symplecticEulerB', 'yoshida4', 'rk4'];
    let k = 0;
    for (const h of exactHamiltonians(2, true, 10, 11)) {
      const method = methods[k++ % methods.length]!;
      const info = await compareRunners(h, method, 0.01, { batch: 7, steps: 60, record: 7, seed: k });
      expect(info.kind, `${method}: ${info.reason}`).toBe('wasm');
    }
  });

  it('random non-separable Hamiltonians of exact ops with rk4 (3 degrees of freedom), and with leapfrog fall back (implicit)', async () => {
    for (const h of exactHamiltonians(3, false, 6, 5)) {
      const info = await compareRunners(h, 'rk4', 0.01, { batch: 5, steps: 40, record: 0, seed: 3 });
      expect(info.kind, info.reason).toBe('wasm');
      const implicit = await compareRunners(h, 'midpoint', 0.01, { batch: 2, steps: 3 });
      expect(implicit).toEqual({ kind: 'js', lanes: 1, reason: 'midpoint is implicit (a fixed-point solve per step)' });
    }
  });

  it("the project's random separable Hamiltonians: equal where translated, otherwise the JS runner with the function named", async () => {
    const samples = fc.sample(arbitrarySeparableHamiltonian(2, 2), { numRuns: 24, seed: 7 });
    const kinds = { wasm: 0, js: 0 };
    for (const s of samples) {
      const info = await compareRunners(new Hamiltonian({ H: s.H, q: s.q, p: s.p }), 'leapfrog', 0.01, { batch: 5, steps: 30, record: 4 });
      kinds[info.kind]++;
      if (info.kind === 'js') expect(info.reason).toMatch(/^Math\.\w+ has no exact WebAssembly instruction$/);
    }
    expect(kinds.wasm).toBeGreaterThan(0);
    expect(kinds.js).toBeGreaterThan(0);
  });

  it('escaping trajectories fail at the same step with the same state, record and status (blocks mixing failing and finite lanes)', async () => {
    const { q0, p0, batch } = escapingBatch();
    const h = henonHeiles().hamiltonian;
    for (const method of ['leapfrog', 'yoshida4', 'rk4']) {
      const js = await compile(h, { method, dt: 0.05, backend: 'cpu', threads: 1, cpuRunner: 'js' });
      const wasm = await compile(h, { method, dt: 0.05, backend: 'cpu', threads: 1, cpuRunner: 'wasm' });
      const run = { q0, p0, batch, steps: 2000, record: 50, onFailure: 'report' as const };
      const [a, b] = [await js.run(run), await wasm.run(run)];
      expect(a.status!.filter((s) => s.ok === false).length, method).toBe(2);
      expectSameBits(a, b);
      const thrown = [await refusal(() => js.run({ q0, p0, batch, steps: 2000 })), await refusal(() => wasm.run({ q0, p0, batch, steps: 2000 }))];
      expect(thrown[1]!.code).toBe('NONFINITE');
      expect(thrown[1]!.message).toBe(thrown[0]!.message);
      js.dispose();
      wasm.dispose();
    }
  });

  it('windows of trajectories and steps, time-dependent H and parameters passed at run time give the JS runner’s bits', () => {
    const h = parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2 + py^2)/2 + a*(x^2 + y^2)/2 + b*t*x*y - x^2*y/(1 + t^2)', params: { a: 1.2, b: 0.3 }, time: 't' });
    const program = stepProgram(h, 'leapfrog'); // parameters not specialised: read from `params` on every call
    const js = compileJsRunner(program);
    const batch = 11, steps = 37, { q0, p0 } = start(batch, 2, 0.4, 2);
    const params = [Float64Array.of(0.9), Float64Array.of(-0.7)];
    const run = (f: typeof js, windows: [number, number, number, number][]) => {
      const Q = Float64Array.from(q0), P = Float64Array.from(p0), rQ = new Float64Array(12 * batch * 2), rP = new Float64Array(12 * batch * 2);
      for (const [b0, b1, s0, s1] of windows) f(Q, P, params, batch, steps, 0.03, 0.25, 3, rQ, rP, b0, b1, s0, s1);
      return [Q, P, rQ, rP];
    };
    const whole = run(js, [[0, batch, 0, steps]]);
    expect(whole[2]!.some((x) => x !== 0)).toBe(true);
    for (const lanes of [2, 4, 8, 'auto'] as const) {
      const lane = compileLaneRunner(program, JS_FIXED_POINT, js, lanes);
      if (!('runner' in lane)) throw new Error(lane.reason);
      expect(lane.runner.lanes).toBe(lanes === 'auto' ? 8 : lanes);
      const windowed = run(lane.runner, [[0, 3, 0, steps], [3, 5, 0, 10], [3, 5, 10, 11], [3, 5, 11, steps], [5, batch, 0, 20], [5, batch, 20, steps]]);
      whole.forEach((a, k) => expect(differences(windowed[k]!, a), `${lanes} lanes, array ${k}`).toEqual([]));
    }
  });
});

describe('CPU lane runner: choice and fallback', () => {
  it("picks the lane runner by default, 'js' forces the JS runner, 'wasm' refuses a program without one", async () => {
    const h = henonHeiles().hamiltonian;
    const auto = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    expect(auto.cpuRunner).toEqual({ kind: 'wasm', lanes: expect.any(Number) });
    const js = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu', cpuRunner: 'js' });
    expect(js.cpuRunner?.kind).toBe('js');
    const trig = parse({ q: ['x'], p: ['px'], H: 'px^2/2 - cos(x)' });
    const fallback = await compile(trig, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    expect(fallback.cpuRunner).toEqual({ kind: 'js', lanes: 1, reason: 'Math.sin has no exact WebAssembly instruction' });
    const refused = await refusal(() => compile(trig, { method: 'leapfrog', dt: 0.01, backend: 'cpu', cpuRunner: 'wasm' }));
    expect(refused.code).toBe('OPTION');
    expect(refused.message).toContain('Math.sin');
    expect((await refusal(() => compile(h, { dt: 0.01, backend: 'cpu', cpuRunner: 'simd' as 'wasm' }))).code).toBe('OPTION');
    for (const st of [auto, js, fallback]) st.dispose();
  });

  it('reads back straight-line code exactly and refuses what is not', () => {
    expect(parseLineExpr('((-2.5) - -x) / Math.max(a, b, c)')).toEqual({
      kind: 'bin', op: '/',
      left: { kind: 'bin', op: '-', left: { kind: 'neg', arg: { kind: 'num', value: 2.5 } }, right: { kind: 'neg', arg: { kind: 'ref', name: 'x' } } },
      right: { kind: 'call', fn: 'max', args: ['a', 'b', 'c'].map((name) => ({ kind: 'ref', name })) },
    });
    expect(parseLineExpr('a - b - c * d')).toEqual({
      kind: 'bin', op: '-',
      left: { kind: 'bin', op: '-', left: { kind: 'ref', name: 'a' }, right: { kind: 'ref', name: 'b' } },
      right: { kind: 'bin', op: '*', left: { kind: 'ref', name: 'c' }, right: { kind: 'ref', name: 'd' } },
    });
    expect(parseLineExpr('1e-300')).toEqual({ kind: 'num', value: 1e-300 });
    expect(parseLineExpr('Math.exp(x)')).toEqual({ reason: 'Math.exp has no exact WebAssembly instruction' });
    expect(parseLineExpr('a3[i0]')).toHaveProperty('reason');
    expect(parseLineExpr('x > 0 ? x : 0')).toHaveProperty('reason');
    expect(parseStatements(['  const t1 = (x * y);', '  c2 = t1;'])).toEqual([
      { name: 't1', declare: true, expr: { kind: 'bin', op: '*', left: { kind: 'ref', name: 'x' }, right: { kind: 'ref', name: 'y' } } },
      { name: 'c2', declare: false, expr: { kind: 'ref', name: 't1' } },
    ]);
    expect(parseStatements(['for (let i0 = 0; i0 < 20; i0++) {'])).toHaveProperty('reason');
  });
});
