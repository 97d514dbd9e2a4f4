/**
 * CPU training over worker threads (src/train/gradient-threads.ts, chunked-gradient.ts): fits on 2 and 3 threads
 * equal the one-thread fit bit for bit (Object.is on every parameter and loss) for the batched and per-sample
 * lowerings and several losses; the chunked sums agree with the unchunked per-sample sums to rounding (the
 * oracle that chunking computes the same quantity); the default starts threads mid-fit once the measured steps
 * pay, without changing a bit; workers that fail become DarbouxErrors; `threads` is validated; and a process
 * whose fits used threads exits by itself, also after a fit that failed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DarbouxError, fit, hnn, lnn, type FitResult } from '../../src/index.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { planTraining } from '../../src/train/fit.js';
import { chunkedSums, GRADIENT_CHUNK, perSampleChunks } from '../../src/train/chunked-gradient.js';
import { GradientThreads, MinibatchGradient, THREADED_TRAINING_MIN, trainingThreads } from '../../src/train/gradient-threads.js';
import type { FitOptions } from '../../src/train/types.js';
import { fixtureField, fixtureSympnet, springData, springPairs } from './train-fixtures.js';
import { differences, refusal } from './run-fixtures.js';


/** Expects two fits to have the same parameters and losses bit for bit. */
function expectSameFit(one: FitResult, many: FitResult): void {
  expect(Object.keys(many.params)).toEqual(Object.keys(one.params));
  for (const name of Object.keys(one.params)) expect(differences(many.params[name]!, one.params[name]!)).toEqual([]);
  expect(differences(many.history, one.history)).toEqual([]);
  expect(differences(many.validationHistory, one.validationHistory)).toEqual([]);
}

/** 200 spring samples: minibatches of 150 are three chunks (64, 64, 22). */
const data = springData(10, 20);
const cases: { name: string; model: () => Parameters<typeof fit>[0]; data: () => Parameters<typeof fit>[1]; options: Partial<FitOptions> }[] = [
  { name: 'hnn [16, 16] derivative, batched lowering', model: () => hnn({ dof: 1, hidden: [16, 16], activation: 'tanh', seed: 3 }), data: () => data, options: { loss: 'derivative' } },
  { name: 'hnn [12] derivative, per-sample lowering', model: () => hnn({ dof: 1, hidden: [12], activation: 'softplus', seed: 4 }), data: () => data, options: { loss: 'derivative', cpuLowering: 'perSample' } },
  { name: 'mlpField derivative, with validation', model: () => fixtureField(1, 8), data: () => data, options: { loss: 'derivative', validation: springData(2, 10), validationEvery: 2 } },
  { name: 'sympnet map', model: () => fixtureSympnet(1, 6), data: () => springPairs(200), options: { loss: 'map' } },
  { name: 'lnn [8, 8] acceleration, batched lowering', model: () => lnn({ dof: 2, hidden: [8, 8], seed: 5 }), data: oscillatorAccelerations, options: { loss: 'acceleration', cpuLowering: 'batched' } },
];

/** 200 states of two unit oscillators with their accelerations a = −q (q, v in [−1, 1]). */
function oscillatorAccelerations() {
  const q = Float64Array.from({ length: 400 }, (_, i) => Math.sin(1.7 * i + 0.3));
  const v = Float64Array.from({ length: 400 }, (_, i) => Math.cos(2.3 * i + 0.1));
  return { q, v, a: q.map((x) => -x) };
}

