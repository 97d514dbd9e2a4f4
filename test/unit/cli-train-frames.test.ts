/**
 * `darboux train hnn` on a run's frames: by default the derivative loss on targets estimated by 6th-order central
 * differences over the frame spacing (src/cli/train-frames.ts). Oracles: the closed-form harmonic oscillator for
 * the targets, the true Hénon–Heiles vector field at held-out states for the trained model (an untrained model
 * fails the same tolerance), and the refusals (under-resolved, unequally spaced frames). --loss rollout keeps
 * training through the integrator.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DarbouxError, hnn, loadArrays, saveArrays, type Hamiltonian } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { frameDerivatives, RESOLUTION_TOLERANCE } from '../../src/cli/train-frames.js';
import type { CliStreams } from '../../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-train-frames-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function darboux(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const io: CliStreams = { stdout: { write: () => true }, stderr: { write: (s: string) => { err += s; return true; } }, env: {} };
  const code = await main(args, io);
  return { code, err };
}

/** Harmonic-oscillator frames q = a cos(ωt + φ), p = −aω sin(ωt + φ) (H = p²/2 + ω²q²/2): frames × batch × 1. */
function oscillatorFrames(frames: number, h: number, omega: number, batch: number) {
  const qs = new Float64Array(frames * batch), ps = new Float64Array(frames * batch);
  for (let f = 0; f < frames; f++) {
    for (let b = 0; b < batch; b++) {
      const a = 0.5 + 0.1 * b, phase = 0.7 * b;
      qs[f * batch + b] = a * Math.cos(omega * f * h + phase);
      ps[f * batch + b] = -a * omega * Math.sin(omega * f * h + phase);
    }
  }
  const t = Float64Array.from({ length: frames }, (_, f) => f * h);
  return { qs: { shape: [frames, batch, 1], data: qs }, ps: { shape: [frames, batch, 1], data: ps }, t };
}

/** Relative RMS error of the model's vector field (dH/dp, −dH/dq) against the true Hénon–Heiles field at the states. */
function fieldError(h: Hamiltonian, q: Float64Array, p: Float64Array): number {
  let e = 0, n = 0;
  for (let i = 0; i < q.length; i += 2) {
    const [x, y, u, w] = [q[i]!, q[i + 1]!, p[i]!, p[i + 1]!];
    const truth = [u, w, -(x + 2 * x * y), -(y + x * x - y * y)];
    const g = h.gradient([x, y], [u, w]);
    const learned = [g.dp[0]!, g.dp[1]!, -g.dq[0]!, -g.dq[1]!];
    for (let c = 0; c < 4; c++) { e += (learned[c]! - truth[c]!) ** 2; n += truth[c]! ** 2; }
  }
  return Math.sqrt(e / n);
}

describe('frameDerivatives: derivative targets from frames', () => {
  it('matches the closed-form derivatives of a harmonic oscillator to the 6th-order stencil error, at interior frames only', () => {
    const h = 0.3, omega = 1.3, frames = 40, batch = 3;
    const { qs, ps, t } = oscillatorFrames(frames, h, omega, batch);
    const out = frameDerivatives(qs, ps, t, 'osc');
    expect(out.samples).toBe((frames - 6) * batch);
    expect(out.spacing).toBeCloseTo(h, 12);
    // Sample k is frame 3 + ⌊k / batch⌋ of trajectory k mod batch: its state and the exact dq/dt = p, dp/dt = −ω²q.
    const bound = 2 * (omega * h) ** 6 / 140; // the stencil's relative error for one frequency, with a margin of 2
    let worst = 0;
    for (let k = 0; k < out.samples; k++) {
      const f = 3 + Math.floor(k / batch), b = k % batch;
      expect(out.data.q[k]).toBe(qs.data[f * batch + b]);
      expect(out.data.p[k]).toBe(ps.data[f * batch + b]);
      const scale = 0.5 + 0.1 * b;
      worst = Math.max(worst, Math.abs(out.data.dqdt![k]! - out.data.p[k]!) / (scale * omega), Math.abs(out.data.dpdt![k]! + omega * omega * out.data.q[k]!) / (scale * omega * omega));
    }
    expect(worst).toBeLessThan(bound);
    expect(worst).toBeGreaterThan(bound / 100); // the bound is the stencil's, not slack
  });

  it('leaves out stencils that touch NaN frames (a failed member) and refuses too few or unequally spaced frames', () => {
    const { qs, ps, t } = oscillatorFrames(20, 0.2, 1, 2);
    qs.data[15 * 2 + 1] = Number.NaN; // trajectory 1 fails at frame 15: its stencils centred at 12 … 16 go
    const out = frameDerivatives(qs, ps, t, 'osc');
    expect(out.samples).toBe(14 + 14 - 5);
    expect(Array.from(out.data.dqdt!).every(Number.isFinite)).toBe(true);
    const short = oscillatorFrames(6, 0.2, 1, 2);
    expect(() => frameDerivatives(short.qs, short.ps, short.t, 'short')).toThrow(/7-frame central difference, and the file has 6 frames/);
    const uneven = oscillatorFrames(20, 0.2, 1, 2);
    uneven.t[9] = uneven.t[9]! + 0.01;
    expect(() => frameDerivatives(uneven.qs, uneven.ps, uneven.t, 'uneven')).toThrow(/equally spaced frames/);
  });

  it('refuses frames too far apart to resolve the motion (INPUT, with the spacing and the mismatch)', () => {
    const resolved = oscillatorFrames(40, 0.8, 1, 2);
    expect(frameDerivatives(resolved.qs, resolved.ps, resolved.t, 'ok').mismatch).toBeLessThan(RESOLUTION_TOLERANCE);
    const coarse = oscillatorFrames(40, 1.6, 1, 2);
    try {
      frameDerivatives(coarse.qs, coarse.ps, coarse.t, 'coarse');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DarbouxError);
      expect((e as DarbouxError).code).toBe('INPUT');
      expect((e as DarbouxError).message).toMatch(/coarse: frames 1\.6 apart do not resolve the motion .*--save-every.*--loss rollout/);
      expect((e as DarbouxError).details.mismatch).toBeGreaterThan(RESOLUTION_TOLERANCE);
    }
  });
});

