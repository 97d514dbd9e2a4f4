/**
 * Ensembles split over a scheduler's tasks: `darboux run … --shard i/n` integrates members
 * [floor((i−1)·B/n), floor(i·B/n)) of a batch of B, and writes `part-0000i-of-0000n.npz` plus a manifest
 * `part-0000i-of-0000n.json` into the `--out` folder; `darboux merge` (merge.ts) joins the parts.
 *
 * The shard number is 1-based. With `--shards n` and no `--shard`, it comes from the environment:
 * `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job, 0-based: index k is shard k + 1) or `SLURM_ARRAY_TASK_ID`
 * (taken as 1-based: submit with `--array=1-n`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './args.js';

/** One task's share of the batch: shard `index` of `count` (1-based), members [start, end) (0-based). */
export interface ShardPlan {
  readonly index: number;
  readonly count: number;
  readonly start: number;
  readonly end: number;
}

/** The manifest written beside each part (`part-…-of-….json`). */
export interface ShardManifest {
  readonly format: 'darboux-shard/1';
  readonly darboux: string;
  readonly shard: { readonly index: number; readonly count: number };
  /** Global member indices of the part, 0-based, end exclusive; `batch` is the whole ensemble's size. */
  readonly members: { readonly start: number; readonly end: number; readonly batch: number };
  /** Everything that must agree between the parts of one run (system, method, dt, steps, states, …). */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly part: { readonly file: string; readonly bytes: number; readonly sha256: string };
  /** With --on-failure report: the members that failed ({ member, code, step }), each at its last finite state. */
  readonly failed?: readonly unknown[];
}

/** The flags of `run` that split an ensemble. */
export const SHARD_OPTIONS = {
  shard: { type: 'string' },
  shards: { type: 'string' },
} as const;

/** The help lines of the shard flags. */
export const SHARD_HELP = `Sharding (one scheduler task per shard; join with darboux merge):
  --shard I/N        run shard I of N (1-based): members [floor((I-1)·B/N), floor(I·B/N)) of --batch B;
                     --out names a folder that receives part-0000I-of-0000N.npz and its manifest .json
  --shards N         N shards, I from the environment: JOB_COMPLETION_INDEX (Kubernetes, 0-based: I = index+1)
                     or SLURM_ARRAY_TASK_ID (1-based: submit with --array=1-N)
  Random states (--init random or energy, --seed s) depend on (s, member index) only, so the parts do not depend on N.`;

/** The member range [start, end) (0-based) of shard `index` of `count` over `batch` members. @example shardRange(2, 4, 10) // { start: 2, end: 5 } */
export function shardRange(index: number, count: number, batch: number): { start: number; end: number } {
  return { start: Math.floor(((index - 1) * batch) / count), end: Math.floor((index * batch) / count) };
}

