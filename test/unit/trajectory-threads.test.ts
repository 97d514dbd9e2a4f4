/**
 * Trajectory threads of the CPU backend (src/backends/cpu/trajectory-threads.ts, trajectory-worker.ts): runs on
 * 2 and 3 worker threads equal the one-thread run bit for bit (Object.is on every element) for explicit
 * (leapfrog, yoshida4) and implicit (gauss4) methods, with a record and with escaping trajectories ('report' and
 * 'throw'); progress arrives from the workers during a run, an abort stops it and leaves the stepper usable,
 * dispose terminates the workers, and a process with an undisposed threaded stepper exits by itself.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, doublePendulum, henonHeiles, type RunResult } from '../../src/index.js';
import { stepProgram } from '../../src/integrators/methods.js';
import { specializeParameters } from '../../src/integrators/specialize.js';
import { cpuForwardRunner, jsRunners } from '../../src/backends/cpu/runners.js';
import { JS_FIXED_POINT } from '../../src/codegen/emit-js-stepper.js';
import { RunControl } from '../../src/backends/run-control.js';
import { runWindowed } from '../../src/backends/cpu/windowed-run.js';
import { estimatedMs, runnerKind, stepElements, THREADED_MIN_MS, TrajectoryPool, trajectoryThreads } from '../../src/backends/cpu/trajectory-threads.js';
import { differences, escapingBatch, refusal } from './run-fixtures.js';

/** `batch` starts of a 2-dof system spread around (x, y, px, py). */
function spread(batch: number, x: number, y: number, px: number, py: number) {
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) { q0[2 * b] = x + 0.003 * b; q0[2 * b + 1] = y - 0.002 * b; p0[2 * b] = px; p0[2 * b + 1] = py + 0.001 * b; }
  return { q0, p0 };
}


/** Expects two run results to be the same bit for bit: state, record, status and statistics. */
function expectSameBits(one: RunResult, many: RunResult): void {
  expect(differences(many.q, one.q)).toEqual([]);
  expect(differences(many.p, one.p)).toEqual([]);
  expect(many.record === undefined).toBe(one.record === undefined);
  if (one.record) {
    expect(many.record!.count).toBe(one.record.count);
    expect(differences(many.record!.q, one.record.q)).toEqual([]);
    expect(differences(many.record!.p, one.record.p)).toEqual([]);
  }
  expect(many.status).toEqual(one.status);
  expect(many.stats).toEqual(one.stats);
}

const hh = henonHeiles().hamiltonian, dp = doublePendulum().hamiltonian;
const cases = [
  { name: 'Hénon–Heiles leapfrog', h: hh, method: 'leapfrog', dt: 0.01, steps: 3001, start: spread(37, 0.1, 0.2, 0.3, -0.1) },
  { name: 'Hénon–Heiles yoshida4', h: hh, method: 'yoshida4', dt: 0.02, steps: 1500, start: spread(37, 0.1, 0.2, 0.3, -0.1) },
  { name: 'double pendulum gauss4', h: dp, method: 'gauss4', dt: 0.01, steps: 400, start: spread(21, 1, 0.5, 0, 0.2) },
] as const;

describe('CPU trajectory threads: the same bits as one thread', () => {
  for (const c of cases) {
    it(`${c.name}: 2 and 3 threads, with a record, equal 1 thread element by element`, async () => {
      const [one, two, three] = await Promise.all([1, 2, 3].map((threads) => compile(c.h, { method: c.method, dt: c.dt, backend: 'cpu', threads })));
      const options = { ...c.start, batch: c.start.q0.length / 2, steps: c.steps, record: 7, recordInitial: true, t0: 0.25 };
      const reference = await one.run(options);
      expectSameBits(reference, await two.run(options));
      expectSameBits(reference, await three.run(options));
      // A chaotic state after hundreds of steps: a different operation order would show.
      expect(reference.record!.count).toBe(1 + Math.floor(c.steps / 7));
      for (const st of [one, two, three]) st.dispose();
    }, 60_000);
  }

  it("escaping trajectories: 'report' gives the same status and state, 'throw' the same error", async () => {
    const { q0, p0, batch } = escapingBatch();
    const [one, two] = await Promise.all([1, 2].map((threads) => compile(hh, { method: 'leapfrog', dt: 0.05, backend: 'cpu', threads })));
    const reported = await one.run({ q0, p0, batch, steps: 2000, record: 50, onFailure: 'report' });
    expect(reported.status!.filter((s) => !s.ok).length).toBe(2);
    expectSameBits(reported, await two.run({ q0, p0, batch, steps: 2000, record: 50, onFailure: 'report' }));
    const thrown1 = await refusal(() => one.run({ q0, p0, batch, steps: 2000 }));
    const thrown2 = await refusal(() => two.run({ q0, p0, batch, steps: 2000 }));
    expect(thrown2.code).toBe(thrown1.code);
    expect(thrown2.message).toBe(thrown1.message);
    expect(thrown2.details).toEqual(thrown1.details);
    one.dispose();
    two.dispose();
  }, 30_000);
});

