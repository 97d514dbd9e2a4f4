/**
 * `darboux run`: integrates a system from the command line and writes the trajectory (final state, and frames
 * every k steps with the initial state first) to a file or stdout.
 */
import { compile, methodNames, saveTrajectory, trajectoryFromRun, withFrameEnergies, type Hamiltonian } from '../index.js';
import { formatOf } from '../io/trajectory-formats.js';
import { COMMON_OPTIONS, numberFlag, parseCommand, UsageError } from './args.js';
import { chooseStates, chooseSystem, STATE_HELP, STATE_OPTIONS, SYSTEM_HELP, SYSTEM_OPTIONS } from './system.js';
import { printJson, printStateCsv, rowsOf } from './output.js';
import { progressLine, type CliStreams } from './terminal.js';
import { fileDigest, partPath, SHARD_HELP, SHARD_OPTIONS, shardPlan, writeManifest } from './shard.js';
import { SECTION_RUN_HELP, SECTION_RUN_OPTIONS, sectionRunFlags, writeSectionOutputs, writeSectionPlot } from './run-sections.js';
import { readSweepFile, replicaStates, sweepParams, SWEEP_HELP, SWEEP_OPTIONS, writeSweepOutputs, type SweepGrid } from './sweep.js';

/** Flags of `compile` every integrating command takes. */
export const STEPPER_OPTIONS = {
  method: { type: 'string' },
  dt: { type: 'string' },
  backend: { type: 'string' },
} as const;

const OPTIONS = {
  ...COMMON_OPTIONS, ...SYSTEM_OPTIONS, ...STATE_OPTIONS, ...STEPPER_OPTIONS,
  steps: { type: 'string' },
  'save-every': { type: 'string' },
  out: { type: 'string', short: 'o' },
  'on-failure': { type: 'string' },
  ...SHARD_OPTIONS,
  ...SECTION_RUN_OPTIONS,
  ...SWEEP_OPTIONS,
} as const;

/** The usage text of `darboux run` (its --help, and the message of a usage error). */
export const RUN_USAGE = `Usage: darboux run <system> [initial states] [options]

Integrates every trajectory by --steps steps and writes the final state (and frames).

${SYSTEM_HELP}

${STATE_HELP}

Options:
  --method NAME      integration method (default leapfrog): ${methodNames().join(', ')}
  --dt NUMBER        step size (default: the model's, else required)
  --steps N          steps (required)
  --backend B        cpu (f64, default), gpu (f32 WGSL) or auto
  --save-every K     also record every K-th state: frames t, qs, ps (the initial state first)
${SECTION_RUN_HELP}
${SWEEP_HELP}
  --out, -o FILE     .npz, .npy, .csv or .json (default: the final state as CSV on stdout)
  --on-failure M     throw (default: a member that turns non-finite, or whose implicit solve fails, ends the run
                     with exit 1) or report (every member is written, a failed one at its last finite state; the
                     summary and a shard's manifest list them as 'failed': [{ member, code, step }])
  --json             a JSON summary on stdout (with the final state when there is no --out)
  --quiet            no progress or log on stderr
  --help, -h         this help

${SHARD_HELP}

Output (--out out.npz): 'q', 'p' (batch × dof, final state, float64); with --save-every k also 't' (frames),
'qs', 'ps' (frames × batch × dof, the initial state first) and 'energy' (frames × batch: H at every frame, so
darboux plot energy out.npz needs no system). .json holds the same arrays; .csv and .npy hold the frames (or
the final state) as one table.

Example:
  darboux run --H '(u^2+w^2)/2 + k*(x^2+y^2)/2' --q x,y --p u,w --params k=1 --method leapfrog --dt 0.01 \\
    --steps 1000 --batch 4 --q0 q0.npy --p0 p0.npy --backend cpu --save-every 10 --out out.npz`;

/** The format of an output file by its extension; a UsageError for an unknown one. @example outputFormat('run', 'out.npz') // 'npz' */
export function outputFormat(command: string, path: string) {
  try {
    return formatOf(path);
  } catch (e) {
    throw new UsageError((e as Error).message, command);
  }
}

