/**
 * `darboux bench`: the median timing helper against a scripted clock, and the command in-process: one row per
 * backend × method × batch, rates that follow from the timings, the table and usage errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { timeRuns } from '../../src/cli/timing.js';
import type { CliStreams } from '../../src/cli/terminal.js';

/** Streams that collect what the CLI writes. */
function capture(): { io: CliStreams; out: () => string; err: () => string } {
  let out = '', err = '';
  return {
    io: { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } }, env: {} },
    out: () => out,
    err: () => err,
  };
}

describe('timeRuns', () => {
  it('runs the warm-ups untimed and reports the median, min and max of the timed runs', async () => {
    // Run k (timed) takes durations[k] ms on a clock that only the runs advance.
    const durations = [30, 10, 50, 20, 40];
    let clock = 0, calls = 0;
    const warmup = 2;
    const f = async () => { const k = calls++ - warmup; if (k >= 0) clock += durations[k]!; };
    const t = await timeRuns(f, { repeats: 5, warmup, now: () => clock });
    expect(calls).toBe(7);
    expect(t.samples).toEqual([0.03, 0.01, 0.05, 0.02, 0.04]);
    expect(t).toMatchObject({ median: 0.03, min: 0.01, max: 0.05 });
    clock = 0; calls = 0;
    const even = await timeRuns(async () => { clock += [4, 1, 3, 2][calls++]!; }, { repeats: 4, warmup: 0, now: () => clock });
    expect(even.median).toBe(0.0025); // (2 + 3) / 2 ms
  });
});

describe('darboux bench', () => {
  it('measures every method × batch on the CPU, with rates that follow from the median time', async () => {
    const c = capture();
    const code = await main(['bench', '--model', 'harmonic-oscillator', '--backend', 'cpu', '--method', 'leapfrog,rk4', '--batch', '1,16', '--steps', '200', '--repeats', '3', '--json'], c.io);
    expect(code, c.err()).toBe(0);
    const report = JSON.parse(c.out());
    expect(report).toMatchObject({ command: 'bench', system: 'harmonic-oscillator', dof: 1, steps: 200, repeats: 3 });
    expect(report.rows.map((r: { method: string; batch: number }) => `${r.method}/${r.batch}`)).toEqual(['leapfrog/1', 'leapfrog/16', 'rk4/1', 'rk4/16']);
    for (const row of report.rows) {
      expect(row.backend).toBe('cpu');
      expect(row.seconds.samples).toHaveLength(3);
      expect(row.seconds.min).toBeLessThanOrEqual(row.seconds.median);
      expect(row.seconds.median).toBeLessThanOrEqual(row.seconds.max);
      expect(row.stepsPerSecond).toBeCloseTo(200 / row.seconds.median, 6);
      expect(row.trajectoryStepsPerSecond).toBeCloseTo(row.stepsPerSecond * row.batch, 3);
    }
  });

  it('prints a table by default, and refuses bad flags with exit 2', async () => {
    const c = capture();
    expect(await main(['bench', '--H', 'p^2/2 + q^2/2', '--q', 'q', '--p', 'p', '--dt', '0.1', '--backend', 'cpu', '--batch', '4', '--steps', '50', '--repeats', '1', '--quiet'], c.io)).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines[0]).toBe('bench: H = p^2/2 + q^2/2 (dof 1), dt 0.1, 50 steps, median of 1');
    expect(lines[1]).toMatch(/^backend +method +batch +median s +steps\/s +trajectory-steps\/s$/);
    expect(lines[2]).toMatch(/^cpu +leapfrog +4 +\d/);
    expect(lines).toHaveLength(3);
    expect(c.err()).toBe('');
    for (const bad of [['--batch', '0'], ['--backend', 'tpu'], ['--steps', 'many']]) {
      const e = capture();
      expect(await main(['bench', '--model', 'pendulum', ...bad], e.io)).toBe(2);
      expect(e.err()).toContain('Usage: darboux bench');
    }
  });

  it('counts members that leave the domain in a failed column instead of aborting the measurement', async () => {
    // Hénon–Heiles: (0, 0.2) at rest is bound; (0, 1.5) with p_y = 1 rolls down −y³/3 to infinity (NaN) within 50 steps.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-bench-'));
    try {
      fs.writeFileSync(path.join(dir, 'q0.json'), '[[0, 0.2], [0, 1.5]]');
      fs.writeFileSync(path.join(dir, 'p0.json'), '[[0, 0], [0, 1]]');
      const args = ['bench', '--model', 'henon-heiles', '--backend', 'cpu', '--batch', '2', '--steps', '400', '--repeats', '1', '--q0', path.join(dir, 'q0.json'), '--p0', path.join(dir, 'p0.json'), '--quiet'];
      const j = capture();
      expect(await main([...args, '--json'], j.io), j.err()).toBe(0);
      expect(JSON.parse(j.out()).rows).toEqual([expect.objectContaining({ backend: 'cpu', batch: 2, failed: 1 })]);
      const t = capture();
      expect(await main(args, t.io), t.err()).toBe(0);
      expect(t.out()).toMatch(/trajectory-steps\/s +failed\ncpu +leapfrog +2 +.* 1\nfailed: members that left the domain/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
