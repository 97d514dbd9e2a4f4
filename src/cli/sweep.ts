/**
 * `darboux run --sweep grid.json`: a parameter grid run as one ensemble with per-trajectory parameters (one
 * compile, one kernel for every value). The file is a JSON object `{ "name": [values…], … }`; the grid is the
 * Cartesian product in a stable order — the first name varies slowest, the last fastest (C order, as NumPy's
 * `meshgrid(…, indexing='ij')` flattened). Each grid point runs `--batch R` replicas (default 1), so the ensemble
 * has G·R members: member m is replica m mod R of grid point ⌊m / R⌋. Replica r starts from the same state at
 * every grid point (state r of `--q0/--p0` files with R rows, or of `--init random --seed s`), so differences
 * between grid points come from the parameters alone. `--shard i/n` splits the G·R members as it splits a batch.
 */
import fs from 'node:fs';
import { saveArrays } from '../index.js';
import { DarbouxError, escapeText } from '../errors.js';
import { UsageError } from './args.js';

/** A parsed parameter grid: names in file order and their value lists. */
export interface SweepGrid {
  readonly names: readonly string[];
  readonly values: readonly (readonly number[])[];
  /** Number of grid points (the product of the list lengths). */
  readonly points: number;
}

/** The flag of the sweep. */
export const SWEEP_OPTIONS = { sweep: { type: 'string' } } as const;

/** Its line in `darboux run --help`. */
export const SWEEP_HELP = `  --sweep FILE       a parameter grid {"name": [values…], …}: the Cartesian product (first name slowest) as one
                     ensemble of points × --batch replicas (member m: replica m mod R of point ⌊m/R⌋; replica r
                     starts from state r at every point); writes <out>-params.<ext> (each member's values)`;

/** Points above this are refused: the grid is materialised as per-member arrays. */
const MAX_SWEEP_MEMBERS = 1 << 24;

/**
 * Parses a grid object (the contents of `--sweep FILE`); a DarbouxError INPUT naming the entry for a bad one.
 *
 * @example
 * sweepGrid({ lam: [0.5, 1], k: [1, 2, 3] }); // { names: ['lam', 'k'], values: [[0.5, 1], [1, 2, 3]], points: 6 }
 */
export function sweepGrid(grid: unknown, source = 'the sweep'): SweepGrid {
  if (typeof grid !== 'object' || grid === null || Array.isArray(grid)) {
    throw new DarbouxError('INPUT', `${source} must be a JSON object {"name": [values…], …}`, { file: source });
  }
  const names: string[] = [], values: number[][] = [];
  let points = 1;
  for (const [name, list] of Object.entries(grid as Record<string, unknown>)) {
    if (!Array.isArray(list) || list.length === 0) {
      throw new DarbouxError('INPUT', `${source}: '${escapeText(name)}' must be a non-empty array of numbers`, { file: source, name });
    }
    list.forEach((v, index) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new DarbouxError('INPUT', `${source}: ${escapeText(name)}[${index}] must be a finite number, got ${escapeText(JSON.stringify(v) ?? String(v))}`, { file: source, name, index });
      }
    });
    names.push(name);
    values.push(list as number[]);
    points *= list.length;
  }
  if (names.length === 0) throw new DarbouxError('INPUT', `${source} names no parameter: give {"name": [values…]}`, { file: source });
  if (points > MAX_SWEEP_MEMBERS) throw new DarbouxError('INPUT', `${source} has ${points} grid points; at most ${MAX_SWEEP_MEMBERS} fit one run: split it into several files`, { file: source, points });
  return { names, values, points };
}

/** Reads and parses `--sweep FILE`. @example readSweepFile('grid.json').points */
export function readSweepFile(path: string): SweepGrid {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--sweep: cannot read '${path}' (${(e as Error).message})`, 'run');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DarbouxError('INPUT', `--sweep ${escapeText(path)}: not JSON (${(e as Error).message})`, { file: path });
  }
  return sweepGrid(parsed, `--sweep ${path}`);
}

/**
 * The per-member parameter arrays of members [start, end) of a grid with `replicas` members per point.
 *
 * @example
 * sweepParams(sweepGrid({ a: [1, 2], b: [10, 20] }), 1, 0, 4); // { a: [1, 1, 2, 2], b: [10, 20, 10, 20] }
 */
export function sweepParams(grid: SweepGrid, replicas: number, start: number, end: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const name of grid.names) out[name] = new Float64Array(end - start);
  for (let m = start; m < end; m++) {
    let point = Math.floor(m / replicas);
    for (let k = grid.names.length - 1; k >= 0; k--) {
      const list = grid.values[k]!;
      out[grid.names[k]!]![m - start] = list[point % list.length]!;
      point = Math.floor(point / list.length);
    }
  }
  return out;
}

/**
 * The initial states of members [start, end): member m starts from replica state m mod R.
 *
 * @example
 * replicaStates({ q0, p0, batch: 2 }, 2, 0, 6); // the two states, three times
 */
export function replicaStates(states: { q0: Float64Array; p0: Float64Array; batch: number }, dof: number, start: number, end: number): { q0: Float64Array; p0: Float64Array; batch: number } {
  const q0 = new Float64Array((end - start) * dof), p0 = new Float64Array((end - start) * dof);
  for (let m = start; m < end; m++) {
    const r = m % states.batch;
    q0.set(states.q0.subarray(r * dof, (r + 1) * dof), (m - start) * dof);
    p0.set(states.p0.subarray(r * dof, (r + 1) * dof), (m - start) * dof);
  }
  return { q0, p0, batch: end - start };
}

/**
 * Writes each member's parameter values beside --out (`<out>-params.<ext>`: one array per name, plus 'member',
 * the global member indices); returns the summary entry.
 *
 * @example
 * writeSweepOutputs('res.npz', grid, 1, params, 0); // { sweep: { names, points, replicas, file: 'res-params.npz' } }
 */
export function writeSweepOutputs(out: string | undefined, grid: SweepGrid, replicas: number, params: Record<string, Float64Array>, start: number): Record<string, unknown> {
  const count = params[grid.names[0]!]!.length;
  const summary = { names: grid.names, points: grid.points, replicas, members: grid.points * replicas };
  if (out === undefined) return { sweep: summary };
  const file = out.replace(/(\.[^./\\]+)$/, '-params$1');
  const arrays: Record<string, { shape: number[]; data: Float64Array }> = {
    member: { shape: [count], data: Float64Array.from({ length: count }, (_, i) => start + i) },
  };
  for (const name of grid.names) arrays[name] = { shape: [count], data: params[name]! };
  saveArrays(file, arrays);
  return { sweep: { ...summary, file } };
}
