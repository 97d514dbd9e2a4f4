/**
 * `darboux merge PARTS… -o out.npz`: joins the parts of a sharded run (`darboux run … --shard i/n`) into the
 * file one unsharded run writes. It checks each part against its manifest's SHA-256, that the manifests
 * describe the same run, and that the parts cover every member exactly once; then concatenates q, p (and the
 * frames qs, ps, energy) along the batch axis.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DarbouxError, loadTrajectory, saveTrajectory, type Trajectory } from '../index.js';
import { COMMON_OPTIONS, parseCommand, UsageError } from './args.js';
import { printJson } from './output.js';
import { outputFormat } from './run.js';
import { manifestPath, partName, sha256, shardRange, type ShardManifest } from './shard.js';
import type { CliStreams } from './terminal.js';

const OPTIONS = { ...COMMON_OPTIONS, out: { type: 'string', short: 'o' } } as const;

/** The usage text of `darboux merge`. */
export const MERGE_USAGE = `Usage: darboux merge PARTS… -o FILE

Joins the parts of a sharded run (darboux run … --shard I/N --out DIR) into one trajectory file, as one
unsharded run writes it. PARTS are part-…-of-….npz files, their .json manifests, or folders holding them.

Checks, each an exit 1 with a message naming the file or the member range:
  every part's SHA-256 matches its manifest; the manifests describe the same run (system, method, dt, steps,
  batch, states, backend, darboux version); every member 0..B-1 is in exactly one part (no gap, no overlap).

Options:
  --out, -o FILE     .npz, .npy, .csv or .json (required)
  --json             a JSON summary on stdout
  --quiet            no log on stderr
  --help, -h         this help

Example:
  darboux merge runs/ -o ensemble.npz`;

interface Part { readonly file: string; readonly manifest: ShardManifest }

const PART_FILE = /^part-\d+-of-\d+\.npz$/;

/** The part files named by the command line: .npz files, manifests (.json) and folders of parts. */
function partFiles(positionals: readonly string[]): string[] {
  const files: string[] = [];
  for (const given of positionals) {
    if (fs.existsSync(given) && fs.statSync(given).isDirectory()) {
      const inside = fs.readdirSync(given).filter((f) => PART_FILE.test(f)).sort();
      if (inside.length === 0) throw new DarbouxError('INPUT', `${given}: no part-…-of-….npz files in this folder`, { path: given });
      files.push(...inside.map((f) => path.join(given, f)));
    } else files.push(given.replace(/\.json$/i, '.npz'));
  }
  return [...new Set(files.map((f) => path.normalize(f)))];
}

/** A part with its manifest, its checksum verified. */
function readPart(file: string): Part {
  const mPath = manifestPath(file);
  let manifest: ShardManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(mPath, 'utf8')) as ShardManifest;
  } catch (e) {
    throw new DarbouxError('INPUT', `${file}: cannot read its manifest ${mPath} (${(e as Error).message}); every part needs the .json darboux run --shard writes beside it`, { path: mPath });
  }
  if (manifest?.format !== 'darboux-shard/1') throw new DarbouxError('INPUT', `${mPath}: not a darboux shard manifest (format '${String(manifest?.format)}', expected 'darboux-shard/1')`, { path: mPath });
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new DarbouxError('INPUT', `cannot read ${file}: ${(e as Error).message}`, { path: file });
  }
  const actual = sha256(bytes);
  if (actual !== manifest.part.sha256) {
    throw new DarbouxError('INPUT', `${file}: checksum mismatch: its SHA-256 is ${actual} but its manifest records ${manifest.part.sha256} (the file changed after shard ${manifest.shard.index}/${manifest.shard.count} wrote it); rerun that shard`, { path: file, kind: 'checksum', expected: manifest.part.sha256, actual });
  }
  return { file, manifest };
}

/** Throws unless every manifest describes the run of the first one. */
function checkSameRun(parts: readonly Part[]): void {
  const [first] = parts;
  for (const part of parts.slice(1)) {
    const a = first!.manifest, b = part.manifest;
    const keys = [...new Set([...Object.keys(a.settings), ...Object.keys(b.settings)])];
    const differs = keys.find((k) => JSON.stringify(a.settings[k]) !== JSON.stringify(b.settings[k]));
    const what = differs !== undefined ? `${differs} ${JSON.stringify(a.settings[differs])} vs ${JSON.stringify(b.settings[differs])}`
      : a.members.batch !== b.members.batch ? `batch ${a.members.batch} vs ${b.members.batch}`
        : a.darboux !== b.darboux ? `darboux version ${a.darboux} vs ${b.darboux}` : undefined;
    if (what !== undefined) {
      throw new DarbouxError('INPUT', `${first!.file} and ${part.file} are parts of different runs: ${what}`, { kind: 'settings', files: [first!.file, part.file], key: differs });
    }
  }
}

/** The shards of an N-way split that hold members [start, end): 'shard 2/4 (part-00002-of-00004.npz)'. */
function shardsOf(start: number, end: number, count: number, batch: number): string {
  const names: string[] = [];
  for (let i = 1; i <= count; i++) {
    const r = shardRange(i, count, batch);
    if (r.start < end && r.end > start) names.push(`shard ${i}/${count} (${partName({ index: i, count })}.npz)`);
  }
  return names.join(', ');
}

