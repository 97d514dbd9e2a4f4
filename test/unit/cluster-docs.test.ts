/**
 * The cluster examples in docs/ run as written: the Slurm array script and the Kubernetes Indexed Job give the same
 * `darboux run` arguments, and those arguments (with a smaller --steps/--batch appended, and the output in a scratch
 * folder) run every shard from the scheduler's variable (SLURM_ARRAY_TASK_ID 1…N, JOB_COMPLETION_INDEX 0…N−1) and
 * merge into one ensemble with every member present (in-process).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpz } from '../../src/index.js';
import { main } from '../../src/cli/main.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-cluster-docs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The arguments after `npx darboux` in the Slurm script (continuation lines joined, comments dropped). */
function slurmArgs(): string[] {
  const text = fs.readFileSync('docs/slurm-array.sh', 'utf8').replace(/\\\n\s*/g, ' ');
  const line = text.split('\n').find((l) => l.startsWith('npx darboux run '));
  expect(line, 'docs/slurm-array.sh runs npx darboux run').toBeDefined();
  return line!.replace(/^npx darboux /, '').trim().split(/\s+/);
}

/** The container's args in the Kubernetes manifest (a YAML flow sequence of JSON strings). */
function kubernetesArgs(): string[] {
  const text = fs.readFileSync('docs/k8s-indexed-job.yaml', 'utf8');
  const m = /args: (\[[^\]]*\])/.exec(text);
  expect(m, 'docs/k8s-indexed-job.yaml has args: [...]').not.toBeNull();
  return JSON.parse(m![1]!.replace(/\s+/g, ' '));
}

async function darboux(args: string[], env: Record<string, string>): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await main(args, { stdout: { write: () => true }, stderr: { write: (s: string) => { err += s; } }, env });
  return { code, err };
}

describe('docs/slurm-array.sh and docs/k8s-indexed-job.yaml', () => {
  it('describe the same run, which runs shard by shard from either variable and merges', async () => {
    const slurm = slurmArgs(), k8s = kubernetesArgs();
    const withoutOut = (args: string[]) => args.filter((_, i) => args[i] !== '--out' && args[i - 1] !== '--out');
    expect(withoutOut(k8s)).toEqual(withoutOut(slurm)); // the same run; each writes to its own storage
    expect(slurm).toContain('--out');
    const shards = Number(slurm[slurm.indexOf('--shards') + 1]);
    expect(shards).toBe(16);
    // Smaller, and written here: later flags win (node:util parseArgs keeps the last value).
    const small = (out: string) => [...slurm, '--steps', '400', '--batch', '96', '--save-every', '100', '--out', out, '--quiet'];
    for (let k = 0; k < shards; k++) {
      const a = await darboux(small(path.join(dir, 'slurm')), { SLURM_ARRAY_TASK_ID: String(k + 1) });
      expect(a.code, a.err).toBe(0);
      const b = await darboux(small(path.join(dir, 'k8s')), { JOB_COMPLETION_INDEX: String(k) });
      expect(b.code, b.err).toBe(0);
    }
    for (const which of ['slurm', 'k8s']) {
      const m = await darboux(['merge', path.join(dir, which), '-o', path.join(dir, `${which}.npz`), '--quiet'], {});
      expect(m.code, m.err).toBe(0);
    }
    const [a, b] = ['slurm', 'k8s'].map((w) => readNpz(fs.readFileSync(path.join(dir, `${w}.npz`))));
    expect(a!.q!.shape).toEqual([96, 2]);
    expect(Array.from(a!.qs!.data)).toEqual(Array.from(b!.qs!.data));
    expect(a!.qs!.data.every(Number.isFinite)).toBe(true);
  });
});