describe('darboux train hnn on frames', () => {
  it('trains by the derivative loss (said on stderr) and learns the Hénon–Heiles field at held-out states', async () => {
    const train = path.join(dir, 'hh.npz'), held = path.join(dir, 'held.npz'), out = path.join(dir, 'hnn.json');
    for (const [file, seed] of [[train, '1'], [held, '2']] as const) {
      const run = await darboux(['run', '--model', 'henon-heiles', '--init', 'random', '--radius', '0.1', '--seed', seed, '--batch', '16', '--steps', '2000', '--save-every', '10', '--quiet', '-o', file]);
      expect(run.code, run.err).toBe(0);
    }
    const res = await darboux(['train', 'hnn', train, '--hidden', '32,32', '--steps', '1000', '--lr', '3e-3', '-o', out]);
    expect(res.code, res.err).toBe(0);
    expect(res.err).toMatch(/loss derivative \(targets dq\/dt, dp\/dt by 6th-order central differences over the frame spacing 0\.5: 3120 samples; minibatch 1024;/);
    const saved = JSON.parse(fs.readFileSync(out, 'utf8'));
    const heldOut = loadArrays(held);
    const q = heldOut.qs!.data, p = heldOut.ps!.data;
    const trainedError = fieldError(hnn(saved.options).withParams(saved.params).hamiltonian!, q, p);
    const untrainedError = fieldError(hnn(saved.options).hamiltonian!, q, p);
    expect(untrainedError).toBeGreaterThan(0.5);
    expect(trainedError).toBeLessThan(0.1); // 0.04 measured (1000 steps); the stencil's own error at spacing 0.5 is ≈ 1e-4
  });

  it('refuses the under-resolved frames of a run saved every 5 time units, fast; --loss rollout still trains through the integrator', async () => {
    const coarse = path.join(dir, 'coarse.npz');
    expect((await darboux(['run', '--model', 'henon-heiles', '--init', 'random', '--radius', '0.1', '--seed', '1', '--batch', '4', '--steps', '2000', '--save-every', '100', '--quiet', '-o', coarse])).code).toBe(0);
    const refused = await darboux(['train', 'hnn', coarse, '--steps', '200', '--quiet', '-o', path.join(dir, 'x.json')]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/frames 5 apart do not resolve the motion/);
    const small = path.join(dir, 'small.npz');
    const { qs, ps, t } = oscillatorFrames(12, 0.1, 1, 2);
    saveArrays(small, { t: { shape: [12], data: t }, qs: { shape: [12, 2, 1], data: qs.data }, ps: { shape: [12, 2, 1], data: ps.data } });
    for (const flags of [['--loss', 'rollout'], ['--horizon', '2']]) {
      const rollout = await darboux(['train', 'hnn', small, '--hidden', '4', '--steps', '2', ...flags, '-o', path.join(dir, 'r.json')]);
      expect(rollout.code, rollout.err).toBe(0);
      expect(rollout.err).toMatch(/loss rollout \(rollout through midpoint, horizon \d\)/);
    }
  });
});