function positiveInteger(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got '${text}'`, 'run');
  return n;
}

/** The shard number and count from --shard I/N, or --shards N and the environment. */
function shardOf(values: { shard?: string; shards?: string }, env: Readonly<Record<string, string | undefined>>): { index: number; count: number } | undefined {
  if (values.shard !== undefined) {
    if (values.shards !== undefined) throw new UsageError('give --shard I/N or --shards N, not both', 'run');
    const m = /^\s*([^/]+)\/([^/]+)\s*$/.exec(values.shard);
    if (!m) throw new UsageError(`--shard takes I/N (1-based, e.g. 3/16), got '${values.shard}'`, 'run');
    return { index: positiveInteger(m[1]!, '--shard I'), count: positiveInteger(m[2]!, '--shard N') };
  }
  if (values.shards === undefined) return undefined;
  const count = positiveInteger(values.shards, '--shards');
  const k8s = env.JOB_COMPLETION_INDEX, slurm = env.SLURM_ARRAY_TASK_ID;
  if (k8s !== undefined && k8s !== '') {
    const k = Number(k8s);
    if (!Number.isSafeInteger(k) || k < 0) throw new UsageError(`JOB_COMPLETION_INDEX must be a ≥ 0 integer, got '${k8s}'`, 'run');
    return { index: k + 1, count };
  }
  if (slurm !== undefined && slurm !== '') return { index: positiveInteger(slurm, 'SLURM_ARRAY_TASK_ID (1-based: submit with --array=1-N)'), count };
  throw new UsageError('--shards N takes the shard number from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, and neither is set; give --shard I/N', 'run');
}

/**
 * The shard plan of a command line, or undefined when it does not shard. Usage errors: a malformed --shard,
 * I > N, more shards than members, --shards without an index in the environment.
 *
 * @example
 * shardPlan({ shard: '2/4' }, 10, {}) // { index: 2, count: 4, start: 2, end: 5 }
 * shardPlan({ shards: '4' }, 10, { JOB_COMPLETION_INDEX: '1' }) // the same
 */
export function shardPlan(values: { shard?: string; shards?: string }, batch: number, env: Readonly<Record<string, string | undefined>>): ShardPlan | undefined {
  const shard = shardOf(values, env);
  if (!shard) return undefined;
  const { index, count } = shard;
  if (index > count) throw new UsageError(`shard ${index} of ${count} does not exist (shards are numbered 1..${count})`, 'run');
  if (count > batch) throw new UsageError(`${count} shards for a batch of ${batch}: every shard needs at least one member (raise --batch or lower N)`, 'run');
  return { index, count, ...shardRange(index, count, batch) };
}

/** The base name of a part: part-00003-of-00016. @example partName({ index: 3, count: 16 }) // 'part-00003-of-00016' */
export function partName(shard: { index: number; count: number }): string {
  return `part-${String(shard.index).padStart(5, '0')}-of-${String(shard.count).padStart(5, '0')}`;
}

/** The SHA-256 of bytes, hex. @example sha256(new Uint8Array()) // 'e3b0c442…' */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The SHA-256 of a file's bytes (for the manifest's record of input files). @example fileDigest('q0.npy') */
export function fileDigest(file: string): { file: string; sha256: string } {
  return { file, sha256: sha256(fs.readFileSync(file)) };
}

/**
 * Writes one part's manifest beside its `.npz` (already written), with the part's checksum; returns its path.
 *
 * @example
 * writeManifest('out/part-00001-of-00004.npz', plan, 100, settings, '0.1.0');
 */
export function writeManifest(partFile: string, plan: ShardPlan, batch: number, settings: Record<string, unknown>, version: string, failed?: readonly unknown[]): string {
  const bytes = fs.readFileSync(partFile);
  const manifest: ShardManifest = {
    format: 'darboux-shard/1', darboux: version,
    shard: { index: plan.index, count: plan.count },
    members: { start: plan.start, end: plan.end, batch },
    settings,
    part: { file: path.basename(partFile), bytes: bytes.length, sha256: sha256(bytes) },
    ...(failed ? { failed } : {}),
  };
  const file = manifestPath(partFile);
  fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return file;
}

/** The manifest of a part file: the same name with .json. @example manifestPath('out/part-00001-of-00004.npz') // 'out/part-00001-of-00004.json' */
export function manifestPath(partFile: string): string {
  return partFile.replace(/\.npz$/i, '') + '.json';
}

/** The part file of a shard under the --out folder (created when missing). @example partPath('out', plan) // 'out/part-00002-of-00004.npz' */
export function partPath(outDir: string, plan: ShardPlan): string {
  if (/\.(npz|npy|csv|json)$/i.test(outDir)) {
    throw new UsageError(`with --shard/--shards, --out names a folder for the parts (part-…-of-….npz and .json), got the file '${outDir}'; join them with darboux merge DIR -o ${path.basename(outDir)}`, 'run');
  }
  fs.mkdirSync(outDir, { recursive: true });
  return path.join(outDir, `${partName(plan)}.npz`);
}

/**
 * The seed of member `member`'s random initial state: a hash of (seed, member) only, so a member draws the same
 * state whatever the batch is split into.
 *
 * @example
 * createRandom(memberSeed(7, 12)).next() // member 12's first draw, in any shard
 */
export function memberSeed(seed: number, member: number): number {
  // Both as two 32-bit halves through murmur3's finaliser, chained.
  let h = 0x9e3779b9;
  for (const word of [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, member >>> 0, Math.floor(member / 2 ** 32) >>> 0]) {
    h = Math.imul(h ^ word, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
