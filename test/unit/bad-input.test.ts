/**
 * Bad input (issue 13 item 7): every refusal a DarbouxError with a stable code, a message naming the value (user
 * text escaped) and structured details; Unicode names work like ASCII ones (results compared bit for bit).
 */
import { describe, expect, it } from 'vitest';
import { add, compile, lagrangian, DarbouxError, fit, hamiltonian, hnn, mlpField, mul, param, parse, phaseSpace, sum, type Stepper } from '../../src/index.js';
import { escapeText, showValue } from '../../src/errors.js';
import { isFormulaName } from '../../src/ir/tokenizer.js';
import { checkF32StepSize, stepperLifetime } from '../../src/backends/input-checks.js';
import { refusal } from './run-fixtures.js';

const oscillator = (k = 1) => parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2 + py^2)/2 + k*(x^2 + y^2)/2 + x*y/4', params: { k } });

async function cpu(h = oscillator(), method = 'leapfrog'): Promise<Stepper> {
  return compile(h, { method, dt: 0.05, backend: 'cpu' });
}

describe('Unicode names', () => {
  it('θ, p_θ, x₁, ω, x′, σ² are names and give the same Hamiltonian as ASCII ones', async () => {
    const ascii = parse({ q: ['a', 'b'], p: ['pa', 'pb'], H: '(pa^2 + pb^2)/2 - w^2*cos(a) + s*b^2/2', params: { w: 1.5, s: 0.7 } });
    const unicode = parse({ q: ['θ', 'x₁'], p: ['p_θ', 'x′'], H: '(p_θ^2 + x′^2)/2 - ω^2*cos(θ) + σ²*x₁^2/2', params: { ω: 1.5, 'σ²': 0.7 } });
    // The same graph up to the parameter names: energies and whole runs agree bit for bit.
    expect(unicode.energy([0.3, -0.2], [0.1, 0.4])).toBe(ascii.energy([0.3, -0.2], [0.1, 0.4]));
    const [sa, su] = [await cpu(ascii), await cpu(unicode)];
    const opts = { q0: [0.3, -0.2, 1, 0.5], p0: [0.1, 0.4, 0, -0.3], batch: 2, steps: 200 };
    const [ra, ru] = [await sa.run(opts), await su.run(opts)];
    expect([...ru.q, ...ru.p]).toEqual([...ra.q, ...ra.p]);
    expect(Object.keys(unicode.paramsByName()).sort()).toEqual(['σ²', 'ω']);
    expect(Object.keys((await su.vjp({ ...opts, steps: 5, dq: [1, 0, 0, 1], dp: [0, 1, 1, 0] })).dparams).sort()).toEqual(['σ²', 'ω']);
  });

  it('names that are words of the generated JavaScript or WGSL are safe (never emitted as identifiers)', async () => {
    const words = parse({ q: ['var', 'fn'], p: ['let', 'return'], H: '(let^2 + return^2)/2 + k*(var^2 + fn^2)/2 + var*fn/4', params: { k: 1 } });
    const opts = { q0: [0.5, -0.1], p0: [0.2, 0.3], steps: 100 };
    const [a, b] = [await (await cpu()).run(opts), await (await cpu(words)).run(opts)];
    expect([...b.q, ...b.p]).toEqual([...a.q, ...a.p]);
  });

  it('hostile names stay refused with SPEC, the message showing them escaped', async () => {
    const hostile = ['x\u200b', '\u200dx', 'a b', 'x+y', '', '1x', 'x\u0000', 'x\u202e', 'x·y', '\u{1d465}', '__proto__', 'sin', 'x\ny'];
    for (const name of hostile) {
      // __proto__ and sin are identifiers, refused by parse as an object key and a function name.
      expect(isFormulaName(name), JSON.stringify(name)).toBe(name === '__proto__' || name === 'sin');
      const err = await refusal(() => parse({ q: [name], p: ['px'], H: 'px^2' }));
      expect(err.code).toBe('SPEC');
      expect(err.details.name).toBe(name);
      expect(err.message).not.toMatch(/[\u0000-\u001f\u200b-\u200f\u202a-\u202e]/);
    }
    expect((await refusal(() => parse({ q: ['x\u200b'], p: ['px'], H: 'px^2' }))).message).toContain("'x\\u200b'");
  });

  it('x² with only x declared is an unknown name with a hint for powers', async () => {
    const err = await refusal(() => parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x²' }));
    expect(err.code).toBe('PARSE');
    expect(err.details.column).toBe(10);
    expect(err.message).toMatch(/unknown name 'x²' at column 10 \(did you mean 'x'\?\); for a power write '\^'/);
  });

  it('stray control characters in a formula are shown escaped', async () => {
    const err = await refusal(() => parse({ q: ['x'], p: ['px'], H: 'px + x\u0000' }));
    expect(err.message).toBe("stray character '\\u0000' at column 7");
  });
});

describe('constants that overflow or are undefined', () => {
  const cases: [string, number, string][] = [
    ['px^2/2 + 1e400*x^2', 10, '1e400'],
    ['px^2/2 + x^2/(1/0)', 16, '/'],
    ['px^2/2 + sqrt(-1)*x', 10, 'sqrt'],
    ['px^2/2 + log(0)*x^2', 10, 'log'],
    ['px^2/2 + 10^400*x', 12, '^'],
    ['px^2/2 + x*(0/0)', 14, '/'],
  ];
  for (const [H, column, token] of cases) {
    it(`${H} → PARSE at column ${column}`, async () => {
      const err = await refusal(() => parse({ q: ['x'], p: ['px'], H }));
      expect(err.code).toBe('PARSE');
      expect(err.details).toMatchObject({ column, token });
      expect(err.message).toContain(`column ${column}`);
      expect(Number.isFinite(err.details.value)).toBe(false);
    });
  }

  it('finite constants near the edge still parse (1e308, exp(700))', () => {
    const h = parse({ q: ['x'], p: ['px'], H: '1e308*x + exp(700)*px' });
    expect([h.energy([1], [0]), h.energy([0], [1])]).toEqual([1e308, Math.exp(700)]);
  });
});

describe('parameter values', () => {
  const bad: [unknown, number | undefined][] = [[NaN, undefined], [Infinity, undefined], ['1', undefined], [null, undefined]];
  for (const [value] of bad) {
    it(`withParams({ k: ${showValue(value)} }) → SPEC, as parse does`, async () => {
      const viaParse = await refusal(() => parse({ q: ['x'], p: ['px'], H: 'px^2/2 + k*x^2', params: { k: value as number } }));
      const viaWith = await refusal(() => oscillator().withParams({ k: value as number }));
      expect([viaParse.code, viaWith.code]).toEqual(['SPEC', 'SPEC']);
      expect(viaWith.details.name).toBe('k');
    });
  }

  it('a tensor parameter names the bad index (DSL)', async () => {
    const s = phaseSpace(1);
    const H = add(mul(0.5, mul(s.ps[0]!, s.ps[0]!)), sum(mul(param('w', [3]), s.qs[0]!)));
    const err = await refusal(() => hamiltonian(s, H, { params: { w: [1, NaN, 2] } }));
    expect(err.code).toBe('SPEC');
    expect(err.details).toMatchObject({ name: 'w', index: 1 });
    // A parameter that is not given is missing, even when it is the name of an Object.prototype member.
    const c = await refusal(() => hamiltonian(s, mul(param('constructor'), s.qs[0]!)));
    expect(c.message).toMatch(/parameter 'constructor' has no value/);
  });
});

describe('run, vjp and jacobian inputs', () => {
  const base = { q0: [1, 0, 0.5, 0.2], p0: [0, 1, 0.1, 0], batch: 2, steps: 10 };
  const holey: number[] = [1, 0, 0.5, 0.2];
  delete holey[2];
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['NaN in q0', { q0: [1, 0, NaN, 0.2] }, { array: 'q0', index: 2 }],
    ['Infinity in p0', { p0: [0, 1, 0.1, -Infinity] }, { array: 'p0', index: 3, value: -Infinity }],
    ['a string in q0', { q0: [1, '0', 0.5, 0.2] }, { array: 'q0', index: 1, value: '0' }],
    ['a hole in q0', { q0: holey }, { array: 'q0', index: 2, value: undefined }],
    ['NaN in a Float64Array', { p0: Float64Array.of(0, NaN, 0, 0) }, { array: 'p0', index: 1 }],
    ['q0: null', { q0: null }, { array: 'q0' }],
    ["q0: 'abcd' (a string is not an array)", { q0: 'abcd' }, { array: 'q0' }],
    ['an array-like object with a hole', { q0: { length: 4, 0: 1, 1: 0, 3: 0 } }, { array: 'q0', index: 2 }],
    ['a BigInt64Array', { q0: BigInt64Array.of(1n, 0n, 0n, 0n) }, { array: 'q0', index: 0 }],
    ['q0 too short', { q0: [1, 0] }, { array: 'q0', expected: 4, length: 2 }],
    ['t0 NaN', { t0: NaN }, { name: 't0' }],
    ["batch '2'", { batch: '2' }, { name: 'batch', value: '2' }],
    ['steps 1.5', { steps: 1.5 }, { name: 'steps', value: 1.5 }],
    ['steps 2^53 (would never end)', { steps: 2 ** 53 }, { name: 'steps' }],
    ['record -1', { record: -1 }, { name: 'record' }],
  ];
  for (const [label, change, details] of cases) {
    it(`${label} → INPUT naming it (leapfrog and midpoint alike)`, async () => {
      for (const method of ['leapfrog', 'midpoint']) {
        const st = await cpu(oscillator(), method);
        const err = await refusal(() => st.run({ ...base, ...change } as never));
        expect(err.code).toBe('INPUT');
        expect(err.details).toMatchObject(details);
      }
    });
  }

  it('run(undefined), vjp(undefined), jacobian(null, …) → INPUT, not TypeError', async () => {
    const st = await cpu();
    for (const f of [() => st.run(undefined as never), () => st.vjp(null as never), () => st.jacobian(null as never, [0, 0]), () => st.jacobian([0, 0], [0, 'x'] as never)]) {
      expect((await refusal(f)).code).toBe('INPUT');
    }
    expect((await refusal(() => st.jacobian([0, 0], [0, 0], NaN))).details).toMatchObject({ name: 'jacobian: t' });
  });

  it('vjp cotangents with NaN name the array and index', async () => {
    const st = await cpu();
    const err = await refusal(() => st.vjp({ ...base, dq: [1, 0, 0, 0], dp: [0, 0, NaN, 0] }));
    expect(err.code).toBe('INPUT');
    expect(err.details).toMatchObject({ index: 2 });
    expect(err.message).toMatch(/^vjp: dp \(the cotangent of p_N\)\[2\] is NaN/);
  });

  it('array-like objects are still accepted, as the ArrayLike contract says', async () => {
    const st = await cpu();
    const a = await st.run({ ...base, q0: { length: 4, 0: 1, 1: 0, 2: 0.5, 3: 0.2 } });
    const b = await st.run(base);
    expect([...a.q, ...a.p]).toEqual([...b.q, ...b.p]);
  });

  it('valid input still runs (the checks change nothing): matches a hand-written leapfrog', async () => {
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });
    const st = await compile(h, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    let x = 1, v = 0.5;
    for (let i = 0; i < 50; i++) {
      v -= 0.05 * x;
      x += 0.1 * v;
      v -= 0.05 * x;
    }
    const r = await st.run({ q0: [1], p0: [0.5], steps: 50 });
    expect(r.q[0]).toBeCloseTo(x, 14);
    expect(r.p[0]).toBeCloseTo(v, 14);
  });
});

