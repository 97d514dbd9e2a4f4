/**
 * `darboux train hnn` on a run's frames: CPU seconds (user + sys of this process, `process.cpuUsage`) of the
 * default (derivative loss on central-difference targets, minibatch 1024) against rollouts through implicit
 * midpoint (horizon 8, every window per step), per Adam step, and the audit's under-resolved file (refused).
 *
 *   npx tsx bench/train-frames.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../src/cli/main.js';
import type { CliStreams } from '../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-bench-train-frames-'));
const io: CliStreams = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} };

async function cpuSeconds(args: string[]): Promise<{ seconds: number; code: number }> {
  const before = process.cpuUsage();
  const code = await main(args, io);
  const used = process.cpuUsage(before);
  return { seconds: (used.user + used.system) / 1e6, code };
}

const run = (every: string, batch: string, file: string) =>
  main(['run', '--model', 'henon-heiles', '--init', 'random', '--radius', '0.1', '--seed', '1', '--batch', batch, '--steps', '10000', '--save-every', every, '--quiet', '-o', path.join(dir, file)], io);
await run('100', '64', 'hh.npz');
await run('20', '64', 'hh20.npz');
await run('10', '64', 'hh10.npz');
const rows: Array<[string, number, number, number]> = [];
const time = async (label: string, args: string[], steps: number) => {
  const { seconds, code } = await cpuSeconds(args);
  rows.push([label, code, seconds, seconds / steps]);
};
await time('hh.npz (save-every 100, frames 5 apart): refused', ['train', 'hnn', path.join(dir, 'hh.npz'), '--steps', '200', '--quiet'], 200);
await time('hh20.npz (frames 1 apart) default, 200 steps', ['train', 'hnn', path.join(dir, 'hh20.npz'), '--steps', '200', '--quiet'], 200);
await time('hh10.npz (frames 0.5 apart) default, 200 steps', ['train', 'hnn', path.join(dir, 'hh10.npz'), '--steps', '200', '--quiet'], 200);
await time('hh20.npz full batch (31680 samples), 20 steps', ['train', 'hnn', path.join(dir, 'hh20.npz'), '--steps', '20', '--batch-size', '100000', '--quiet'], 20);
await time('hh20.npz --loss rollout (midpoint, horizon 8, 64 windows), 2 steps', ['train', 'hnn', path.join(dir, 'hh20.npz'), '--steps', '2', '--loss', 'rollout', '--batch-size', '64', '--quiet'], 2);
console.log(`load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('case | exit | CPU s | CPU s per step');
for (const [label, code, s, per] of rows) console.log(`${label} | ${code} | ${s.toFixed(2)} | ${per.toFixed(4)}`);
fs.rmSync(dir, { recursive: true, force: true });
