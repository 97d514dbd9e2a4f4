/**
 * Smoke tests of the examples: every file in examples/ runs (as `tsx examples/X.ts`, in a child process) with small
 * arguments, exits with 0, and prints its key numbers within physical bounds. An example that takes more than
 * 20 s even with small arguments runs only with DARBOUX_SLOW_EXAMPLES=1, as does the check that lj-fluid's defaults
 * finish within a minute.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const slow = process.env.DARBOUX_SLOW_EXAMPLES === '1';

/** Runs `tsx examples/<file> ...args` from the repository root; resolves with its output and wall time. */
function runExample(file: string, args: readonly string[]): Promise<{ code: number; output: string; seconds: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], { cwd: root, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: stdout + stderr, seconds: (performance.now() - start) / 1000 });
    });
  });
}

/** The first number after `label` in the output. */
function numberAfter(output: string, label: string | RegExp): number {
  const source = typeof label === 'string' ? label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : label.source;
  const match = new RegExp(`${source}\\s*(-?[0-9.]+(?:e[-+]?[0-9]+)?)`).exec(output);
  if (match === null) throw new Error(`no number after ${String(label)} in:\n${output}`);
  return Number(match[1]);
}

interface Smoke {
  /** Small arguments. */
  args: string[];
  /** Checks of the printed numbers. */
  check: (output: string) => void;
  /** Over 20 s even with small arguments: runs only with DARBOUX_SLOW_EXAMPLES=1. */
  heavy?: true;
}