describe('CPU trajectory threads: vjp (forward passes over threads, the backward pass on one)', () => {
  for (const method of ['leapfrog', 'midpoint'] as const) {
    it(`${method}: every memory mode gives the same gradients bit for bit on 1 and 2 threads`, async () => {
      const [one, two] = await Promise.all([1, 2].map((threads) => compile(hh, { method, dt: 0.02, backend: 'cpu', threads })));
      const { q0, p0 } = spread(12, 0.1, 0.2, 0.3, -0.1);
      const dq = q0.map((x, i) => Math.sin(i + x)), dp = p0.map((x, i) => Math.cos(i - x));
      for (const memory of ['reverse', 'store', 'checkpoint'] as const) {
        const options = { q0, p0, dq, dp, batch: 12, steps: 400, memory, ...(memory === 'checkpoint' ? { checkpointEvery: 37 } : {}) };
        const [a, b] = [await one.vjp(options), await two.vjp(options)];
        expect(differences(b.dq0, a.dq0), memory).toEqual([]);
        expect(differences(b.dp0, a.dp0), memory).toEqual([]);
        expect(Object.keys(b.dparams)).toEqual(Object.keys(a.dparams));
        for (const [name, g] of Object.entries(a.dparams)) expect(differences([b.dparams[name]!].flat() as number[], [g].flat() as number[]), `${memory} ${name}`).toEqual([]);
        expect(b.stats).toEqual(a.stats);
        expect(b.memory).toEqual(a.memory);
      }
      one.dispose();
      two.dispose();
    }, 60_000);
  }
});

/** The pool of a program on its own (the stepper's forward runs), with its generated runner. */
function poolOf(method: 'leapfrog' | 'gauss4', h: typeof hh, threads: number | undefined) {
  const program = specializeParameters(stepProgram(h, method));
  const runner = jsRunners(program).forward;
  return { pool: new TrajectoryPool(program, runner, threads), runner, program };
}

/** A run's arguments for the pool and the runner (fresh arrays). */
function args(h: typeof hh, q0: Float64Array, p0: Float64Array, steps: number, dt: number) {
  return { Q: q0.slice(), P: p0.slice(), params: h.paramValues as Float64Array[], batch: q0.length / 2, steps, dt, t0: 0, record: 0, recordQ: null, recordP: null };
}

