/**
 * Fuzzing `run`, `vjp`, `compile` and `fit` option objects (issue 13 item 7): random types, missing fields, NaN,
 * huge numbers, wrong lengths and odd strings. Every call either succeeds with finite numbers or throws a
 * DarbouxError — never a TypeError, RangeError, hang or silent NaN. CPU backend only; a few seconds in all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, fit, hnn, methodNames, parse, type Stepper } from '../../src/index.js';

/** Values no option expects: wrong types, non-finite and huge numbers, odd strings, odd containers. */
const wild: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, NaN, Infinity, -Infinity, 1e300, -1, 0, -0, 1.5, 2 ** 53, 1e-320, true, '', '1', 'x\u0000', 'θ\u200b', 'cpu ', '__proto__'),
  fc.constantFrom({}, [], [NaN], Object.create(null), { length: 2 }, { toString: 1 }, Symbol('s'), 10n, () => 1, new Float32Array(3), new DataView(new ArrayBuffer(8))),
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.array(fc.oneof(fc.double(), fc.constant(undefined), fc.string({ maxLength: 2 })), { maxLength: 6 }),
);

const MISSING = Symbol('missing');

/**
 * Valid option objects (optional keys present or not), then up to two keys corrupted: set to a wild value or
 * deleted. About a third of the objects stay valid, so successful runs are checked too.
 */
const corrupted = (fields: Record<string, fc.Arbitrary<unknown>>, required: string[]) =>
  fc
    .tuple(fc.record(fields, { requiredKeys: required }), fc.array(fc.tuple(fc.nat(), fc.oneof(wild, fc.constant(MISSING))), { maxLength: 2 }))
    .map(([valid, changes]) => {
      const out: Record<string, unknown> = { ...valid };
      const keys = Object.keys(fields);
      for (const [k, v] of changes) {
        const key = keys[k % keys.length]!;
        if (v === MISSING) delete out[key];
        else out[key] = v;
      }
      return out;
    });

/** Calls `f`; passes when it returns finite numbers or throws a DarbouxError; rethrows anything else. */
async function onlyDarbouxErrors(f: () => Promise<unknown>, finite: (r: unknown) => boolean): Promise<void> {
  const t = performance.now();
  try {
    const r = await f();
    expect(finite(r), 'a result with a non-finite number').toBe(true);
  } catch (e) {
    if (!(e instanceof DarbouxError)) throw e;
    expect(typeof e.code).toBe('string');
    expect(e.details).toBeTypeOf('object');
  }
  expect(performance.now() - t, 'one call took too long').toBeLessThan(2000);
}

const allFinite = (...arrays: ArrayLike<number>[]) => arrays.every((a) => Array.prototype.every.call(a, (x: number) => Number.isFinite(x)));
const DOF = 2;
const h = parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2 + py^2)/2 + (x^2 + y^2)/2 + lam*(x^2*y - y^3/3)', params: { lam: 1 } });

const state = (n: number) => fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n });
const runOptions = fc.integer({ min: 1, max: 3 }).chain((batch) =>
  corrupted(
    {
      q0: fc.oneof(state(batch * DOF), state(batch * DOF).map((a) => Float64Array.from(a))),
      p0: state(batch * DOF),
      steps: fc.integer({ min: 0, max: 30 }),
      batch: fc.constant(batch),
      t0: fc.double({ min: -10, max: 10, noNaN: true }),
      record: fc.integer({ min: 0, max: 5 }),
      memoryBudget: fc.integer({ min: 1, max: 1e6 }),
      dq: state(batch * DOF),
      dp: state(batch * DOF),
      memory: fc.constantFrom('reverse', 'checkpoint', 'store'),
      checkpointEvery: fc.integer({ min: 1, max: 10 }),
    },
    ['q0', 'p0', 'steps', 'batch', 'dq', 'dp'],
  ),
);

