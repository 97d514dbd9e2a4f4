/**
 * A trajectory in each file format: `.npz` and `.json` hold its named arrays (`q`, `p`, `t`, `qs`, `ps`);
 * `.npy` and `.csv` hold one table, so they hold the frames when there are any (the final state must then be
 * the last frame: steps a multiple of the recording interval) and the final state otherwise.
 */
import { corrupt } from './ndarray.js';
import { readCsv, writeCsv } from './csv.js';
import { readJsonArrays, writeJsonArrays } from './json-arrays.js';
import { readNpy, writeNpy } from './npy.js';
import { readNpz, writeNpz } from './npz.js';
import { trajectoryArrays, trajectoryFromArrays, type Trajectory } from './trajectory.js';

/** The file formats darboux reads and writes, by extension. */
export type FileFormat = 'npy' | 'npz' | 'csv' | 'json';

/** The formats, for messages and checks. */
export const FILE_FORMATS: readonly FileFormat[] = ['npy', 'npz', 'csv', 'json'];

/**
 * The format of a file name by its extension (case-insensitive), or a DarbouxError OPTION naming the known ones.
 *
 * @example
 * formatOf('runs/out.NPZ') // 'npz'
 */
export function formatOf(path: string): FileFormat {
  const ext = /\.([A-Za-z]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext !== undefined && (FILE_FORMATS as readonly string[]).includes(ext)) return ext as FileFormat;
  throw corrupt(path, `unknown file type; use one of ${FILE_FORMATS.map((f) => `.${f}`).join(', ')}`);
}

/** Refuses frames whose last one is not the final state (a one-table format would lose the final state). */
function checkLastFrameIsFinal(traj: Trajectory, format: FileFormat): void {
  const frames = traj.frames!;
  const size = traj.batch * traj.dof, at = frames.t.length - 1;
  for (let i = 0; i < size; i++) {
    if (!Object.is(frames.q[at * size + i], traj.q[i]) || !Object.is(frames.p[at * size + i], traj.p[i])) {
      throw corrupt(`.${format}`, `the final state is not the last frame (steps not a multiple of the recording interval): a .${format} file holds one table and would lose it; save as .npz or .json, or record at a divisor of the steps`);
    }
  }
}

/** The state table of a trajectory: rows (frame, trajectory) or trajectory, columns [t, trajectory,] q…, p…. */
function stateTable(traj: Trajectory): { header: string[]; rows: number; data: Float64Array } {
  const { batch, dof } = traj;
  const names = [...Array.from({ length: dof }, (_, i) => `q${i}`), ...Array.from({ length: dof }, (_, i) => `p${i}`)];
  const frames = traj.frames;
  const count = frames ? frames.t.length : 1;
  const lead = frames ? 2 : 0, columns = lead + 2 * dof;
  const data = new Float64Array(count * batch * columns);
  for (let f = 0; f < count; f++) {
    const q = frames ? frames.q.subarray(f * batch * dof) : traj.q, p = frames ? frames.p.subarray(f * batch * dof) : traj.p;
    for (let b = 0; b < batch; b++) {
      const row = (f * batch + b) * columns;
      if (frames) { data[row] = frames.t[f]!; data[row + 1] = b; }
      for (let i = 0; i < dof; i++) {
        data[row + lead + i] = q[b * dof + i]!;
        data[row + lead + dof + i] = p[b * dof + i]!;
      }
    }
  }
  return { header: frames ? ['t', 'trajectory', ...names] : names, rows: count * batch, data };
}

/**
 * The bytes of a trajectory in a format: `.npz`/`.json` its named arrays (see `trajectoryArrays`); `.npy` one
 * float64 array, (2, batch, dof) for the final state [q, p] or (frames, 2, batch, dof) for frames; `.csv` a table
 * with columns q0…, p0… (one row per trajectory) or, for frames, t, trajectory, q0…, p0… (one row per frame and
 * trajectory, frame-major).
 *
 * @example
 * fs.writeFileSync('out.csv', encodeTrajectory(traj, 'csv'));
 */
