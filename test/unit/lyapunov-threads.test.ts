/**
 * `lyapunov` over worker threads on the CPU (src/backends/cpu/lyapunov-threads.ts, lyapunov-worker.ts): spectra on
 * 2 and 3 threads equal the one-thread driver's bit for bit (Object.is on every exponent, history point and final
 * state), with segments that do not divide the steps and history points between them; escaping trajectories give
 * the same error as on one thread; a worker that fails becomes a DarbouxError; progress arrives and an abort
 * stops a threaded spectrum; the default thread count follows the estimated work; an undisposed stepper lets the
 * process exit.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, henonHeiles, type LyapunovResult } from '../../src/index.js';
import { stepProgram } from '../../src/integrators/methods.js';
import { checkLyapunovOptions, writeAverages } from '../../src/backends/lyapunov-options.js';
import { RunControl } from '../../src/backends/run-control.js';
import { LyapunovPool, lyapunovThreads } from '../../src/backends/cpu/lyapunov-threads.js';
import { estimatedMs, THREADED_MIN_MS } from '../../src/backends/cpu/trajectory-threads.js';
import { differences, escapingBatch, refusal } from './run-fixtures.js';

/** `batch` Hénon–Heiles starts spread around a chaotic and regular mix. */
function spread(batch: number) {
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) { q0[2 * b] = 0.05 + 0.004 * b; q0[2 * b + 1] = -0.1 + 0.002 * b; p0[2 * b] = 0.3; p0[2 * b + 1] = 0.1 + 0.001 * b; }
  return { q0, p0 };
}


function expectSameBits(one: LyapunovResult, many: LyapunovResult): void {
  expect(differences(many.exponents, one.exponents)).toEqual([]);
  expect(differences(many.history.t, one.history.t)).toEqual([]);
  expect(differences(many.history.exponents, one.history.exponents)).toEqual([]);
  expect(differences(many.q, one.q)).toEqual([]);
  expect(differences(many.p, one.p)).toEqual([]);
  expect(many.time).toBe(one.time);
}

const hh = henonHeiles().hamiltonian;

