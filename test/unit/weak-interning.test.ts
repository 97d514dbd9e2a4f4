/**
 * Interning is weak: a long-lived process that compiles Hamiltonians with ever new parameter values (each compile
 * specialises them into new constant nodes) keeps a bounded intern table and heap. Runs weak-interning.script.ts
 * in a child `node --expose-gc` (collections must be forced to observe it), 400 compiles.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('./weak-interning.script.ts', import.meta.url));

describe('weak interning', () => {
  it('400 compiles with new parameter values: the intern table and the heap stay bounded', () => {
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '400'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
    expect(run.status, run.stderr).toBe(0);
    const samples = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { compiles: number; interned: number; heapBytes: number }[];
    expect(samples.map((s) => s.compiles)).toEqual([50, 200, 400]);
    const [after50, , after400] = samples as [(typeof samples)[0], unknown, (typeof samples)[0]];
    // A strong table grew by ~40 nodes per compile here (2 143 → 16 318 nodes over 400 compiles).
    expect(after400.interned).toBeLessThanOrEqual(after50.interned + 20);
    // ... and the heap by ~15 kB per compile (5 MB over these 350); now it stays within warm-up noise.
    expect(after400.heapBytes - after50.heapBytes).toBeLessThan(2_000_000);
  });
});