describe('CPU trajectory threads: the pool', () => {
  it('runs on its workers (2 started), equals the windowed one-thread run, and dispose terminates them', async () => {
    const { pool, runner } = poolOf('leapfrog', hh, 2);
    const { q0, p0 } = spread(64, 0.1, 0.2, 0.3, -0.1);
    const threaded = args(hh, q0, p0, 500, 0.01), single = args(hh, q0, p0, 500, 0.01);
    expect(pool.live).toBe(0);
    await pool.run(threaded, new RunControl({}, 'run', 500));
    expect(pool.live).toBe(2);
    await runWindowed(runner, single, new RunControl({}, 'run', 500));
    expect(differences(threaded.Q, single.Q)).toEqual([]);
    expect(differences(threaded.P, single.P)).toEqual([]);
    expect(differences(threaded.Q, q0).length).toBe(q0.length); // it moved
    pool.dispose();
    for (let wait = 0; wait < 200 && pool.live > 0; wait++) await new Promise((r) => setTimeout(r, 25));
    expect(pool.live).toBe(0);
    expect((await refusal(() => pool.run(args(hh, q0, p0, 10, 0.01), new RunControl({}, 'run', 10)))).message).toMatch(/disposed/);
  }, 30_000);

  it('a worker that throws, or whose runner does not compile, rejects the run with INTERNAL and is replaced', async () => {
    const program = specializeParameters(stepProgram(hh, 'leapfrog'));
    const { q0, p0 } = spread(8, 0.1, 0.2, 0.3, -0.1);
    const sources = ['"use strict"; return function run() { throw new Error("boom"); };', '"use strict"; return function run( {'];
    for (const [k, source] of sources.entries()) {
      const pool = new TrajectoryPool(program, Object.assign(() => ({ failure: null, failures: [], iterationsTotal: 0, iterationsMax: 0 }), { source }), 2);
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await refusal(() => pool.run(args(hh, q0, p0, 10, 0.01), new RunControl({}, 'run', 10)));
        expect(error.code).toBe('INTERNAL');
        expect(error.message).toMatch(k === 0 ? /boom/ : /SyntaxError|Unexpected|token/i);
      }
      for (let wait = 0; wait < 200 && pool.live > 0; wait++) await new Promise((r) => setTimeout(r, 25));
      expect(pool.live).toBe(0); // the failed workers were terminated, none left behind
      pool.dispose();
    }
  }, 30_000);

  it('thread counts: threads: 1 forces one; by default threads once runs pay for them, the pool once they repay its start', () => {
    const elements = stepElements(specializeParameters(stepProgram(hh, 'leapfrog')));
    expect(elements).toBeGreaterThan(10);
    const cores = Math.min(availableParallelism(), 1024);
    expect(trajectoryThreads(1, 1024, 1000, elements, true)).toBe(1);
    expect(trajectoryThreads(3, 1024, 1000, elements, false)).toBe(3);
    expect(trajectoryThreads(3, 2, 1000, elements, false)).toBe(2); // at most one thread per trajectory
    expect(trajectoryThreads(4, 1, 10 ** 9, elements, true)).toBe(1);
    expect(trajectoryThreads(4, 1024, 0, elements, true)).toBe(1);
    const stepsFor = (ms: number) => Math.ceil(ms / estimatedMs(1024, 1, elements));
    expect(trajectoryThreads(undefined, 1024, stepsFor(THREADED_MIN_MS.warm / 2), elements, true)).toBe(1);
    expect(trajectoryThreads(undefined, 1024, stepsFor(THREADED_MIN_MS.warm), elements, true)).toBe(cores);
    expect(trajectoryThreads(undefined, 1024, stepsFor(THREADED_MIN_MS.warm), elements, false)).toBe(1);
    // A record to copy raises the bar: twice its copying time comes off the estimate.
    const runOf = stepsFor(4 * THREADED_MIN_MS.warm), copies = 1024 * runOf * 4;
    expect(estimatedMs(1024, runOf, elements, copies)).toBeLessThan(estimatedMs(1024, runOf, elements));
    const bar = (copied: number) => trajectoryThreads(undefined, 1024, runOf, elements, true, copied);
    expect(bar(0)).toBe(cores);
    expect(bar(copies)).toBe(estimatedMs(1024, runOf, elements, copies) >= THREADED_MIN_MS.warm ? cores : 1);
    expect(bar(10 * copies)).toBe(1);
    // A stepper's pool: runs of a quarter of the start-up each stay on one thread until four of them repay it.
    const { pool } = poolOf('leapfrog', hh, undefined);
    const quarter = stepsFor(THREADED_MIN_MS.cold / 4);
    expect([1, 2, 3, 4, 5].map(() => pool.threadsFor(1024, quarter))).toEqual([1, 1, 1, cores, cores]);
    expect(pool.threadsFor(1024, stepsFor(THREADED_MIN_MS.warm / 2))).toBe(1);
    expect(poolOf('leapfrog', hh, undefined).pool.threadsFor(1024, stepsFor(THREADED_MIN_MS.cold))).toBe(cores); // one run repays it
    expect(poolOf('leapfrog', hh, 1).pool.threadsFor(1024, stepsFor(10 * THREADED_MIN_MS.cold))).toBe(1);
    // gauss4 counts its fixed-point body several times: a step costs more than an explicit one.
    expect(stepElements(specializeParameters(stepProgram(hh, 'gauss4')))).toBeGreaterThan(4 * elements);
  });

  it('thread counts follow the runner: the WebAssembly lane runner costs a quarter per element, so its runs need 4× the steps', () => {
    const program = specializeParameters(stepProgram(hh, 'leapfrog'));
    const elements = stepElements(program);
    const cores = Math.min(availableParallelism(), 1024);
    const lanes = cpuForwardRunner(program, JS_FIXED_POINT, 'auto').runner, js = jsRunners(program).forward;
    expect([runnerKind(lanes), runnerKind(js)]).toEqual(['lanes', 'js']);
    expect(estimatedMs(1024, 1000, elements, 0, 'lanes')).toBeCloseTo(estimatedMs(1024, 1000, elements) / 4, 12);
    const stepsFor = (ms: number) => Math.ceil(ms / estimatedMs(1024, 1, elements)); // for the JS runner
    expect(trajectoryThreads(undefined, 1024, stepsFor(THREADED_MIN_MS.warm), elements, true, 0, 'js')).toBe(cores);
    expect(trajectoryThreads(undefined, 1024, stepsFor(THREADED_MIN_MS.warm), elements, true, 0, 'lanes')).toBe(1);
    expect(trajectoryThreads(undefined, 1024, stepsFor(4 * THREADED_MIN_MS.warm), elements, true, 0, 'lanes')).toBe(cores);
    // The pool reads the kind off its runner: a run that repays the start-up with the JS runner does not with lanes.
    expect(new TrajectoryPool(program, js, undefined).threadsFor(1024, stepsFor(THREADED_MIN_MS.cold))).toBe(cores);
    expect(new TrajectoryPool(program, lanes, undefined).threadsFor(1024, stepsFor(THREADED_MIN_MS.cold))).toBe(1);
    expect(new TrajectoryPool(program, lanes, undefined).threadsFor(1024, stepsFor(4 * THREADED_MIN_MS.cold))).toBe(cores);
  });
});

