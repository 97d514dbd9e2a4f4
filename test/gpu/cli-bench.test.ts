/**
 * `darboux bench --backend all` measures the GPU too when there is one (here Mesa llvmpipe), naming the adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { gpuInfo, releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

describe('darboux bench on the GPU', () => {
  it('adds GPU rows next to the CPU ones, with the adapter described', async () => {
    let out = '', err = '';
    const io = { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } }, env: {} };
    const code = await main(['bench', '--model', 'henon-heiles', '--batch', '1,64', '--steps', '100', '--repeats', '2', '--json'], io);
    expect(code, err).toBe(0);
    const report = JSON.parse(out);
    expect(report.gpu).toBe((await gpuInfo()).description);
    expect(report.rows.map((r: { backend: string; batch: number }) => `${r.backend}/${r.batch}`)).toEqual(['cpu/1', 'cpu/64', 'gpu/1', 'gpu/64']);
    for (const row of report.rows) expect(row.trajectoryStepsPerSecond).toBeCloseTo(row.stepsPerSecond * row.batch, 3);
  });
});