/** One entry per example (a new example without one fails the first test). */
const smoke: Record<string, Smoke> = {
  'demo.ts': { args: [], check: (out) => expect(out).toMatch(/leapfrog/) },
  'energy-drift.ts': {
    args: [],
    check: (out) => {
      // Columns: method, max error, first half, second half, ratio (2nd/1st half), growth exponent, wall time.
      const ratio = (method: string) => Number(out.split('\n').find((line) => line.startsWith(`${method} `))!.trim().split(/\s+/)[4]);
      expect(ratio('rk4')).toBeGreaterThan(1.5);
      for (const method of ['leapfrog', 'gauss4']) expect(ratio(method)).toBeLessThan(1.5);
    },
  },
  'henon-heiles-section.ts': {
    args: ['--backend', 'cpu', '--batch', '200', '--steps', '4000'],
    check: (out) => {
      expect(out).toMatch(/on the CPU/);
      // Columns: E, crossings, per orbit, chaotic fraction, chaotic coverage, max |H − E|, wall time.
      const row = (E: string) => out.split('\n').find((line) => line.startsWith(`${E} `))!.trim().split(/\s+/).map(Number);
      const [low, high] = [row('0.1250'), row('0.1667')];
      expect(low[2]).toBeGreaterThan(20); // about one crossing per 2π/ω ≈ 7 time units over t = 200
      expect(high[3]).toBeGreaterThan(low[3]! + 0.3); // the chaotic sea grows from E = 1/8 to 1/6
      expect(high[4]).toBeLessThanOrEqual(1);
      for (const r of [low, high]) expect(r[5]).toBeLessThan(1e-5);
    },
  },
  'hnn-greydanus.ts': {
    args: ['--steps', '20', '--hidden', '16,16', '--only', 'spring'],
    check: (out) => {
      const row = out.split('\n').find((line) => line.startsWith('| spring | HNN |'))!;
      const cells = row.split('|').slice(3, -1).map(Number);
      expect(cells.length).toBe(6);
      for (const x of cells) expect(Number.isFinite(x)).toBe(true);
    },
  },
  'symplectic-hnn-choudhary.ts': { args: ['--steps', '10', '--only', 'double-well'], check: (out) => expect(out).toMatch(/double-well/), heavy: true },
  'sympnet-pendulum.ts': {
    args: ['--steps', '100'],
    check: (out) => {
      // The last column, ‖JᵀΩJ − Ω‖, is at rounding for both SympNets: symplectic by construction, trained or not.
      for (const model of ['LA-SympNet', 'G-SympNet']) {
        const row = out.split('\n').find((line) => line.startsWith(`| ${model}`))!;
        expect(Number(row.split('|').at(-2))).toBeLessThan(1e-12);
      }
    },
  },
  'lj-fluid.ts': {
    args: ['--steps', '200'],
    check: (out) => {
      // After the 5 000 equilibration steps the fluid is a liquid at T* ≈ 0.72 with its first g(r) peak near r ≈ 1.1.
      expect(Math.abs(numberAfter(out, 'mean temperature T* =') - 0.72)).toBeLessThan(0.15);
      const peak = numberAfter(out, /first peak g = [0-9.]+ at r =/);
      expect(peak).toBeGreaterThan(1.0);
      expect(peak).toBeLessThan(1.25);
      expect(numberAfter(out, 'max |E − E₀|/N over the run =')).toBeLessThan(1e-2);
    },
  },
  'learn-lj.ts': {
    args: ['--n', '2048', '--equil', '20', '--steps', '20', '--train', '150', '--rollout', '1', '--hidden', '16'],
    check: (out) => {
      // Even a short force matching gives a learned liquid whose g(r) is the true one's within a few percent.
      expect(numberAfter(out, 'max |g_learned(r) − g_true(r)| over the bins:')).toBeLessThan(0.15);
      expect(numberAfter(out, /learned : E\/N = -?[0-9.]+, max \|E − E₀\|\/N over the NVE run =/)).toBeLessThan(1e-2);
    },
  },
  'fpu-recurrence.ts': {
    args: ['--time', '5000', '--every', '1000'],
    check: (out) => {
      expect(numberAfter(out, 'mode 1 first below 10 % of the energy at t =')).toBeLessThan(3000);
      expect(numberAfter(out, 'recurrence: E₁/E returns to')).toBeGreaterThan(95);
      expect(numberAfter(out, 'max |H − E|/E over the run:')).toBeLessThan(1e-3);
    },
  },
  'noether-kepler.ts': {
    args: ['--steps', '80', '--hidden', '32,32', '--samples', '256', '--time', '2'],
    check: (out) => {
      // | network | inputs | final loss | integrator | max δL_true | max δL_NN | … |
      const rows = out.split('\n').filter((l) => /^\| (unconstrained|rotation-invariant) \|/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
      expect(rows.map((r) => [r[1], r[2], r[4]!.split(' ')[0]])).toEqual([
        ['unconstrained', '6', 'rk4'], ['unconstrained', '6', 'variationalMidpoint'],
        ['rotation-invariant', '3', 'rk4'], ['rotation-invariant', '3', 'variationalMidpoint'],
      ]);
      // The invariant network's own angular momentum: conserved to rounding by the variational integrator.
      expect(Number(rows[3]![6])).toBeLessThan(1e-12);
    },
  },
  'lyapunov.ts': {
    args: ['--time', '500', '--pendulum-time', '20', '--batch', '32', '--backend', 'cpu'],
    check: (out) => {
      expect(numberAfter(out, 'θ₁ = θ₂ = 2   λ_max =')).toBeGreaterThan(0.5);
      expect(numberAfter(out, 'θ₁ = θ₂ = 0.2 λ_max =')).toBeLessThan(0.1);
      for (const sum of out.matchAll(/sum = (-?[0-9.]+e[-+][0-9]+)/g)) expect(Math.abs(Number(sum[1]))).toBeLessThan(1e-12);
      const share = (label: string) => numberAfter(out, `E = ${label}: chaotic share`);
      expect(share('1/12')).toBeLessThan(20);
      expect(share('1/6 ')).toBeGreaterThan(share('1/12') + 30);
    },
  },
  'schwarzschild.ts': {
    args: ['--time', '80'],
    check: (out) => {
      // | integrator | dt | max δ(x × ẋ) | max δ((1 − r_s/r)τ̇) | max |g(q̇, q̇) + 1| | ‖q − q_ref‖ at T | seconds |
      const rows = out.split('\n').filter((l) => /^\| (rk4|variational\w+) \| /.test(l)).map((l) => l.split('|').map((c) => c.trim()));
      expect(rows.map((r) => r[1])).toEqual(['rk4', 'rk4', 'variationalMidpoint', 'variationalMidpoint', 'variationalTrapezoid', 'variationalTrapezoid']);
      for (const r of rows.filter((r) => r[1]!.startsWith('variational'))) {
        // Exact discrete Noether charges (rotations of x, translation of τ) and a bounded normalisation error.
        expect(Number(r[3])).toBeLessThan(1e-12);
        expect(Number(r[4])).toBeLessThan(1e-12);
        expect(Number(r[5])).toBeLessThan(1e-3);
        expect(Number(r[6])).toBeLessThan(0.05);
      }
      // Against the exact advance (quadrature of the radial equation): 2.334 rad per orbit.
      expect(Math.abs(numberAfter(out, 'perihelion advance per orbit:') - numberAfter(out, 'exact (quadrature):'))).toBeLessThan(5e-3);
      expect(numberAfter(out, 'exact (quadrature):')).toBeCloseTo(2.3344, 3);
    },
  },
  'noether-two-particles.ts': {
    args: ['--steps', '50', '--hidden', '16', '--samples', '256', '--time', '1', '--only', 'euclidean'],
    check: (out) => {
      // | network | inputs | final loss | integrator | max δM_true | max δL_true | max δM_NN | max δL_NN | ‖q − q_true‖ at T |
      const rows = out.split('\n').filter((l) => /^\| euclidean \|/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
      expect(rows.map((r) => [r[2], r[4]])).toEqual([['6', 'rk4'], ['6', 'variationalMidpoint']]);
      // Translation and rotation invariance: the network's own momenta, conserved to rounding by the variational integrator.
      expect(Number(rows[1]![7])).toBeLessThan(1e-12);
      expect(Number(rows[1]![8])).toBeLessThan(1e-12);
      expect(Number(rows[0]![9])).toBeLessThan(10);
    },
  },
  'lnn-double-pendulum.ts': {
    args: ['--steps', '60', '--hidden', '16', '--samples', '256', '--time', '1', '--tests', '2'],
    check: (out) => {
      // | model and integrator | final loss | median max |ΔE|/mgl | largest | median ‖θ − θ_true‖ at T | failed |
      const rows = out.split('\n').filter((l) => /^\| (true L|LNN|baseline)/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
      expect(rows.map((r) => r[1])).toEqual(['true L, rk4 (the floor)', 'LNN, variationalMidpoint', 'LNN, rk4', 'baseline MLP field, rk4']);
      // The floor: rk4 on the true L conserves E to O(dt⁴) and is its own reference.
      expect(Number(rows[0]![3])).toBeLessThan(1e-5);
      expect(Number(rows[0]![5])).toBe(0);
      // The same learned L by two integrators of order 2 and 4 at dt = 0.01: the same trajectories at T = 1.
      expect(rows[1]![6]).toBe('0/2');
      expect(Math.abs(Number(rows[1]![5]) / Number(rows[2]![5]) - 1)).toBeLessThan(0.05);
    },
  },
  'nbody.ts': {
    args: ['--n', '64', '--time', '0.5'],
    check: (out) => {
      expect(numberAfter(out, 'max |E − E₀|/|E₀| =')).toBeLessThan(1e-3);
      expect(numberAfter(out, 'max |L − L₀| =')).toBeLessThan(1e-13);
      expect(numberAfter(out, '2T/|W| =')).toBeGreaterThan(0.5);
    },
  },
};

describe('examples', () => {
  it('every example in examples/ has a smoke entry', () => {
    const files = readdirSync(new URL('../../examples/', import.meta.url)).filter((f) => f.endsWith('.ts'));
    const missing = files.filter((f) => !(f in smoke));
    expect(missing, `examples without small arguments in test/unit/examples.test.ts: ${missing.join(', ')}`).toEqual([]);
    for (const name of Object.keys(smoke)) expect(files).toContain(name);
  });

  // One at a time: each is a process of its own, and the suite's other files run beside this one.
  describe('run with small arguments', () => {
    for (const [file, { args, check, heavy }] of Object.entries(smoke)) {
      it.skipIf(heavy === true && !slow)(`${file} ${args.join(' ')}`, async () => {
        const { code, output } = await runExample(file, args);
        expect(code, output).toBe(0);
        check(output);
      }, 180_000);
    }
  });

  it.skipIf(!slow)('lj-fluid with its defaults (20 000 NVE steps of 256 atoms) finishes within a minute', async () => {
    const { code, output, seconds } = await runExample('lj-fluid.ts', []);
    expect(code, output).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(numberAfter(output, 'max |E − E₀|/N over the run =')).toBeLessThan(1e-3);
  }, 180_000);
});