describe('CPU training over worker threads', () => {
  for (const c of cases) {
    it(`${c.name}: 2 and 3 threads give the one-thread fit bit for bit`, async () => {
      const options = { steps: 5, lr: 3e-3, batchSize: 150, seed: 7, ...c.options } as FitOptions;
      const one = await fit(c.model(), c.data(), { ...options, threads: 1 });
      expect(one.history.every(Number.isFinite)).toBe(true);
      expectSameFit(one, await fit(c.model(), c.data(), { ...options, threads: 2 }));
      expectSameFit(one, await fit(c.model(), c.data(), { ...options, threads: 3 }));
      // The default (a short fit: one thread) is the same fit too.
      expectSameFit(one, await fit(c.model(), c.data(), options));
    }, 60_000);
  }

  it('the chunked sums equal the unchunked per-sample sums to rounding, and threads give the chunked sums bit for bit', async () => {
    const model = hnn({ dof: 1, hidden: [10], activation: 'tanh', seed: 1 });
    const plan = planTraining(model, data, { loss: 'derivative', steps: 1, lr: 1e-3, cpuLowering: 'perSample' });
    const f = compileCpuGradient(plan.program);
    const width = 1 + plan.program.layout.total;
    const rows = Uint32Array.from({ length: 173 }, (_, i) => (i * 37) % 200);
    const whole = new Float64Array(width), chunked = new Float64Array(width);
    f(plan.train.rows, plan.theta, rows, rows.length, whole);
    chunkedSums(perSampleChunks(f), plan.train.rows, plan.theta, rows, rows.length, chunked, new Float64Array(width));
    for (let j = 0; j < width; j++) expect(Math.abs(chunked[j]! - whole[j]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(whole[j]!)));
    const pool = new GradientThreads({ kind: 'perSample', source: f.source }, plan.train.rows, width, rows.length, 3);
    try {
      const threaded = new Float64Array(width);
      await pool.sums(perSampleChunks(f), plan.train.rows, plan.theta, rows, rows.length, threaded);
      expect(differences(threaded, chunked)).toEqual([]);
    } finally {
      pool.dispose();
    }
  }, 30_000);

  it('by default, threads start once the measured steps pay, and change no bit', async () => {
    // A gradient whose chunks each take ~1 ms: 4 chunks a step, so 4 ms a step over 1 000 steps pays.
    const source = `return function (data, theta, rows, count, out) {
      const t = performance.now(); while (performance.now() - t < 1) {}
      out.fill(0);
      for (let s = 0; s < count; s++) { const x = data[rows[s]]; out[0] += x * theta[0] * x; out[1] += x * x; }
    };`;
    const f = Object.assign(new Function(source)() as Parameters<typeof perSampleChunks>[0], { source });
    const samples = Float64Array.from({ length: 300 }, (_, i) => Math.sin(i) + 0.1 * i);
    const theta = Float64Array.of(0.75);
    const rows = Uint32Array.from({ length: 256 }, (_, i) => (i * 7) % 300);
    const single = new Float64Array(2);
    chunkedSums(perSampleChunks(f), samples, theta, rows, 256, single, new Float64Array(2));
    const gradient = new MinibatchGradient(perSampleChunks(f), { kind: 'perSample', source }, samples, 2, 256, undefined, 1000);
    try {
      const out = new Float64Array(2);
      for (let step = 0; step < 4; step++) {
        expect(gradient.threads).toBe(1);
        await gradient.sums(theta, rows, out);
        expect(differences(out, single)).toEqual([]);
      }
      expect(gradient.threads).toBe(Math.min(Math.max(1, availableParallelism()), 256 / GRADIENT_CHUNK));
      await gradient.sums(theta, rows, out);
      expect(differences(out, single)).toEqual([]);
    } finally {
      gradient.dispose();
    }
  }, 30_000);

  it('the default thread count follows the measured step time and the rest of the fit', () => {
    const cores = Math.max(1, availableParallelism());
    expect(trainingThreads(undefined, 256, THREADED_TRAINING_MIN.stepMs / 2, 1e6)).toBe(1); // steps too short
    expect(trainingThreads(undefined, 256, 10, THREADED_TRAINING_MIN.fitMs / 20)).toBe(1); // fit too short
    expect(trainingThreads(undefined, 256, 10, 1000)).toBe(Math.min(cores, 4));
    expect(trainingThreads(undefined, 64, 10, 1000)).toBe(1); // one chunk
    expect(trainingThreads(8, 150, 0, 1)).toBe(3); // asked: at most one thread per chunk
    expect(trainingThreads(1, 4096, 100, 1e6)).toBe(1);
  });

  it('a worker that fails becomes a DarbouxError', async () => {
    const samples = new Float64Array(10), theta = new Float64Array(1), rows = Uint32Array.from({ length: 200 }, (_, i) => i % 10);
    const broken = new GradientThreads({ kind: 'perSample', source: 'throw new Error("generated code that does not compile")' }, samples, 2, 200, 2);
    // The main thread's chunks take ~1 ms each, so the worker claims some of them.
    const f = Object.assign(() => { const t = performance.now(); while (performance.now() - t < 1); }, { source: '' });
    try {
      const e = await refusal(() => broken.sums(perSampleChunks(f), samples, theta, rows, 200, new Float64Array(2)));
      expect(e).toBeInstanceOf(DarbouxError);
      expect(e.code).toBe('INTERNAL');
      expect(e.message).toContain('generated code that does not compile');
    } finally {
      broken.dispose();
    }
    const throwing = new GradientThreads({ kind: 'perSample', source: 'return () => { throw new RangeError("bad chunk"); };' }, samples, 2, 200, 2);
    try {
      // The main thread's chunks succeed; the worker's chunk throws (the first chunk goes to whoever claims it).
      const e = await refusal(async () => {
        for (let k = 0; k < 200; k++) await throwing.sums(perSampleChunks(f), samples, theta, rows, 200, new Float64Array(2));
      });
      expect(e.code).toBe('INTERNAL');
      expect(e.message).toContain('bad chunk');
    } finally {
      throwing.dispose();
    }
  }, 30_000);

  it('threads is validated', async () => {
    for (const threads of [0, 2.5, -1, 257, '2', Number.NaN]) {
      const e = await refusal(() => fit(hnn({ dof: 1, hidden: [4], seed: 0 }), data, { loss: 'derivative', steps: 1, lr: 1e-3, threads } as never));
      expect(e.code).toBe('OPTION');
      expect(e.message).toContain('threads');
    }
  });

  it('a process whose fits used threads exits by itself, also after a fit that failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'darboux-training-threads-'));
    const index = pathToFileURL(join(process.cwd(), 'src', 'index.ts')).href;
    const script = join(dir, 'fit.mts');
    writeFileSync(script, [
      `import { fit, hnn } from '${index}';`,
      `const n = 200, q = Float64Array.from({ length: n }, (_, i) => Math.cos(i)), p = Float64Array.from({ length: n }, (_, i) => Math.sin(i));`,
      `const data = { q, p, dqdt: p.map((x) => 2 * x), dpdt: q.map((x) => -2 * x) };`,
      `const r = await fit(hnn({ dof: 1, hidden: [8, 8], seed: 0 }), data, { loss: 'derivative', steps: 3, lr: 1e-3, batchSize: 200, threads: 2 });`,
      `const bad = { ...data, dqdt: data.dqdt.map((x, i) => (i === 150 ? Number.POSITIVE_INFINITY : x)) };`,
      `const e = await fit(hnn({ dof: 1, hidden: [8, 8], seed: 0 }), bad, { loss: 'derivative', steps: 3, lr: 1e-3, batchSize: 200, threads: 2 }).then(() => 'no error', (x) => x.code);`,
      `console.log('done', r.history.length, e);`,
    ].join('\n'));
    const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 100_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
    });
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    expect(child.stdout.trim()).toMatch(/^done 3 (NONFINITE|INPUT|DATA)$/);
  }, 120_000);
});
