/**
 * `darboux plot <kind> FILE… [-o out.svg|out.png]`: the library's `plot` on files — trajectories written by
 * `darboux run --save-every k`, crossings of a surface of section, the model JSON of `darboux train`, gradient
 * memory rows, g(r) — as SVG (stdout or a file) or PNG (a file; needs the optional @resvg/resvg-js).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  DarbouxError, loadArrays, loadTrajectory, plot, radialDistribution, type GradientMemoryRow, type LossInput, type NdArray, type PlotOptions, type Trajectory,
} from '../index.js';
import { COMMON_OPTIONS, listFlag, numberFlag, parseCommand, UsageError } from './args.js';
import { printJson } from './output.js';
import { chooseSystem, SYSTEM_HELP, SYSTEM_OPTIONS } from './system.js';
import type { CliStreams } from './terminal.js';

const OPTIONS = {
  ...COMMON_OPTIONS, ...SYSTEM_OPTIONS,
  output: { type: 'string', short: 'o' },
  format: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  title: { type: 'string' },
  labels: { type: 'string' },
  dof: { type: 'string' },
  mark: { type: 'string' },
  members: { type: 'string' },
  box: { type: 'string' },
  dim: { type: 'string' },
  bins: { type: 'string' },
  'r-max': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** The plot kinds of the command line. */
export const PLOT_KINDS = ['energy', 'phase', 'section', 'loss', 'memory', 'rdf'] as const;

/** The usage text of `darboux plot` (its --help, and the message of a usage error). */
export const PLOT_USAGE = `Usage: darboux plot <kind> FILE... [options] [-o out.svg|out.png]

Kinds:
  energy FILE...   relative energy error |H − H₀|/|H₀| against time, log axis, one line per file (the worst
                   trajectory of each); FILE: a trajectory with frames (darboux run --save-every k); H from the
                   system flags when given, else the 'energy' array darboux run writes into .npz and .json
  phase FILE       phase portrait q_i against p_i, one curve per trajectory (--dof i, --mark line|dot, --members n)
  section FILE     Poincaré section: one dot (q_i, p_i) per crossing; FILE holds 't' (count), 'q', 'p' (count × dof)
  loss FILE        training loss (log axis): the JSON darboux train writes, or any JSON with 'history'
                   (and 'validationHistory', 'validationSteps')
  memory FILE      gradient state memory against the horizon (log–log): a JSON array of { steps, memory, stateBytes }
  rdf FILE         g(r): a file with arrays 'r' and 'g', or a particle trajectory with frames and --box L,L[,L]
                   [--dim d (default: the box's sides), --bins 60, --r-max (default half the smallest side)]

${SYSTEM_HELP}

Options:
  --output, -o FILE    .svg or .png (default: the SVG on stdout)
  --format svg|png     default: from the file name
  --width W --height H in pixels (default 640 × 400; a PNG is drawn at W pixels wide)
  --title TEXT         a title above the plot
  --labels a,b         energy: legend labels, one per file (default: the file names)
  --dof i              phase, section: the degree of freedom (default 0)
  --json               a JSON summary on stdout ({ command, kind, output, format, bytes }; with the SVG when there is no -o)
  --help, -h           this help

PNG needs @resvg/resvg-js, an optional peer dependency (npm install @resvg/resvg-js); SVG needs nothing more.

Example:
  darboux run --model kepler --method leapfrog --steps 20000 --save-every 20 -o leapfrog.npz
  darboux run --model kepler --method rk4 --steps 20000 --save-every 20 -o rk4.npz
  darboux plot energy leapfrog.npz rk4.npz --model kepler --labels leapfrog,rk4 -o energy.svg`;

function need(arrays: Record<string, NdArray>, name: string, file: string): NdArray {
  const a = arrays[name];
  if (!a) throw new DarbouxError('INPUT', `${file}: no array '${name}' (it holds ${Object.keys(arrays).join(', ') || 'none'})`, { path: file });
  return a;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new DarbouxError('INPUT', `cannot read ${file}: ${(e as Error).message}`, { path: file });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DarbouxError('JSON', `${file} is not JSON: ${(e as Error).message}`, { path: file });
  }
}

/** A trajectory file with frames, or an INPUT error saying how to record them. */
function framesFile(file: string): Trajectory {
  const trajectory = loadTrajectory(file);
  if (!trajectory.frames) throw new DarbouxError('INPUT', `${file} holds only a final state, no frames; write one with darboux run … --save-every k`, { path: file });
  return trajectory;
}

function oneFile(kind: string, files: string[]): string {
  if (files.length !== 1) throw new UsageError(`plot ${kind} takes one file, got ${files.length}`, 'plot');
  return files[0]!;
}