/** The parts in member order; throws naming every gap and overlap. */
function checkCoverage(parts: readonly Part[]): Part[] {
  const sorted = [...parts].sort((a, b) => a.manifest.members.start - b.manifest.members.start);
  const batch = sorted[0]!.manifest.members.batch, count = sorted[0]!.manifest.shard.count;
  const problems: string[] = [], gaps: number[][] = [], overlaps: number[][] = [];
  let covered = 0, previous: Part | undefined;
  for (const part of sorted) {
    const { start, end } = part.manifest.members;
    if (start > covered) {
      gaps.push([covered, start]);
      problems.push(`members [${covered}, ${start}) are in no part: missing ${shardsOf(covered, start, count, batch)}`);
    } else if (start < covered) {
      overlaps.push([start, Math.min(covered, end)]);
      problems.push(`members [${start}, ${Math.min(covered, end)}) are in both ${previous!.file} and ${part.file}`);
    }
    covered = Math.max(covered, end);
    previous = part;
  }
  if (covered < batch) {
    gaps.push([covered, batch]);
    problems.push(`members [${covered}, ${batch}) are in no part: missing ${shardsOf(covered, batch, count, batch)}`);
  }
  if (problems.length > 0) {
    throw new DarbouxError('INPUT', `the parts do not cover members [0, ${batch}) exactly once: ${problems.join('; ')}`, { kind: gaps.length > 0 ? 'missing' : 'overlap', batch, gaps, overlaps });
  }
  return sorted;
}

/** Concatenates trajectories along the batch axis (their frames' times must agree bit for bit). */
function concatenate(parts: readonly { file: string; traj: Trajectory }[]): Trajectory {
  const first = parts[0]!.traj, dof = first.dof;
  const batch = parts.reduce((s, p) => s + p.traj.batch, 0);
  const frames = first.frames?.t.length;
  for (const { file, traj } of parts) {
    const same = traj.dof === dof && traj.frames?.t.length === frames
      && (traj.frames === undefined || traj.frames.t.every((t, i) => Object.is(t, first.frames!.t[i])));
    if (!same) throw new DarbouxError('INPUT', `${file}: its dof or frame times differ from ${parts[0]!.file}`, { path: file });
  }
  const q = new Float64Array(batch * dof), p = new Float64Array(batch * dof);
  let at = 0;
  for (const { traj } of parts) { q.set(traj.q, at * dof); p.set(traj.p, at * dof); at += traj.batch; }
  if (frames === undefined) return { batch, dof, q, p };
  const qs = new Float64Array(frames * batch * dof), ps = new Float64Array(frames * batch * dof);
  at = 0;
  for (const { traj } of parts) {
    const width = traj.batch * dof;
    for (let f = 0; f < frames; f++) {
      qs.set(traj.frames!.q.subarray(f * width, (f + 1) * width), (f * batch + at) * dof);
      ps.set(traj.frames!.p.subarray(f * width, (f + 1) * width), (f * batch + at) * dof);
    }
    at += traj.batch;
  }
  return { batch, dof, q, p, frames: { t: first.frames!.t, q: qs, p: ps, ...joinEnergies(parts, frames, batch) } };
}

/** The parts' frame energies (frames × members) joined along the members, when every part carries them. */
function joinEnergies(parts: readonly { traj: Trajectory }[], frames: number, batch: number): { energy?: Float64Array } {
  if (!parts.every(({ traj }) => traj.frames?.energy)) return {};
  const energy = new Float64Array(frames * batch);
  let at = 0;
  for (const { traj } of parts) {
    for (let f = 0; f < frames; f++) energy.set(traj.frames!.energy!.subarray(f * traj.batch, (f + 1) * traj.batch), f * batch + at);
    at += traj.batch;
  }
  return { energy };
}

/**
 * `darboux merge`: exit 0 after writing the joined file, 1 when a part is missing, overlaps, was altered or
 * belongs to another run, 2 on a usage error.
 *
 * @example
 * await mergeCommand(['runs/', '-o', 'ensemble.npz'], processStreams()); // 0
 */
export async function mergeCommand(argv: string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parseCommand('merge', argv, OPTIONS, true);
  if (values.help) { io.stdout.write(`${MERGE_USAGE}\n`); return 0; }
  if (values.out === undefined) throw new UsageError('--out/-o FILE is required', 'merge');
  if (positionals.length === 0) throw new UsageError('give the parts: part files, their manifests, or a folder', 'merge');
  outputFormat('merge', values.out);
  const parts = partFiles(positionals).map(readPart);
  checkSameRun(parts);
  const ordered = checkCoverage(parts);
  const loaded = ordered.map((part) => {
    const traj = loadTrajectory(part.file);
    const { start, end } = part.manifest.members;
    if (traj.batch !== end - start) throw new DarbouxError('INPUT', `${part.file}: holds ${traj.batch} members, its manifest says [${start}, ${end})`, { path: part.file });
    return { file: part.file, traj };
  });
  const merged = concatenate(loaded);
  saveTrajectory(values.out, merged);
  // Members that failed in parts run with --on-failure report (at their last finite state, NaN frames after it).
  const failed = ordered.flatMap((part) => part.manifest.failed ?? []);
  const summary = {
    command: 'merge', parts: ordered.length, batch: merged.batch, dof: merged.dof, frames: merged.frames?.t.length ?? 0, out: values.out,
    settings: ordered[0]!.manifest.settings, ...(failed.length > 0 ? { failed } : {}),
  };
  if (values.json) printJson(io, summary);
  if (values.quiet !== true) io.stderr.write(`merge: ${ordered.length} parts, ${merged.batch} members${failed.length > 0 ? ` (${failed.length} failed: see the parts' manifests)` : ''}; wrote ${values.out}\n`);
  return 0;
}
