/**
 * `darboux train`: fits a neural model (hnn, sympnet, mlpField, lnn) to a data file and writes the model JSON
 * ({ kind, options, params }: `hnn(options).withParams(params)` restores it).
 */
import fs from 'node:fs';
import {
  DarbouxError, fit, hnn, lnn, loadArray, loadArrays, loadTrajectory, mlpField, sympnet, type Activation, type FitOptions, type NdArray, type NeuralModel,
  type LagrangianTrainingData, type TrainingData, type TrajectoryTrainingData,
} from '../index.js';
import { formatOf } from '../io/trajectory-formats.js';
import { frameDerivatives } from './train-frames.js';
import { COMMON_OPTIONS, listFlag, numberFlag, parseCommand, UsageError } from './args.js';
import { printJson } from './output.js';
import { progressLine, type CliStreams } from './terminal.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  hidden: { type: 'string' },
  activation: { type: 'string' },
  separable: { type: 'boolean' },
  kind: { type: 'string' },
  layers: { type: 'string' },
  width: { type: 'string' },
  seed: { type: 'string' },
  steps: { type: 'string' },
  lr: { type: 'string' },
  'batch-size': { type: 'string' },
  loss: { type: 'string' },
  method: { type: 'string' },
  horizon: { type: 'string' },
  backend: { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

/** The usage text of `darboux train` (its --help, and the message of a usage error). */
export const TRAIN_USAGE = `Usage: darboux train <hnn|sympnet|mlpField|lnn> DATA [options] -o model.json

Fits the model to DATA (.npz, .json, .csv or .npy) with Adam and writes { kind, options, params, loss, steps, history } as JSON
(history: the loss at every step, which darboux plot loss draws).
DATA holds either samples (samples × dof): q, p with dqdt, dpdt (loss 'derivative'; hnn, mlpField) or qNext,
pNext (loss 'map'; sympnet) — or trajectories as darboux run --save-every writes them: t, qs, ps (frames ×
trajectories × dof; sympnet: the map between consecutive frames; hnn, mlpField: loss 'derivative' on dq/dt, dp/dt
estimated at frames 3 … frames−4 by 6th-order central differences over the frame spacing, minibatches of 1024 by
default; frames too far apart to resolve the motion are refused: save them more often; hnn with --loss rollout,
--method or --horizon: 'rollout' through --method, much slower). An lnn
(Lagrangian network) takes samples q, v, a (velocities and accelerations; loss 'acceleration') or trajectories
whose ps hold velocities ('rollout' through --method rk4 (default), variationalMidpoint or variationalTrapezoid).
A .csv holds a run's frames (t, trajectory, q0…, p0…) or samples, one column per component (q0, q1, p0, p1,
dqdt0, …); a .npy holds a run's frames (frames, 2, batch, dof) without times (sympnet only).

Model:
  --hidden 64,64          hnn, mlpField, lnn: hidden widths (default 64,64)
  --activation A          tanh, softplus, sigmoid or sin
  --separable             hnn: H = T(p) + V(q)
  --kind LA|G --layers N --width W    sympnet (default G, 4 layers, width 16)
  --seed S                initial parameters and minibatches (default 0)
Training:
  --steps N               optimiser steps (default 1000)
  --lr X                  learning rate (default 1e-3)
  --batch-size B          samples per step (default all; 1024 for derivatives estimated from frames)
  --loss L                derivative, map or rollout (default by model and data)
  --method M --horizon K  trajectories with hnn: rollouts (either flag selects them) through the integrator,
                          K frames per window (default midpoint, leapfrog with --separable; horizon 8)
  --backend cpu|gpu       default cpu
  --output, -o FILE       the model JSON (default: stdout)
  --json                  a JSON summary on stdout (with the model when there is no -o)
  --quiet                 no loss lines on stderr
  --help, -h              this help

Example:
  darboux run --model henon-heiles --init random --radius 0.2 --batch 64 --steps 200 --save-every 1 -o traj.npz
  darboux train sympnet traj.npz --steps 2000 -o sympnet.json`;

function need(arrays: Record<string, NdArray>, name: string, path: string): NdArray {
  const a = arrays[name];
  if (!a) throw new DarbouxError('INPUT', `${path}: no array '${name}' (it holds ${Object.keys(arrays).join(', ')})`, { path });
  return a;
}

/** Frames × trajectories × dof (as `run` writes them) to trajectories × frames × dof (as training reads them). */
function byTrajectory(a: NdArray): Float64Array {
  const [frames, batch, dof] = a.shape as [number, number, number];
  const out = new Float64Array(a.data.length);
  for (let f = 0; f < frames; f++) for (let b = 0; b < batch; b++) out.set(a.data.subarray((f * batch + b) * dof, (f * batch + b + 1) * dof), (b * frames + f) * dof);
  return out;
}

/**
 * The named arrays of a data file in any of the CLI's formats. `.npz`/`.json`: as stored. `.csv`: a trajectory
 * table as darboux run writes it (t, trajectory, q0…, p0…) becomes t, qs, ps; any other table groups its columns
 * by name without the trailing index (q0, q1, p0, p1, dqdt0, … → q, p, dqdt: samples × k). `.npy`: darboux run's
 * frames (frames, 2, batch, dof) become qs, ps with frame numbers as 't' (a .npy holds no times: maps only).
 */
function trainingArrays(kind: string, path: string): Record<string, NdArray> {
  const format = formatOf(path);
  if (format === 'npz' || format === 'json') return loadArrays(path);
  if (format === 'npy') {
    const a = loadArray(path);
    if (a.shape.length !== 4 || a.shape[1] !== 2) {
      throw new DarbouxError('INPUT', `${path}: a .npy of training data is darboux run's frames, (frames, 2, batch, dof), got (${a.shape.join(', ')}); put samples in .npz, .json or .csv`, { path, shape: a.shape });
    }
    if (kind !== 'sympnet') throw new DarbouxError('INPUT', `${path}: a .npy holds no frame times, which ${kind} trajectory training needs; write the run as .npz, .json or .csv`, { path });
    const [frames, , batch, dof] = a.shape as [number, number, number, number];
    const size = batch * dof, qs = new Float64Array(frames * size), ps = new Float64Array(frames * size);
    for (let f = 0; f < frames; f++) { qs.set(a.data.subarray(2 * f * size, (2 * f + 1) * size), f * size); ps.set(a.data.subarray((2 * f + 1) * size, (2 * f + 2) * size), f * size); }
    return { t: { shape: [frames], data: Float64Array.from({ length: frames }, (_, f) => f) }, qs: { shape: [frames, batch, dof], data: qs }, ps: { shape: [frames, batch, dof], data: ps } };
  }
  const columns = loadArrays(path);
  if (columns.t && columns.trajectory) {
    const traj = loadTrajectory(path);
    const { batch, dof, frames } = traj;
    const count = frames!.t.length;
    return { t: { shape: [count], data: frames!.t }, qs: { shape: [count, batch, dof], data: frames!.q }, ps: { shape: [count, batch, dof], data: frames!.p } };
  }
  const groups = new Map<string, string[]>();
  for (const name of Object.keys(columns)) {
    const base = name.replace(/\d+$/, '');
    groups.set(base, [...(groups.get(base) ?? []), name]);
  }
  const arrays: Record<string, NdArray> = {};
  for (const [base, names] of groups) {
    const rows = columns[names[0]!]!.data.length, k = names.length;
    const data = new Float64Array(rows * k);
    names.forEach((name, j) => columns[name]!.data.forEach((v, r) => (data[r * k + j] = v)));
    arrays[base] = { shape: [rows, k], data };
  }
  return arrays;
}

/** How the training data was made from frames: derivative targets by central differences (hnn, mlpField). */
type FramesNote = { samples: number; spacing: number; mismatch: number };

/**
 * The training data of a file: samples, consecutive-frame pairs (sympnet), derivative samples estimated from the
 * frames (hnn, mlpField: `frameDerivatives`) or, with `rollout` (lnn always), trajectories.
 */
function trainingData(kind: string, path: string, rollout: boolean): { data: TrainingData | LagrangianTrainingData | TrajectoryTrainingData; dof: number; loss?: FitOptions['loss']; frames?: FramesNote } {
  const arrays = trainingArrays(kind, path);
  if (arrays.qs && arrays.ps && arrays.t) {
    const qs = arrays.qs, ps = need(arrays, 'ps', path), t = arrays.t;
    if (qs.shape.length !== 3 || t.shape[0]! < 2) throw new DarbouxError('INPUT', `${path}: trajectories need qs, ps of frames × trajectories × dof with at least 2 frames`, { path });
    const [frames, batch, dof] = qs.shape as [number, number, number];
    const dt = t.data[1]! - t.data[0]!;
    if ((kind === 'hnn' || kind === 'mlpField') && !rollout) {
      const { data, samples, spacing, mismatch } = frameDerivatives(qs, ps, t.data, path);
      return { data, dof, loss: 'derivative', frames: { samples, spacing, mismatch } };
    }
    if (kind !== 'sympnet') return { data: { trajectories: { q: byTrajectory(qs), p: byTrajectory(ps), dt, length: frames } }, dof, loss: 'rollout' };
    const size = batch * dof, pairs = (frames - 1) * size;
    return {
      data: { q: qs.data.subarray(0, pairs), p: ps.data.subarray(0, pairs), qNext: qs.data.subarray(size), pNext: ps.data.subarray(size) },
      dof, loss: 'map',
    };
  }
  if (kind === 'lnn') {
    const q = need(arrays, 'q', path);
    return { data: { q: q.data, v: need(arrays, 'v', path).data, a: need(arrays, 'a', path).data }, dof: q.shape[q.shape.length - 1] ?? 1, loss: 'acceleration' };
  }
  const q = need(arrays, 'q', path), p = need(arrays, 'p', path);
  const dof = q.shape[q.shape.length - 1] ?? 1;
  const data: TrainingData = { q: q.data, p: p.data };
  for (const key of ['dqdt', 'dpdt', 'qNext', 'pNext'] as const) if (arrays[key]) data[key] = arrays[key].data;
  return { data, dof };
}

/** The default minibatch of derivative samples estimated from frames (--batch-size overrides it). */
const FRAME_BATCH = 1024;

function describeData(options: FitOptions, trajectories: boolean, frames: FramesNote | undefined): string {
  if (trajectories) return ` (rollout through ${options.method}, horizon ${options.horizon})`;
  if (!frames) return '';
  const batch = Math.min(options.batchSize ?? frames.samples, frames.samples);
  return ` (targets dq/dt, dp/dt by 6th-order central differences over the frame spacing ${frames.spacing}: ${frames.samples} samples; minibatch ${batch}; 4th- vs 6th-order difference ${(100 * frames.mismatch).toFixed(2)}%)`;
}

function buildModel(kind: string, dof: number, values: { hidden?: string; activation?: string; separable?: boolean; kind?: string; layers?: string; width?: string }, seed: number): NeuralModel {
  const activation = values.activation as Activation | undefined;
  const hidden = (listFlag(values.hidden) ?? ['64', '64']).map((w) => numberFlag('train', 'hidden', w, { integer: true, positive: true })!);
  if (kind === 'hnn') return hnn({ dof, hidden, seed, separable: values.separable === true, ...(activation ? { activation } : {}) });
  if (kind === 'mlpField') return mlpField({ dof, hidden, seed, ...(activation ? { activation } : {}) });
  if (kind === 'lnn') return lnn({ dof, hidden, seed, ...(activation ? { activation } : {}) });
  const sympKind = (values.kind ?? 'G') as 'LA' | 'G';
  if (sympKind !== 'LA' && sympKind !== 'G') throw new UsageError(`--kind takes LA or G, got '${values.kind}'`, 'train');
  return sympnet({
    dof, kind: sympKind, seed,
    layers: numberFlag('train', 'layers', values.layers ?? '4', { integer: true, positive: true })!,
    ...(sympKind === 'G' ? { width: numberFlag('train', 'width', values.width ?? '16', { integer: true, positive: true })! } : {}),
    ...(activation ? { activation } : {}),
  });
}

/**
 * `darboux train`.
 *
 * @example
 * await trainCommand(['sympnet', 'traj.npz', '--steps', '500', '-o', 'model.json'], processStreams()); // 0
 */
export async function trainCommand(argv: string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parseCommand('train', argv, OPTIONS, true);
  if (values.help) { io.stdout.write(`${TRAIN_USAGE}\n`); return 0; }
  const [kind, path, ...extra] = positionals;
  if (kind === undefined || path === undefined || extra.length > 0) throw new UsageError('give the model kind and one data file: darboux train <hnn|sympnet|mlpField|lnn> DATA', 'train');
  if (kind !== 'hnn' && kind !== 'sympnet' && kind !== 'mlpField' && kind !== 'lnn') throw new UsageError(`unknown model kind '${kind}'; use hnn, sympnet, mlpField or lnn`, 'train');
  const seed = numberFlag('train', 'seed', values.seed, { integer: true }) ?? 0;
  const steps = numberFlag('train', 'steps', values.steps, { integer: true, positive: true }) ?? 1000;
  const lr = numberFlag('train', 'lr', values.lr, { positive: true }) ?? 1e-3;
  const batchSize = numberFlag('train', 'batch-size', values['batch-size'], { integer: true, positive: true });
  const horizon = numberFlag('train', 'horizon', values.horizon, { integer: true, positive: true });
  const backend = values.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'gpu') throw new UsageError(`--backend takes cpu or gpu, got '${backend}'`, 'train');
  // hnn/mlpField on frames: rollout only when asked for (--loss rollout, or --method/--horizon, which only rollouts use).
  const rollout = kind === 'lnn' || values.loss === 'rollout' || values.method !== undefined || horizon !== undefined;
  const { data, dof, loss, frames } = trainingData(kind, path, rollout);
  const model = buildModel(kind, dof, values, seed);
  const trajectories = 'trajectories' in data;
  const options: FitOptions = {
    steps, lr, seed, backend,
    // Derivative samples from frames are many (interior frames × trajectories): minibatches of FRAME_BATCH by default.
    ...(batchSize !== undefined ? { batchSize } : frames !== undefined ? { batchSize: FRAME_BATCH } : {}),
    ...((values.loss ?? loss) !== undefined ? { loss: (values.loss ?? loss) as FitOptions['loss'] } : {}),
    ...(trajectories ? { method: values.method ?? (kind === 'lnn' ? 'rk4' : values.separable ? 'leapfrog' : 'midpoint'), horizon: horizon ?? 8 } : {}),
  };
  if (!values.quiet) io.stderr.write(`train: ${kind} (dof ${dof}) on ${path}, ${steps} steps, lr ${lr}, loss ${options.loss ?? 'default'}${describeData(options, trajectories, frames)}\n`);
  const bar = progressLine(io, { total: steps, unit: 'steps', label: 'train', enabled: values.quiet !== true });
  const result = await fit(model, data, { ...options, onProgress: (p) => bar.update(p.stepsDone) });
  bar.finish();
  const history = result.history;
  if (!values.quiet) {
    const every = Math.max(1, Math.floor(history.length / 10));
    for (let i = 0; i < history.length; i += every) io.stderr.write(`train: step ${i + 1}/${history.length} loss ${history[i]!.toExponential(3)}\n`);
    io.stderr.write(`train: final loss ${history[history.length - 1]!.toExponential(3)} in ${result.seconds.toFixed(2)} s (${Math.round(result.samplesPerSecond)} samples/s)\n`);
  }
  const saved = { kind, options: result.model.options, params: result.params, loss: history[history.length - 1], steps, history };
  const text = `${JSON.stringify(saved)}\n`;
  if (values.output !== undefined) {
    try {
      fs.writeFileSync(values.output, text);
    } catch (e) {
      throw new DarbouxError('INPUT', `cannot write ${values.output}: ${(e as Error).message}`, { path: values.output });
    }
  }
  if (values.json) printJson(io, { command: 'train', kind, dof, steps, loss: saved.loss, seconds: result.seconds, backend: result.backend, ...(values.output !== undefined ? { output: values.output } : { model: saved }) });
  else if (values.output === undefined) io.stdout.write(text);
  return 0;
}