/** The backend flag, checked. @example backendFlag('run', 'gpu') // 'gpu' */
export function backendFlag(command: string, text: string | undefined, fallback: 'cpu' | 'gpu' | 'auto' = 'cpu'): 'cpu' | 'gpu' | 'auto' {
  const b = text ?? fallback;
  if (b !== 'cpu' && b !== 'gpu' && b !== 'auto') throw new UsageError(`--backend takes cpu, gpu or auto, got '${b}'`, command);
  return b;
}

/**
 * `darboux run`: exit 0 after writing the result, 1 on a failure (bad input, a diverged run), 2 on a usage error.
 *
 * @example
 * await runCommand(['--model', 'henon-heiles', '--steps', '100', '--json'], processStreams()); // 0
 */
export async function runCommand(argv: string[], io: CliStreams, version = 'unknown'): Promise<number> {
  const { values } = parseCommand('run', argv, OPTIONS);
  if (values.help) { io.stdout.write(`${RUN_USAGE}\n`); return 0; }
  const chosen = chooseSystem('run', values);
  const h = chosen.hamiltonian;
  const steps = numberFlag('run', 'steps', values.steps, { integer: true, min: 0 });
  if (steps === undefined) throw new UsageError('--steps is required', 'run');
  const dt = numberFlag('run', 'dt', values.dt, { positive: true }) ?? chosen.model?.dt;
  if (dt === undefined) throw new UsageError('--dt is required (a positive step size)', 'run');
  const every = numberFlag('run', 'save-every', values['save-every'], { integer: true, positive: true });
  const batchFlag = numberFlag('run', 'batch', values.batch, { integer: true, positive: true });
  const grid = values.sweep !== undefined ? readSweepFile(values.sweep) : null;
  if (grid !== null && values.init === 'energy') throw new UsageError('--init energy puts members on a level of H with its own parameters, which --sweep changes per member: give --q0/--p0 or --init random with --sweep', 'run');
  // With --sweep the ensemble is grid points × --batch replicas; otherwise --batch members.
  const members = grid !== null ? grid.points * (batchFlag ?? 1) : batchFlag;
  if ((values.shard ?? values.shards) !== undefined && members === undefined) throw new UsageError('--shard/--shards split --batch B members: give --batch', 'run');
  const plan = shardPlan(values, members ?? 1, io.env);
  if (plan && values.out === undefined) throw new UsageError('--shard/--shards write a part file: give --out DIR (a folder)', 'run');
  const out = plan ? partPath(values.out!, plan) : values.out;
  const format = out !== undefined ? outputFormat('run', out) : undefined;
  if (every !== undefined && (format === 'csv' || format === 'npy') && steps % every !== 0) {
    throw new UsageError(`a .${format} file holds one table (the frames), so the final state must be a frame: --steps ${steps} is not a multiple of --save-every ${every}; use .npz or .json`, 'run');
  }
  const backend = backendFlag('run', values.backend);
  const onFailure = values['on-failure'] ?? 'throw';
  if (onFailure !== 'throw' && onFailure !== 'report') throw new UsageError(`--on-failure takes throw or report, got '${onFailure}'`, 'run');
  const sectionFlags = sectionRunFlags(values);
  const sections = Object.keys(sectionFlags).length > 0;
  if (values.plot !== undefined && !sections) throw new UsageError('--plot draws the surface of section: give --section EXPR', 'run');
  if (sections && (format === 'csv' || format === 'npy')) throw new UsageError('--section and --save-at write arrays beside --out: use .npz or .json', 'run');
  const range = plan ?? { start: 0, end: members ?? 1 };
  const { q0, p0, batch } = grid !== null ? replicaStates(chooseStates('run', values, chosen, batchFlag), h.dof, range.start, range.end) : chooseStates('run', values, chosen, batchFlag, plan);
  const params = grid !== null ? sweepParams(grid, batchFlag ?? 1, range.start, range.end) : undefined;
  const method = values.method ?? 'leapfrog';
  const st = await compile(h, { method, dt, backend });
  try {
    const bar = progressLine(io, { total: steps, unit: 'steps', label: 'run', enabled: values.quiet !== true });
    const started = Date.now();
    const run = { q0, p0, batch, steps, ...(every ? { record: every } : {}), ...(params ? { params } : {}) };
    // One st.run call: the progress line follows the library's onProgress (the result is the same bit for bit).
    const result = await st.run({
      ...run, ...sectionFlags, ...(onFailure === 'report' ? { onFailure } : {}),
      ...(values.quiet ? {} : { onProgress: ({ stepsDone }: { stepsDone: number }) => bar.update(stepsDone) }),
    });
    const failed = onFailure === 'report' ? failedMembers(result.status ?? [], range.start) : undefined;
    bar.finish();
    const seconds = (Date.now() - started) / 1000;
    // Frames carry H at every frame (each member with its own parameters): `darboux plot energy FILE` needs no system.
    const run0 = markFailedFrames(trajectoryFromRun(result, { q0, p0, batch, dt }), failed, range.start, every);
    const traj = run0.frames ? withFrameEnergies(run0, h, params) : run0;
    if (out !== undefined) saveTrajectory(out, traj);
    if (plan) writeManifest(out!, plan, members!, runSettings(values, { label: chosen.label, method, dt, steps, batch: members!, every, backend: st.backend, parameters: parameterValues(h) }, grid), version, failed);
    const energy = energyError(h, q0, p0, result.q, result.p, params, new Set(failed?.map((f) => f.member - range.start)));
    const summary = {
      command: 'run', system: chosen.label, method, dt, steps, batch, dof: h.dof, backend: st.backend,
      seconds, stepsPerSecond: seconds > 0 ? steps / seconds : null, energyError: energy,
      ...(traj.frames ? { frames: traj.frames.t.length, saveEvery: every } : {}),
      ...(result.stats ? { iterations: result.stats.iterations } : {}),
      ...(sections ? writeSectionOutputs(out, result, h.dof) : {}),
      ...(await writeSectionPlot(values.plot, result, `${chosen.label}: ${method}, dt ${dt}`, { q: h.names.q[0]!, p: h.names.p[0]! })),
      ...(grid !== null ? writeSweepOutputs(out, grid, batchFlag ?? 1, params!, range.start) : {}),
      ...(plan ? { shard: { index: plan.index, count: plan.count }, members: { start: plan.start, end: plan.end } } : {}),
      ...(failed ? { failed } : {}),
      ...(out !== undefined ? { out } : { q: rowsOf(result.q, h.dof), p: rowsOf(result.p, h.dof) }),
    };
    if (values.json) printJson(io, summary);
    else if (values.out === undefined) printStateCsv(io, h.names.q, h.names.p, result.q, result.p);
    if (values.quiet !== true && failed && failed.length > 0) {
      const first = failed[0]!;
      io.stderr.write(`run: ${failed.length} of ${batch} trajectories failed (first: member ${first.member}, ${first.code} at step ${first.step}); they hold their last finite state\n`);
    }
    if (values.quiet !== true) {
      io.stderr.write(`run: ${steps} steps × ${batch} trajectories (${method}, dt ${dt}, ${st.backend}) in ${seconds.toFixed(2)} s; relative energy error at the end ${energy.toExponential(2)} (worst trajectory)${out !== undefined ? `; wrote ${out}` : ''}\n`);
    }
    return 0;
  } finally {
    st.dispose();
  }
}

