/**
 * Reading and writing files by extension (`.npy`, `.npz`, `.csv`, `.json`): named arrays, single arrays and
 * trajectories. Node only (node:fs); the byte-level readers and writers are in npy.ts, npz.ts, csv.ts and
 * json-arrays.ts.
 */
import fs from 'node:fs';
import { DarbouxError } from '../errors.js';
import type { NdArray } from './ndarray.js';
import { corrupt } from './ndarray.js';
import { readCsv, writeCsv } from './csv.js';
import { readJsonArrays, writeJsonArrays } from './json-arrays.js';
import { readNpy, writeNpy } from './npy.js';
import { readNpz, writeNpz } from './npz.js';
import { decodeTrajectory, encodeTrajectory, formatOf } from './trajectory-formats.js';
import type { Trajectory } from './trajectory.js';

function readBytes(path: string): Uint8Array {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    throw new DarbouxError('INPUT', `cannot read ${path}: ${(e as Error).message}`, { path });
  }
}

function writeBytes(path: string, bytes: Uint8Array | string): void {
  try {
    fs.writeFileSync(path, bytes);
  } catch (e) {
    throw new DarbouxError('INPUT', `cannot write ${path}: ${(e as Error).message}`, { path });
  }
}

/**
 * Reads a file into named arrays: `.npz` its members, `.json` its object of arrays (a bare nested array as
 * `array`), `.npy` its array as `array`, `.csv` its columns by header name (each of length rows).
 *
 * @example
 * const { q, p, qs } = loadArrays('out.npz');
 */
export function loadArrays(path: string): Record<string, NdArray> {
  const format = formatOf(path);
  const bytes = readBytes(path);
  if (format === 'npz') return readNpz(bytes, path);
  if (format === 'npy') return { array: readNpy(bytes, path) };
  if (format === 'json') return readJsonArrays(new TextDecoder().decode(bytes), path);
  const { header, data } = readCsv(new TextDecoder().decode(bytes), path);
  const rows = data.shape[0]!, columns = header.length;
  const out: Record<string, NdArray> = {};
  header.forEach((name, c) => { out[name] = { shape: [rows], data: Float64Array.from({ length: rows }, (_, r) => data.data[r * columns + c]!) }; });
  return out;
}

/**
 * Reads one array from a file: a `.npy`'s array; a `.csv`'s rows × columns table (header skipped); from a
 * `.npz` or a `.json` object, the member `name`, else the only member (`np.savez('q0.npz', q0)`). Throws DarbouxError
 * INPUT when the file cannot be read or `name` is missing.
 *
 * @example
 * const q0 = loadArray('q0.npy');           // e.g. shape [batch, dof]
 * const p0 = loadArray('state.npz', 'p');   // the member p.npy
 */
export function loadArray(path: string, name?: string): NdArray {
  const format = formatOf(path);
  if (format === 'csv') return readCsv(new TextDecoder().decode(readBytes(path)), path).data;
  const arrays = loadArrays(path);
  const names = Object.keys(arrays);
  if (name !== undefined && arrays[name]) return arrays[name];
  if (names.length === 1) return arrays[names[0]!]!;
  throw corrupt(path, name === undefined ? `holds several arrays (${names.join(', ')}): say which one` : `has no array '${name}' (it holds ${names.join(', ')})`, { names });
}

/**
 * Writes named arrays to a file by extension: `.npz` (one member each), `.json` (an object of nested arrays),
 * `.npy` (exactly one array), `.csv` (exactly one 2-D array, columns named c0, c1, …, or 1-D arrays of equal
 * length as named columns).
 *
 * @example
 * saveArrays('state.npz', { q: { shape: [4, 2], data: q }, p: { shape: [4, 2], data: p } });
 */
export function saveArrays(path: string, entries: Readonly<Record<string, NdArray>>): void {
  const format = formatOf(path);
  const names = Object.keys(entries);
  if (format === 'npz') return writeBytes(path, writeNpz(entries));
  if (format === 'json') return writeBytes(path, writeJsonArrays(entries));
  if (format === 'npy') {
    if (names.length !== 1) throw corrupt(path, `a .npy holds one array, got ${names.length} (${names.join(', ')}); use .npz`);
    return writeBytes(path, writeNpy(entries[names[0]!]!));
  }
  writeBytes(path, writeCsv(csvTable(entries, path)));
}

/** One 2-D array, or 1-D columns of one length, as a CSV table. */
function csvTable(entries: Readonly<Record<string, NdArray>>, path: string) {
  const arrays = Object.values(entries);
  const names = Object.keys(entries);
  if (arrays.length === 1 && arrays[0]!.shape.length === 2) {
    const a = arrays[0]!;
    return { header: Array.from({ length: a.shape[1]! }, (_, c) => `c${c}`), data: a };
  }
  const rows = arrays[0]?.shape[0];
  if (rows === undefined || !arrays.every((a) => a.shape.length === 1 && a.shape[0] === rows)) {
    throw corrupt(path, 'a .csv holds one 2-D array or 1-D arrays of equal length (named columns); use .npz or .json');
  }
  const data = new Float64Array(rows * arrays.length);
  arrays.forEach((a, c) => a.data.forEach((v, r) => { data[r * arrays.length + c] = v; }));
  return { header: names, data: { shape: [rows, arrays.length], data } };
}

/**
 * Writes a trajectory to a file by extension (see `encodeTrajectory` for the layout of each format).
 *
 * @example
 * const res = await st.run({ q0, p0, steps: 1000, batch: 4, record: 10 });
 * saveTrajectory('out.npz', trajectoryFromRun(res, { q0, p0, batch: 4, dt: st.dt }));
 * // python: d = np.load('out.npz'); d['qs'].shape == (101, 4, st.dof)
 */
export function saveTrajectory(path: string, traj: Trajectory): void {
  writeBytes(path, encodeTrajectory(traj, formatOf(path)));
}

/**
 * Reads a trajectory written by {@link saveTrajectory} (or by NumPy with the same array names).
 *
 * @example
 * const { q, p, frames } = loadTrajectory('out.npz');
 */
export function loadTrajectory(path: string): Trajectory {
  return decodeTrajectory(readBytes(path), formatOf(path), path);
}
