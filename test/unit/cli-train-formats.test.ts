/**
 * `darboux train` reads its data in every format the CLI writes: one run written as .npz, .csv and .npy trains
 * the same sympnet (the same parameters, bit for bit, from the same seed), and samples as a .csv with one column
 * per component train the same hnn as the .npz (in-process).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveArrays } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import type { CliStreams } from '../../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-train-formats-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture(): { io: CliStreams; err: () => string } {
  let err = '';
  return { io: { stdout: { write: () => true }, stderr: { write: (s: string) => { err += s; } }, env: {} }, err: () => err };
}

async function darboux(args: string[]): Promise<{ code: number; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, err: c.err() };
}

const model = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));

describe('darboux train: data in every format', () => {
  it("a run's frames as .npz, .csv and .npy train the same sympnet; .npy refuses trajectory training (no times)", async () => {
    for (const ext of ['npz', 'csv', 'npy']) {
      const run = await darboux(['run', '--model', 'henon-heiles', '--init', 'random', '--batch', '3', '--steps', '60', '--save-every', '5', '--quiet', '-o', path.join(dir, `run.${ext}`)]);
      expect(run.code, run.err).toBe(0);
      const train = await darboux(['train', 'sympnet', path.join(dir, `run.${ext}`), '--steps', '15', '--seed', '2', '--quiet', '-o', path.join(dir, `sympnet-${ext}.json`)]);
      expect(train.code, `${ext}: ${train.err}`).toBe(0);
    }
    const [npz, csv, npy] = ['npz', 'csv', 'npy'].map((ext) => model(`sympnet-${ext}.json`));
    expect(npz.history).toHaveLength(15);
    expect(csv.params).toEqual(npz.params);
    expect(npy.params).toEqual(npz.params);
    expect(csv.history).toEqual(npz.history);
    const hnn = await darboux(['train', 'hnn', path.join(dir, 'run.npy'), '--steps', '2', '--quiet', '-o', path.join(dir, 'x.json')]);
    expect(hnn.code).toBe(1);
    expect(hnn.err).toMatch(/run\.npy: a \.npy holds no frame times/);
  });

  it('samples as a .csv (columns q0, p0, dqdt0, dpdt0) train the same hnn as the same samples in a .npz', async () => {
    const n = 40, q = new Float64Array(n), p = new Float64Array(n);
    for (let k = 0; k < n; k++) { q[k] = Math.sin(1.7 * k); p[k] = Math.cos(0.3 * k); }
    saveArrays(path.join(dir, 'samples.npz'), { q: { shape: [n, 1], data: q }, p: { shape: [n, 1], data: p }, dqdt: { shape: [n, 1], data: p }, dpdt: { shape: [n, 1], data: q.map((x) => -x) } });
    saveArrays(path.join(dir, 'samples.csv'), { q0: { shape: [n], data: q }, p0: { shape: [n], data: p }, dqdt0: { shape: [n], data: p }, dpdt0: { shape: [n], data: q.map((x) => -x) } });
    for (const ext of ['npz', 'csv']) {
      const train = await darboux(['train', 'hnn', path.join(dir, `samples.${ext}`), '--hidden', '8', '--steps', '10', '--quiet', '-o', path.join(dir, `hnn-${ext}.json`)]);
      expect(train.code, `${ext}: ${train.err}`).toBe(0);
    }
    const [npz, csv] = ['npz', 'csv'].map((ext) => model(`hnn-${ext}.json`));
    expect(csv.params).toEqual(npz.params);
    expect(csv.history).toEqual(npz.history);
    expect(npz.history[9]).toBeLessThan(npz.history[0]);
  });
});
