/**
 * NumPy's `.npz` format: a zip archive of `.npy` files, one per named array (`np.savez` / `np.load`). Zipping
 * goes through `fflate`.
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import type { NdArray } from './ndarray.js';
import { corrupt } from './ndarray.js';
import { readNpy, writeNpy } from './npy.js';

/** Options of {@link writeNpz}. */
export interface NpzOptions {
  /** Deflate the members (as `np.savez_compressed`); default false (stored, as `np.savez`). */
  compress?: boolean;
}

/** A fixed modification time, so the same arrays always give the same bytes (checksums stay stable). */
const MTIME = new Date(1980, 0, 1);

/**
 * The `.npz` bytes of named float64 arrays: member `name.npy` for every entry, each a version 1.0 `<f8` C-order
 * `.npy`. Deterministic: the same arrays give the same bytes.
 *
 * @example
 * fs.writeFileSync('out.npz', writeNpz({ q: { shape: [4, 2], data: q }, p: { shape: [4, 2], data: p } }));
 * // python: d = np.load('out.npz'); d['q'].shape == (4, 2)
 */
export function writeNpz(entries: Readonly<Record<string, NdArray>>, options: NpzOptions = {}): Uint8Array {
  const files: Zippable = {};
  for (const [name, array] of Object.entries(entries)) {
    if (name === '' || name.includes('/')) throw corrupt('writeNpz', `array name ${JSON.stringify(name)} is not a plain file name`);
    files[`${name}.npy`] = writeNpy(array);
  }
  return zipSync(files, { level: options.compress ? 6 : 0, mtime: MTIME });
}

/**
 * Reads `.npz` bytes (written by darboux, `np.savez` or `np.savez_compressed`) into named float64 arrays, one
 * per `.npy` member (the name without `.npy`). Throws DarbouxError INPUT for a damaged archive or member.
 *
 * @example
 * const { q, p } = readNpz(fs.readFileSync('out.npz'));
 * q.shape; // [batch, dof]
 */
export function readNpz(bytes: Uint8Array, what = 'npz'): Record<string, NdArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw corrupt(what, `not a readable .npz (zip) archive: ${(e as Error).message}`);
  }
  const out: Record<string, NdArray> = {};
  for (const [name, member] of Object.entries(files)) {
    if (!name.endsWith('.npy')) continue;
    out[name.slice(0, -4)] = readNpy(member, `${what}:${name}`);
  }
  if (Object.keys(out).length === 0) throw corrupt(what, 'the archive holds no .npy arrays');
  return out;
}