/**
 * What must agree between the parts of one sharded run: the system and state flags as given (input files by
 * checksum), the values of H's parameters, the method, dt, steps, the whole batch, the frame spacing and the
 * backend that ran.
 */
function runSettings(
  values: Record<string, string | string[] | boolean | undefined>,
  run: { label: string; method: string; dt: number; steps: number; batch: number; every: number | undefined; backend: string; parameters: Record<string, number[]> },
  grid: SweepGrid | null = null,
): Record<string, unknown> {
  const flag = (name: string) => values[name] ?? null;
  const digest = (name: string) => (typeof values[name] === 'string' ? fileDigest(values[name] as string).sha256 : null);
  return {
    system: run.label, H: flag('H'), q: flag('q'), p: flag('p'), params: flag('params'), model: flag('model'), parameters: run.parameters,
    systemFile: digest('system'), q0File: digest('q0'), p0File: digest('p0'),
    init: flag('init'),
    radius: values.init !== undefined ? Number(values.radius ?? 0.1) : null, seed: values.init !== undefined ? Number(values.seed ?? 0) : null,
    ...(values.init === 'energy' ? { energy: Number(values.energy), section: flag('section'), sectionDirection: flag('section-direction') } : {}),
    method: run.method, dt: run.dt, steps: run.steps, batch: run.batch, saveEvery: run.every ?? null, backend: run.backend,
    sweep: grid === null ? null : { names: grid.names, values: grid.values, replicas: flag('batch') },
  };
}