describe('fuzzing option objects: only DarbouxErrors', () => {
  it('run, vjp and jacobian (leapfrog and midpoint)', async () => {
    const steppers: Stepper[] = [
      await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' }),
      await compile(h, { method: 'midpoint', dt: 0.05, backend: 'cpu' }),
    ];
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 6, arbitrary: runOptions }, { weight: 1, arbitrary: wild }), fc.nat(1), async (options, which) => {
        const st = steppers[which]!;
        await onlyDarbouxErrors(() => st.run(options as never), (r) => {
          const res = r as { q: Float64Array; p: Float64Array; record?: { q: Float64Array; p: Float64Array } };
          return allFinite(res.q, res.p, ...(res.record ? [res.record.q, res.record.p] : []));
        });
        await onlyDarbouxErrors(() => st.vjp(options as never), (r) => {
          const res = r as { dq0: Float64Array; dp0: Float64Array; dparams: Record<string, number> };
          return allFinite(res.dq0, res.dp0, Object.values(res.dparams));
        });
        const o = (options ?? {}) as Record<string, unknown>;
        await onlyDarbouxErrors(async () => st.jacobian(o.q0 as never, o.p0 as never, o.t0 as never), (r) => allFinite(r as Float64Array));
      }),
      { numRuns: 250, seed: 13 },
    );
  });

  it('compile (cpu backend)', async () => {
    const compileOptions = corrupted(
      {
        dt: fc.double({ min: 1e-3, max: 0.5, noNaN: true }),
        method: fc.constantFrom(...methodNames()),
        tolerance: fc.double({ min: 1e-14, max: 1e-6, noNaN: true }),
        maxIterations: fc.integer({ min: 1, max: 200 }),
        solver: fc.constantFrom('fixedPoint', 'newton', 'simplifiedNewton'),
        stepsPerDispatch: fc.integer({ min: 1, max: 100 }),
      },
      ['dt', 'method'],
    ).chain((o) => fc.oneof(fc.constant('cpu'), wild.filter((v) => v !== undefined && v !== 'gpu' && v !== 'auto')).map((backend) => ({ ...o, backend })));
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 8, arbitrary: compileOptions }, { weight: 1, arbitrary: wild }), async (options) => {
        await onlyDarbouxErrors(async () => {
          const st = await compile(h, options as never);
          const r = await st.run({ q0: [0.1, 0.2, 0.3, 0.1], p0: [0, 0.1, 0.2, 0], batch: 2, steps: 3 });
          st.dispose();
          return r;
        }, (r) => allFinite((r as { q: Float64Array }).q, (r as { p: Float64Array }).p));
      }),
      { numRuns: 150, seed: 13 },
    );
  });

  it('fit (cpu backend)', async () => {
    const model = hnn({ dof: 1, hidden: [3], activation: 'tanh', seed: 0 });
    const column = (n: number) => fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n });
    const data = fc.integer({ min: 1, max: 4 }).chain((n) => corrupted({ q: column(n), p: column(n), dqdt: column(n), dpdt: column(n) }, ['q', 'p', 'dqdt', 'dpdt']));
    const fitOptions = corrupted(
      {
        steps: fc.integer({ min: 1, max: 3 }),
        lr: fc.double({ min: 1e-4, max: 1e-2, noNaN: true }),
        loss: fc.constantFrom('derivative', 'rollout'),
        batchSize: fc.integer({ min: 1, max: 4 }),
        weightDecay: fc.double({ min: 0, max: 1e-2, noNaN: true }),
        schedule: fc.constantFrom('constant', 'cosine'),
        clipNorm: fc.double({ min: 0, max: 10, noNaN: true }),
        seed: fc.integer({ min: 0, max: 100 }),
        energyWeight: fc.double({ min: 0, max: 1, noNaN: true }),
        rollout: corrupted({ steps: fc.integer({ min: 1, max: 3 }), method: fc.constantFrom('leapfrog', 'rk4'), dt: fc.double({ min: 1e-3, max: 0.1, noNaN: true }) }, ['steps', 'method', 'dt']),
      },
      ['steps', 'lr', 'rollout'],
    ).chain((o) =>
      fc.oneof(
        { weight: 9, arbitrary: fc.constant({ ...o, backend: 'cpu' }) },
        { weight: 1, arbitrary: fc.constantFrom('lrr', 'step', 'Steps', 'batchsize').map((typo) => ({ ...o, backend: 'cpu', [typo]: 1 })) },
      ));
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 8, arbitrary: data }, { weight: 1, arbitrary: wild }), fc.oneof({ weight: 8, arbitrary: fitOptions }, { weight: 1, arbitrary: wild }), async (d, options) => {
        await onlyDarbouxErrors(() => fit(model, d as never, options as never), (r) => allFinite((r as { history: number[] }).history));
      }),
      { numRuns: 150, seed: 13 },
    );
  });
});