describe('memory budget', () => {
  it('refuses a record over the budget before allocating, and accepts one that fits exactly', async () => {
    const st = await cpu();
    const batch = 3, steps = 40, record = 4; // 2 dof, 10 snapshots + final state: 2·8·3·2·11 bytes
    const bytes = 2 * 8 * batch * 2 * (1 + steps / record);
    const q0 = new Float64Array(batch * 2).fill(0.1), p0 = new Float64Array(batch * 2);
    const ok = await st.run({ q0, p0, batch, steps, record, memoryBudget: bytes });
    expect(ok.record!.count).toBe(10);
    const err = await refusal(() => st.run({ q0, p0, batch, steps, record, memoryBudget: bytes - 1 }));
    expect(err.code).toBe('INPUT');
    expect(err.details).toMatchObject({ bytes, budget: bytes - 1 });
  });

  it('the default budget (2 GiB) refuses 10⁴ snapshots of 10⁶ trajectories at once (no RangeError, no swap)', async () => {
    const st = await cpu(parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' }));
    const t = performance.now();
    const err = await refusal(() => st.run({ q0: new Float64Array(1e6), p0: new Float64Array(1e6), batch: 1e6, steps: 1e4, record: 1 }));
    expect(performance.now() - t).toBeLessThan(500);
    expect(err.details).toMatchObject({ bytes: 16 * 1e6 * 10001, budget: 2 ** 31 });
  });
});

describe('the GPU step size in f32 (checked before any adapter is touched)', () => {
  it('refuses dt that underflows or overflows f32 with OPTION', () => {
    for (const dt of [1e-46, 1e-39, 1e39, -1e39]) {
      let err: unknown;
      try {
        checkF32StepSize(dt);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DarbouxError);
      expect((err as DarbouxError).code).toBe('OPTION');
      expect((err as DarbouxError).details.dt).toBe(dt);
    }
    for (const dt of [1e-30, 0.01, 1e30]) checkF32StepSize(dt);
  });
});

describe('disposal', () => {
  it('jacobian, run and vjp after dispose → INPUT naming the call', async () => {
    const st = await cpu();
    st.dispose();
    for (const [call, f] of [['jacobian', () => st.jacobian([0, 0], [0, 0])], ['run', () => st.run({ q0: [0, 0], p0: [0, 0], steps: 1 })]] as const) {
      const err = await refusal(f);
      expect(err.code).toBe('INPUT');
      expect(err.details).toMatchObject({ disposed: true, call });
    }
  });

  it('a call in flight when dispose() comes fails with "disposed during run"; resources are released after it settles', async () => {
    const life = stepperLifetime();
    let finish: (v: number) => void = () => undefined;
    let released = 0;
    const stepper = life.guard({
      run: (_o: never) => new Promise<number>((resolve) => (finish = resolve)),
      vjp: async (_o: never) => 0,
      jacobian: () => new Float64Array(1),
    });
    const running = stepper.run(undefined as never);
    life.dispose(() => released++);
    expect(released).toBe(0); // the run still uses them
    finish(1);
    const err = await refusal(() => running);
    expect(err.message).toMatch(/disposed during run/);
    expect(err.details).toMatchObject({ disposed: true, during: 'run' });
    expect(released).toBe(1);
    life.dispose(() => released++);
    expect(released).toBe(1);
  });
});

describe('fit options', () => {
  const model = hnn({ dof: 1, hidden: [4], activation: 'tanh', seed: 0 });
  const data = { q: [0.1, 0.2], p: [0.3, 0.1], dqdt: [0.3, 0.1], dpdt: [-0.1, -0.2] };

  it("an unknown option names it and the closest known one ('lrr' → 'lr')", async () => {
    const err = await refusal(() => fit(model, data, { steps: 2, lr: 1e-3, lrr: 1 } as never));
    expect(err.code).toBe('OPTION');
    expect(err.details).toMatchObject({ option: 'lrr', closest: 'lr' });
    expect(err.message).toMatch(/unknown option 'lrr' \(did you mean 'lr'\?\)/);
    const far = await refusal(() => fit(model, data, { steps: 2, lr: 1e-3, zzzzzz: 1 } as never));
    expect(far.details.closest).toBeUndefined();
  });

  it('a bad value names the option in details', async () => {
    for (const [option, value] of [['lr', NaN], ['steps', 1.5], ['weightDecay', -1], ['beta1', 1]] as const) {
      const err = await refusal(() => fit(model, data, { steps: 2, lr: 1e-3, [option]: value }));
      expect(err.code).toBe('OPTION');
      expect(err.details).toEqual({ option, value });
    }
  });

  it('an unknown loss says "unknown loss" and lists them; a known loss for the wrong model keeps its message', async () => {
    const err = await refusal(() => fit(model, data, { steps: 2, lr: 1e-3, loss: 'rolout' } as never));
    expect(err.message).toBe("fit: unknown loss 'rolout' (did you mean 'rollout'?); the losses are 'derivative', 'map', 'rollout', 'acceleration'");
    const field = mlpField({ dof: 1, hidden: [4], activation: 'tanh', seed: 0 });
    expect((await refusal(() => fit(field, data, { steps: 2, lr: 1e-3, loss: 'map' }))).message).toMatch(/does not apply to a mlpField model/);
  });
});

describe('compile inputs', () => {
  it('compile(null, …), compile(h, undefined) and a string dt → SPEC / OPTION', async () => {
    expect((await refusal(() => compile(null as never, { dt: 0.1, backend: 'cpu' }))).code).toBe('SPEC');
    expect((await refusal(() => compile(oscillator(), undefined as never))).code).toBe('OPTION');
    expect((await refusal(() => compile(oscillator(), { dt: '0.1' as never, backend: 'cpu' }))).details).toMatchObject({ option: 'dt', value: '0.1' });
  });
});

describe('escaping user text in messages', () => {
  it('escapes controls, invisible format characters, odd separators and lone surrogates; keeps letters', () => {
    expect(escapeText('a\u0000b\u200bc\u2028d\u00a0e\ufeff')).toBe('a\\u0000b\\u200bc\\u2028d\\u00a0e\\ufeff');
    expect(escapeText('tag\u{e0041}')).toBe('tag\\u{e0041}');
    expect(escapeText('\ud800x')).toBe('\\ud800x');
    expect(escapeText('θ p_θ x₁ ω x′ 𝑥 é')).toBe('θ p_θ x₁ ω x′ 𝑥 é');
  });

  it('showValue never throws, whatever the value', () => {
    const hostile = { toString: 1, valueOf: () => { throw new SyntaxError('no'); } };
    expect([showValue(hostile), showValue(Object.create(null)), showValue(Symbol('s')), showValue(10n), showValue([1, 2]), showValue(new Float32Array(2))]).toEqual([
      'an object', 'an object', 'a symbol', '10n', 'an array of length 2', 'a Float32Array',
    ]);
  });
});

describe('Lagrangian runs refuse bad initial states like Hamiltonian runs', () => {
  it('NaN, strings and Infinity in q0 / v0, a missing options object → INPUT naming the array and index', async () => {
    const L = lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2' });
    const st = await compile(L, { method: 'variationalMidpoint', dt: 0.01, backend: 'cpu' });
    const refusal = async (options: unknown) => {
      try {
        await st.run(options as never);
      } catch (e) {
        expect(e).toBeInstanceOf(DarbouxError);
        return e as DarbouxError;
      }
      throw new Error('accepted');
    };
    expect((await refusal({ q0: [NaN], v0: [0], steps: 5 })).details).toMatchObject({ array: 'q0', index: 0 });
    expect((await refusal({ q0: ['1'], v0: [0], steps: 5 })).message).toMatch(/q0\[0\] is '1'/);
    expect((await refusal({ q0: [1], v0: [Infinity], steps: 5 })).details).toMatchObject({ array: 'v0', index: 0 });
    expect((await refusal(undefined)).code).toBe('INPUT');
    const { q } = await st.run({ q0: [1], v0: [0], steps: 5 });
    expect(q[0]).toBeCloseTo(Math.cos(0.05), 4);
  });
});