/**
 * With --on-failure report, the frames of a failed member after its last finite step are NaN (not the zeros a
 * recording leaves there), so no tool reads them as states.
 */
function markFailedFrames<T extends { batch: number; dof: number; frames?: { q: Float64Array; p: Float64Array; t: Float64Array } }>(
  traj: T, failed: readonly { member: number; step: number | null }[] | undefined, start: number, every: number | undefined,
): T {
  if (!failed || !traj.frames || every === undefined) return traj;
  const { batch, dof, frames } = traj;
  for (const { member, step } of failed) {
    const b = member - start;
    for (let f = 1; f < frames.t.length; f++) {
      if (step !== null && f * every <= step) continue;
      frames.q.fill(NaN, (f * batch + b) * dof, (f * batch + b + 1) * dof);
      frames.p.fill(NaN, (f * batch + b) * dof, (f * batch + b + 1) * dof);
    }
  }
  return traj;
}

/** The failed members of a run with onFailure 'report', by global member index (the shard's first is `start`). */
function failedMembers(status: readonly { ok: boolean; code?: string; step?: number }[], start: number): { member: number; code: string; step: number | null }[] {
  const failed: { member: number; code: string; step: number | null }[] = [];
  status.forEach((s, b) => { if (!s.ok) failed.push({ member: start + b, code: s.code ?? 'FAILED', step: s.step ?? null }); });
  return failed;
}

/** The values of H's parameters as run (a sweep's grid is recorded beside them): { name: [values…] }. */
function parameterValues(h: Pick<Hamiltonian, 'params' | 'paramValues'>): Record<string, number[]> {
  return Object.fromEntries(h.params.map((node, k) => [node.attrs.name as string, Array.from(h.paramValues[k]!)]));
}

/** max over trajectories (failed ones skipped) of |H(z_N) − H(z_0)| / max(|H(z_0)|, 1e-300), each with its own parameters in a sweep. */
function energyError(
  h: Pick<Hamiltonian, 'dof' | 'energy' | 'withParams'>, q0: Float64Array, p0: Float64Array, q: Float64Array, p: Float64Array, params?: Record<string, Float64Array>,
  skip: ReadonlySet<number> = new Set(),
): number {
  const n = h.dof;
  let worst = 0;
  for (let b = 0; b < q0.length / n; b++) {
    if (skip.has(b)) continue;
    const hb = params === undefined ? h : h.withParams(Object.fromEntries(Object.entries(params).map(([name, v]) => [name, v[b]!])));
    const e0 = hb.energy(q0.subarray(b * n, (b + 1) * n), p0.subarray(b * n, (b + 1) * n));
    const e = hb.energy(q.subarray(b * n, (b + 1) * n), p.subarray(b * n, (b + 1) * n));
    worst = Math.max(worst, Math.abs(e - e0) / Math.max(Math.abs(e0), 1e-300));
  }
  return worst;
}