describe('CPU trajectory threads: progress, abort, dispose', () => {
  it('progress comes from the workers during the run; an abort stops it and the stepper stays usable', async () => {
    const st = await compile(dp, { method: 'gauss4', dt: 0.01, backend: 'cpu', threads: 2 });
    const { q0, p0 } = spread(8, 1, 0.5, 0, 0.2);
    const controller = new AbortController();
    const fractions: number[] = [];
    let ticks = 0, abortedAt = 0;
    const timer = setInterval(() => ticks++, 5);
    const onProgress = (p: { fraction: number }) => {
      fractions.push(p.fraction);
      if (p.fraction > 0 && abortedAt === 0) { abortedAt = performance.now(); controller.abort('enough'); }
    };
    const error = await st.run({ q0, p0, batch: 8, steps: 50_000_000, signal: controller.signal, onProgress }).catch((e: unknown) => e);
    const stoppedAfter = performance.now() - abortedAt;
    clearInterval(timer);
    expect(error).toBeInstanceOf(DarbouxError);
    expect((error as DarbouxError).code).toBe('ABORTED');
    expect((error as DarbouxError).details.reason).toBe('enough');
    const during = fractions.filter((f) => f > 0);
    expect(during.length).toBe(1);
    expect(during[0]!).toBeLessThan(1);
    expect(stoppedAfter).toBeLessThan(5000); // workers stop within a window (~10 ms), plus a loaded machine
    expect(ticks).toBeGreaterThan(2); // the main thread stayed free
    const one = await compile(dp, { method: 'gauss4', dt: 0.01, backend: 'cpu', threads: 1 });
    expectSameBits(await one.run({ q0, p0, batch: 8, steps: 300 }), await st.run({ q0, p0, batch: 8, steps: 300 }));
    st.dispose();
    one.dispose();
  }, 60_000);

  it('dispose during a threaded run rejects it', async () => {
    const st = await compile(dp, { method: 'gauss4', dt: 0.01, backend: 'cpu', threads: 2 });
    const { q0, p0 } = spread(4, 1, 0.5, 0, 0.2);
    const run = st.run({ q0, p0, batch: 4, steps: 50_000_000, onProgress: () => st.dispose() });
    expect((await refusal(() => run)).message).toMatch(/disposed/);
  }, 30_000);

  it('a process with an undisposed threaded stepper exits by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'darboux-trajectory-threads-'));
    const index = pathToFileURL(join(process.cwd(), 'src', 'index.ts')).href;
    const script = join(dir, 'run.mts');
    writeFileSync(script, [
      `import { compile, henonHeiles } from '${index}';`,
      `const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu', threads: 2 });`,
      `const q0 = new Float64Array(64).fill(0.1), p0 = new Float64Array(64).fill(0.2);`,
      `const r = await st.run({ q0, p0, batch: 32, steps: 1000 });`,
      `console.log('done', Number.isFinite(r.q[0]));`,
    ].join('\n'));
    const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 100_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
    });
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    expect(child.stdout.trim()).toBe('done true');
  }, 120_000);
});