export function encodeTrajectory(traj: Trajectory, format: FileFormat): Uint8Array {
  if (format === 'npz') return writeNpz(trajectoryArrays(traj));
  if (format === 'json') return new TextEncoder().encode(writeJsonArrays(trajectoryArrays(traj)));
  if (traj.frames) checkLastFrameIsFinal(traj, format);
  const { batch, dof } = traj;
  if (format === 'csv') {
    const table = stateTable(traj);
    return new TextEncoder().encode(writeCsv({ header: table.header, data: { shape: [table.rows, table.header.length], data: table.data } }));
  }
  const frames = traj.frames;
  const count = frames ? frames.t.length : 1, size = batch * dof;
  const data = new Float64Array(count * 2 * size);
  for (let f = 0; f < count; f++) {
    data.set(frames ? frames.q.subarray(f * size, (f + 1) * size) : traj.q, 2 * f * size);
    data.set(frames ? frames.p.subarray(f * size, (f + 1) * size) : traj.p, (2 * f + 1) * size);
  }
  return writeNpy({ shape: frames ? [count, 2, batch, dof] : [2, batch, dof], data });
}

/**
 * A trajectory from a file's bytes (the inverse of {@link encodeTrajectory}). A `.npy` of frames holds no times:
 * it is refused (read it with `readNpy`).
 *
 * @example
 * const traj = decodeTrajectory(fs.readFileSync('out.npz'), 'npz', 'out.npz');
 */
export function decodeTrajectory(bytes: Uint8Array, format: FileFormat, what: string = format): Trajectory {
  if (format === 'npz') return trajectoryFromArrays(readNpz(bytes, what), what);
  if (format === 'json') return trajectoryFromArrays(readJsonArrays(new TextDecoder().decode(bytes), what), what);
  if (format === 'npy') {
    const a = readNpy(bytes, what);
    if (a.shape.length !== 3 || a.shape[0] !== 2) throw corrupt(what, `a trajectory .npy is the final state [q, p] of shape (2, batch, dof), got (${a.shape.join(', ')}); read frames with readNpy`);
    const size = a.data.length / 2;
    return { batch: a.shape[1]!, dof: a.shape[2]!, q: a.data.slice(0, size), p: a.data.slice(size) };
  }
  return trajectoryFromCsv(new TextDecoder().decode(bytes), what);
}

function trajectoryFromCsv(text: string, what: string): Trajectory {
  const { header, data } = readCsv(text, what);
  const framed = header[0] === 't' && header[1] === 'trajectory';
  const lead = framed ? 2 : 0, dof = (header.length - lead) / 2;
  if (!Number.isInteger(dof) || dof < 1) throw corrupt(what, `expected columns ${framed ? 't, trajectory, ' : ''}q0…, p0… (as many p as q), got ${header.join(', ')}`);
  const rows = data.shape[0]!, columns = header.length;
  const column = (r: number, c: number) => data.data[r * columns + c]!;
  let batch = rows;
  if (framed) {
    batch = 0;
    for (let r = 0; r < rows; r++) batch = Math.max(batch, column(r, 1) + 1);
  }
  const count = batch > 0 ? rows / batch : 0;
  if (framed && (rows === 0 || !Number.isInteger(count))) throw corrupt(what, `${rows} rows do not make whole frames of ${batch} trajectories`);
  const q = new Float64Array(rows * dof), p = new Float64Array(rows * dof);
  for (let r = 0; r < rows; r++) {
    if (framed && column(r, 1) !== r % batch) throw corrupt(what, `line ${r + 2}: trajectory ${column(r, 1)}, expected ${r % batch} (rows frame-major)`);
    for (let i = 0; i < dof; i++) { q[r * dof + i] = column(r, lead + i); p[r * dof + i] = column(r, lead + dof + i); }
  }
  const last = (a: Float64Array) => a.slice((count - 1) * batch * dof);
  if (!framed) return { batch, dof, q, p };
  const t = Float64Array.from({ length: count }, (_, f) => column(f * batch, 0));
  return { batch, dof, q: last(q), p: last(p), frames: { t, q, p } };
}