/** The SVG (or PNG promise) of one kind, read from its files. */
function draw(kind: string, files: string[], values: Values, options: PlotOptions): string | Promise<Uint8Array> {
  const dof = numberFlag('plot', 'dof', values.dof, { integer: true, min: 0 });
  if (kind === 'energy') {
    if (files.length === 0) throw new UsageError('plot energy needs at least one trajectory file', 'plot');
    const labels = listFlag(values.labels) ?? files.map((f) => path.basename(f).replace(/\.[^.]+$/, ''));
    if (labels.length !== files.length) throw new UsageError(`--labels has ${labels.length} names for ${files.length} files`, 'plot');
    const trajectories = files.map(framesFile);
    // Without a system flag, the energies darboux run stored with the frames ('energy', frames × batch).
    const given = values.H !== undefined || values.system !== undefined || values.model !== undefined;
    const missing = given ? -1 : trajectories.findIndex((t) => !t.frames!.energy);
    if (missing >= 0) throw new UsageError(`${files[missing]} holds no 'energy' array (frames × batch): give the system (--H with --q, --p, --system or --model)`, 'plot');
    const hamiltonian = given ? chooseSystem('plot', values).hamiltonian : undefined;
    return plot.energy(trajectories.map((trajectory, k) => ({ label: labels[k]!, trajectory })), { ...options, ...(hamiltonian ? { hamiltonian } : {}) });
  }
  if (kind === 'phase') {
    const mark = values.mark ?? 'line';
    if (mark !== 'line' && mark !== 'dot') throw new UsageError(`--mark takes line or dot, got '${mark}'`, 'plot');
    const members = numberFlag('plot', 'members', values.members, { integer: true, positive: true });
    return plot.phase(framesFile(oneFile(kind, files)), { ...options, mark, ...(dof !== undefined ? { dof } : {}), ...(members !== undefined ? { members } : {}) });
  }
  if (kind === 'section') {
    const file = oneFile(kind, files);
    const arrays = loadArrays(file);
    const t = need(arrays, 't', file);
    return plot.section({ count: t.data.length, t: t.data, q: need(arrays, 'q', file).data, p: need(arrays, 'p', file).data }, { ...options, ...(dof !== undefined ? { dof } : {}) });
  }
  if (kind === 'loss') return plot.loss(readJson(oneFile(kind, files)) as LossInput, options);
  if (kind === 'memory') return plot.gradientMemory(readJson(oneFile(kind, files)) as GradientMemoryRow[], options);
  return drawRdf(oneFile(kind, files), values, options);
}

/** g(r) from 'r' and 'g' arrays, or computed from a particle trajectory's frames in the periodic --box. */
function drawRdf(file: string, values: Values, options: PlotOptions): string | Promise<Uint8Array> {
  const arrays = loadArrays(file);
  if (arrays.r && arrays.g) return plot.rdf({ r: arrays.r.data, g: arrays.g.data }, options);
  const box = listFlag(values.box)?.map((s) => numberFlag('plot', 'box', s, { positive: true })!);
  if (!box) throw new UsageError(`${file} has no 'r' and 'g' arrays; to compute g(r) from its frames give the periodic box: --box L,L[,L]`, 'plot');
  const trajectory = framesFile(file);
  const dim = numberFlag('plot', 'dim', values.dim, { integer: true, positive: true }) ?? box.length;
  const n = trajectory.dof / dim;
  if (!Number.isInteger(n)) throw new DarbouxError('INPUT', `${file}: ${trajectory.dof} coordinates per trajectory are not n particles × ${dim} dimensions`, { dof: trajectory.dof, dim });
  const bins = numberFlag('plot', 'bins', values.bins, { integer: true, positive: true }) ?? 60;
  const rMax = numberFlag('plot', 'r-max', values['r-max'], { positive: true }) ?? Math.min(...box) / 2;
  return plot.rdf(radialDistribution(trajectory.frames!.q, { n, dim, box, bins, rMax }), options);
}

function formatOf(values: Values): 'svg' | 'png' {
  const format = values.format ?? (values.output?.toLowerCase().endsWith('.png') ? 'png' : 'svg');
  if (format !== 'svg' && format !== 'png') throw new UsageError(`--format takes svg or png, got '${format}'`, 'plot');
  if (format === 'png' && values.output === undefined) throw new UsageError('a PNG needs a file: -o out.png', 'plot');
  return format;
}

/**
 * `darboux plot`.
 *
 * @example
 * await plotCommand(['energy', 'out.npz', '--model', 'kepler', '-o', 'energy.svg'], processStreams()); // 0
 */
export async function plotCommand(argv: string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parseCommand('plot', argv, OPTIONS, true);
  if (values.help) { io.stdout.write(`${PLOT_USAGE}\n`); return 0; }
  const [kind, ...files] = positionals;
  if (kind === undefined) throw new UsageError(`give a plot kind: ${PLOT_KINDS.join(', ')}`, 'plot');
  if (!(PLOT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown plot kind '${kind}'; kinds: ${PLOT_KINDS.join(', ')}`, 'plot');
  if (files.length === 0) throw new UsageError(`plot ${kind} needs a file`, 'plot');
  const format = formatOf(values);
  const width = numberFlag('plot', 'width', values.width, { integer: true, positive: true });
  const height = numberFlag('plot', 'height', values.height, { integer: true, positive: true });
  const options: PlotOptions = { format, ...(width !== undefined ? { width } : {}), ...(height !== undefined ? { height } : {}), ...(values.title !== undefined ? { title: values.title } : {}) };
  await plot.load(); // Node before 20.19 cannot load the ES-module plotting libraries on first use
  const drawn = await draw(kind, files, values, options);
  const bytes = typeof drawn === 'string' ? new TextEncoder().encode(drawn).length : drawn.length;
  if (values.output !== undefined) {
    try {
      fs.writeFileSync(values.output, drawn);
    } catch (e) {
      throw new DarbouxError('INPUT', `cannot write ${values.output}: ${(e as Error).message}`, { path: values.output });
    }
  }
  if (values.json) printJson(io, { command: 'plot', kind, format, bytes, ...(values.output !== undefined ? { output: values.output } : { svg: drawn }) });
  else if (values.output === undefined) io.stdout.write(`${drawn as string}\n`);
  else if (!values.quiet) io.stderr.write(`plot: ${kind} → ${values.output} (${format}, ${bytes} bytes)\n`);
  return 0;
}