describe('lyapunov over worker threads (CPU)', () => {
  for (const method of ['leapfrog', 'yoshida4', 'midpoint', 'gauss4']) {
    it(`${method}: 2 and 3 threads give the one-thread spectrum bit for bit`, async () => {
      const one = await compile(hh, { method, dt: 0.02, backend: 'cpu', threads: 1 });
      const two = await compile(hh, { method, dt: 0.02, backend: 'cpu', threads: 2 });
      const three = await compile(hh, { method, dt: 0.02, backend: 'cpu', threads: 3 });
      try {
        const options = { ...spread(37), batch: 37, steps: 403, count: 4, renormalizeEvery: 7, historyEvery: 21, t0: 0.5 };
        const r1 = await one.lyapunov(options);
        expect(r1.exponents.every(Number.isFinite)).toBe(true);
        expect(r1.history.t.length).toBe(Math.ceil(403 / 21));
        expectSameBits(r1, await two.lyapunov(options));
        expectSameBits(r1, await three.lyapunov(options));
        // A segment longer than a worker's window (one trajectory per claim, split in windows of steps).
        const long = { ...spread(3), batch: 3, steps: 3000, count: 2, renormalizeEvery: 3000 };
        expectSameBits(await one.lyapunov(long), await two.lyapunov(long));
      } finally {
        one.dispose(); two.dispose(); three.dispose();
      }
    }, 60_000);
  }

  it('escaping trajectories: the same error as on one thread', async () => {
    const one = await compile(hh, { method: 'leapfrog', dt: 0.05, backend: 'cpu', threads: 1 });
    const two = await compile(hh, { method: 'leapfrog', dt: 0.05, backend: 'cpu', threads: 2 });
    try {
      const { q0, p0, batch } = escapingBatch();
      const options = { q0, p0, batch, steps: 3000, count: 2, renormalizeEvery: 5 };
      const e1 = await refusal(() => one.lyapunov(options));
      const e2 = await refusal(() => two.lyapunov(options));
      expect(e1.code).toBe('NONFINITE');
      expect(e2.code).toBe(e1.code);
      expect(e2.message).toBe(e1.message);
      expect(e2.details).toEqual(e1.details);
      // The stepper still works afterwards, on both thread counts alike.
      const ok = { ...spread(8), batch: 8, steps: 50, count: 2 };
      expectSameBits(await one.lyapunov(ok), await two.lyapunov(ok));
    } finally {
      one.dispose(); two.dispose();
    }
  }, 60_000);

  it('a worker that fails rejects with DarbouxError INTERNAL, and the pool starts afresh', async () => {
    const program = stepProgram(hh, 'leapfrog');
    const pool = new LyapunovPool(program, 2);
    try {
      const options = { ...spread(4), batch: 4, steps: 10, count: 2 };
      const plan = checkLyapunovOptions(options, 2);
      const args = { source: 'throw new Error("generated code that does not compile")', q0: options.q0, p0: options.p0, params: hh.paramValues, dt: 0.01, n: 2, method: 'leapfrog' };
      const e = await refusal(() => pool.run(plan, args, new RunControl({}, 'lyapunov', 10), 2));
      expect(e).toBeInstanceOf(DarbouxError);
      expect(e.code).toBe('INTERNAL');
      expect(e.message).toContain('generated code that does not compile');
    } finally {
      pool.dispose();
    }
  }, 30_000);

  it('progress arrives from the workers, an abort stops a threaded spectrum, and the stepper stays usable', async () => {
    const st = await compile(hh, { method: 'leapfrog', dt: 0.01, backend: 'cpu', threads: 2 });
    try {
      const fractions: number[] = [];
      await st.lyapunov({ ...spread(16), batch: 16, steps: 40_000, count: 4, onProgress: (p) => fractions.push(p.fraction) });
      expect(fractions.at(-1)).toBe(1);
      expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]!)).toBe(true);
      const controller = new AbortController();
      const pending = st.lyapunov({ ...spread(16), batch: 16, steps: 50_000_000, count: 2, signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      const e = await refusal(() => pending);
      expect(e.code).toBe('ABORTED');
      const again = await st.lyapunov({ ...spread(4), batch: 4, steps: 10, count: 1 });
      expect(again.exponents.length).toBe(4);
    } finally {
      st.dispose();
    }
  }, 60_000);

  it('writeAverages sorts like Array.prototype.sort (largest first, stable: ties and ±0 keep their order)', () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 500; trial++) {
      const count = 1 + (trial % 7), time = trial % 11 === 0 ? 0 : 0.5 + 10 * next();
      const pool = [0, -0, 1.5, -2, 3e-300, -3e-300, 7];
      const logs = Float64Array.from({ length: count + 2 }, () => (next() < 0.4 ? pool[Math.floor(next() * pool.length)]! : 20 * next() - 10));
      const expected = Array.from(logs.subarray(2, 2 + count), (x) => (time > 0 ? x / time : 0)).sort((x, y) => y - x);
      const out = new Float64Array(count + 3);
      writeAverages(logs, 2, count, time, out, 3);
      expect(differences(out.subarray(3), expected)).toEqual([]);
    }
  });

  it('the default thread count follows the estimated work', () => {
    const cores = Math.max(1, availableParallelism());
    // 54 IR elements a step (Hénon–Heiles leapfrog), 4 tangents: 5 × 54 elements per trajectory·step.
    const small = lyapunovThreads(undefined, 4, 100, 4, 54, false);
    expect(estimatedMs(4, 100, 54 * 5)).toBeLessThan(THREADED_MIN_MS.warm);
    expect(small).toBe(1);
    expect(estimatedMs(1024, 10_000, 54 * 5)).toBeGreaterThan(THREADED_MIN_MS.cold);
    expect(lyapunovThreads(undefined, 1024, 10_000, 4, 54, false)).toBe(Math.min(cores, 1024));
    // Between the warm and the cold threshold: threads only once the pool is started.
    const steps = Math.ceil((2 * THREADED_MIN_MS.warm * 1e6) / (1024 * 54 * 5 * 0.2));
    expect(lyapunovThreads(undefined, 1024, steps, 4, 54, false)).toBe(1);
    expect(lyapunovThreads(undefined, 1024, steps, 4, 54, true)).toBe(Math.min(cores, 1024));
    expect(lyapunovThreads(3, 2, 10, 1, 54, false)).toBe(2); // capped at the batch
    expect(lyapunovThreads(undefined, 1, 10 ** 9, 4, 54, true)).toBe(1); // one trajectory: one thread
  });

  it('a process with an undisposed threaded stepper exits by itself after a spectrum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'darboux-lyapunov-threads-'));
    const index = pathToFileURL(join(process.cwd(), 'src', 'index.ts')).href;
    const script = join(dir, 'run.mts');
    writeFileSync(script, [
      `import { compile, henonHeiles } from '${index}';`,
      `const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu', threads: 2 });`,
      `const q0 = new Float64Array(16).fill(0.1), p0 = new Float64Array(16).fill(0.2);`,
      `const r = await st.lyapunov({ q0, p0, batch: 8, steps: 500, count: 2 });`,
      `console.log('done', Number.isFinite(r.exponents[0]));`,
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
