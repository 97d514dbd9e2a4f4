/** `darboux train lnn DATA`: a Lagrangian network fitted to q, v, a samples from the command line (in-process). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lnn, saveArrays } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import type { CliStreams } from '../../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-train-lnn-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture(): { io: CliStreams; out: () => string; err: () => string } {
  let out = '', err = '';
  return { io: { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } }, env: {} }, out: () => out, err: () => err };
}

describe('darboux train lnn', () => {
  it('fits the 1-D oscillator (a = −q) from q, v, a samples and writes a model JSON that restores it', async () => {
    const n = 256, q = new Float64Array(n), v = new Float64Array(n), a = new Float64Array(n);
    for (let k = 0; k < n; k++) { q[k] = Math.cos(0.37 * k) * (0.5 + (k % 7) / 10); v[k] = Math.sin(0.91 * k); a[k] = -q[k]!; }
    const data = path.join(dir, 'osc.npz'), out = path.join(dir, 'lnn.json');
    saveArrays(data, { q: { shape: [n, 1], data: q }, v: { shape: [n, 1], data: v }, a: { shape: [n, 1], data: a } });
    const c = capture();
    expect(await main(['train', 'lnn', data, '--hidden', '16', '--steps', '300', '--lr', '0.01', '--json', '--quiet', '-o', out], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ command: 'train', kind: 'lnn', dof: 1, steps: 300 });
    const saved = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(saved.kind).toBe('lnn');
    expect(saved.history[saved.history.length - 1]).toBeLessThan(saved.history[0] / 10);
    const model = lnn(saved.options).withParams(saved.params);
    expect(Object.keys(model.params).sort()).toEqual(Object.keys(saved.params).sort());
  });

  it('an lnn data file without v or a is refused naming the missing array', async () => {
    const data = path.join(dir, 'bad.npz');
    saveArrays(data, { q: { shape: [4, 1], data: new Float64Array(4) }, p: { shape: [4, 1], data: new Float64Array(4) } });
    const c = capture();
    expect(await main(['train', 'lnn', data, '--quiet'], c.io)).toBe(1);
    expect(c.err()).toMatch(/no array 'v'/);
  });
});
