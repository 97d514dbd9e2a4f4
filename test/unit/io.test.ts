/**
 * Files (src/io): .npy/.npz (NumPy's format), .csv and .json round trips, bit for bit, with the shapes of
 * trajectories (frames × batch × dof) and odd values (−0, subnormals, ±Infinity, NaN); damaged files refused as
 * DarbouxError INPUT; and NumPy itself reading darboux's .npz (and darboux reading NumPy's), compared exactly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import {
  DarbouxError, compile, decodeTrajectory, encodeTrajectory, henonHeiles, loadArray, loadArrays, loadTrajectory, readCsv,
  readJsonArrays, readNpy, readNpz, saveArrays, saveTrajectory, trajectoryFromRun, writeCsv, writeJsonArrays, writeNpy,
  writeNpz, type NdArray, type Trajectory,
} from '../../src/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-io-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Odd float64 values: signed zeros, subnormals, extremes, non-finite, and a value with 17 significant digits. */
const ODD = [0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 1 / 3, -2.5e-310, Infinity, -Infinity, NaN, 123456789.12345679];

/** Bit patterns, so −0 ≠ 0 and NaN = NaN compare as they should. */
const bits = (a: ArrayLike<number>) => Array.from(new BigUint64Array(Float64Array.from(a).buffer), (b) => b.toString(16));

function random(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 10 ** ((s % 9) - 4);
  });
}

function expectInputError(f: () => unknown, pattern: RegExp) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DarbouxError);
    expect((e as DarbouxError).code).toBe('INPUT');
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a DarbouxError INPUT');
}

describe('.npy', () => {
  it('round-trips shapes and odd values bit for bit, with a 64-byte aligned v1.0 <f8 C-order header', () => {
    for (const shape of [[], [0], [14], [2, 7], [7, 1, 2], [3, 0, 2]]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = Float64Array.from({ length: size }, (_, i) => ODD[i % ODD.length]!);
      const bytes = writeNpy({ shape, data });
      const headerLength = bytes[8]! + 256 * bytes[9]!;
      expect((10 + headerLength) % 64).toBe(0);
      const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
      expect(header).toMatch(/^\{'descr': '<f8', 'fortran_order': False, 'shape': \(.*\), \} *\n$/);
      const back = readNpy(bytes);
      expect(back.shape).toEqual(shape);
      expect(bits(back.data)).toEqual(bits(data));
    }
  });

  it('refuses damaged files with DarbouxError INPUT', () => {
    const good = writeNpy({ shape: [2, 3], data: random(6, 1) });
    expectInputError(() => readNpy(new Uint8Array([1, 2, 3])), /magic/);
    expectInputError(() => readNpy(good.subarray(0, good.length - 1)), /needs 48/);
    expectInputError(() => readNpy(good.subarray(0, 40)), /truncated/);
    const text = new TextDecoder('latin1').decode(good);
    const patch = (from: string, to: string) => Uint8Array.from(text.replace(from, to), (c) => c.charCodeAt(0));
    expectInputError(() => readNpy(patch("'<f8'", "'|O8'")), /unsupported dtype/);
    expectInputError(() => readNpy(patch("'<f8'", "'<c8'")), /unsupported dtype/);
    expectInputError(() => readNpy(patch('False', 'True ')), /Fortran order/);
    expectInputError(() => readNpy(patch('(2, 3)', '(2, x)')), /shape/);
  });
});

describe('.npz', () => {
  it('round-trips named arrays (stored and deflated), deterministically', () => {
    const entries = { q: { shape: [5, 3, 2], data: random(30, 2) }, t: { shape: [5], data: Float64Array.from(ODD.slice(0, 5)) }, odd: { shape: [ODD.length], data: Float64Array.from(ODD) } };
    for (const compress of [false, true]) {
      const bytes = writeNpz(entries, { compress });
      expect(writeNpz(entries, { compress })).toEqual(bytes);
      const back = readNpz(bytes);
      expect(Object.keys(back).sort()).toEqual(['odd', 'q', 't']);
      for (const [name, a] of Object.entries(entries)) {
        expect(back[name]!.shape).toEqual(a.shape);
        expect(bits(back[name]!.data)).toEqual(bits(a.data));
      }
    }
  });

  it('refuses damaged archives and members with DarbouxError INPUT', () => {
    const bytes = writeNpz({ q: { shape: [2], data: Float64Array.of(1, 2) } });
    expectInputError(() => readNpz(bytes.subarray(0, bytes.length - 30)), /not a readable/);
    expectInputError(() => readNpz(strToU8('PK not really')), /not a readable/);
    expectInputError(() => readNpz(zipSync({ 'readme.txt': strToU8('hi') })), /no \.npy/);
    expectInputError(() => readNpz(zipSync({ 'q.npy': strToU8('\x93NUMPY garbage') })), /q\.npy/);
  });
});

describe('.csv', () => {
  it('round-trips with shortest round-trip digits, -0, and NaN/Infinity as Python reads them', () => {
    const data = Float64Array.from([...ODD, ...random(28, 3)]);
    const text = writeCsv({ header: ['a', 'b'], data: { shape: [21, 2], data } });
    expect(text.split('\n')[0]).toBe('a,b');
    expect(text).toContain('0,-0\n5e-324,-5e-324\n');
    expect(text).toContain('Infinity,-Infinity\nNaN,123456789.12345679\n');
    const back = readCsv(text);
    expect(back.header).toEqual(['a', 'b']);
    expect(back.data.shape).toEqual([21, 2]);
    expect(bits(back.data.data)).toEqual(bits(data));
    // NumPy's savetxt spellings: a '#' header, nan / inf.
    expect(Array.from(readCsv('# x,"y"\r\nnan,-inf\n+inf,1e3\n').data.data)).toEqual([NaN, -Infinity, Infinity, 1000]);
  });

  it('refuses cells that are not numbers, ragged rows and names it cannot write', () => {
    expectInputError(() => readCsv('x,y\n1,2\n3\n'), /line 3 has 1 cells/);
    expectInputError(() => readCsv('x,y\n1,\n'), /line 2, column 'y'/);
    expectInputError(() => readCsv('x\n0x10\n'), /"0x10" is not a number/);
    expectInputError(() => readCsv(''), /empty/);
    expectInputError(() => writeCsv({ header: ['a,b'], data: { shape: [1, 1], data: Float64Array.of(1) } }), /comma/);
    expectInputError(() => writeCsv({ header: ['a'], data: { shape: [1, 2], data: Float64Array.of(1, 2) } }), /rows × 1 columns/);
  });
});

describe('.json', () => {
  it('round-trips nested arrays and tagged non-finite numbers', () => {
    const entries = { q: { shape: [2, 7], data: Float64Array.from(ODD) }, s: { shape: [], data: Float64Array.of(-0) }, e: { shape: [2, 0], data: new Float64Array(0) } };
    const text = writeJsonArrays(entries);
    expect(JSON.parse(text).q[0]).toEqual([0, { $number: '-0' }, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308]);
    const back = readJsonArrays(text);
    for (const [name, a] of Object.entries(entries)) {
      expect(back[name]!.shape, name).toEqual(a.shape);
      expect(bits(back[name]!.data)).toEqual(bits(a.data));
    }
    expect(readJsonArrays('[[1, 2], [3, 4]]').array!.shape).toEqual([2, 2]);
  });

  it('refuses bad JSON, ragged nesting and values that are not numbers', () => {
    expectInputError(() => readJsonArrays('{"q": [1, 2'), /not valid JSON/);
    expectInputError(() => readJsonArrays('{"q": [[1, 2], [3]]}'), /ragged/);
    expectInputError(() => readJsonArrays('{"q": [[1, 2], 3]}'), /ragged/);
    expectInputError(() => readJsonArrays('{"q": [1, null]}'), /null is not a number/);
    expectInputError(() => readJsonArrays('"text"'), /object of arrays/);
  });
});

describe('trajectories', () => {
  const frames = 4, batch = 3, dof = 2, size = batch * dof;
  const qs = random(frames * size, 4), ps = random(frames * size, 5);
  const framed: Trajectory = {
    batch, dof, q: qs.slice(-size), p: ps.slice(-size),
    frames: { t: Float64Array.from({ length: frames }, (_, i) => 0.25 + i * 0.1), q: qs, p: ps },
  };
  const final: Trajectory = { batch, dof, q: Float64Array.from(ODD.slice(0, size)), p: Float64Array.from(ODD.slice(size, 2 * size)) };

  it('round-trip through every format, frames × batch × dof, bit for bit', () => {
    for (const format of ['npz', 'json', 'csv', 'npy'] as const) {
      for (const traj of [framed, final]) {
        const file = path.join(dir, `traj-${traj.frames ? 'framed' : 'final'}.${format}`);
        saveTrajectory(file, traj);
        if (format === 'npy' && traj.frames) {
          const a = loadArray(file);
          expect(a.shape).toEqual([frames, 2, batch, dof]);
          expect(bits(a.data.subarray(size, 2 * size))).toEqual(bits(ps.subarray(0, size))); // frame 0, [q, p][1]
          continue;
        }
        const back = loadTrajectory(file);
        expect([back.batch, back.dof], `${format}`).toEqual([batch, dof]);
        expect(bits(back.q)).toEqual(bits(traj.q));
        expect(bits(back.p)).toEqual(bits(traj.p));
        expect(back.frames === undefined).toBe(traj.frames === undefined);
        if (traj.frames) {
          expect(bits(back.frames!.t)).toEqual(bits(traj.frames.t));
          expect(bits(back.frames!.q)).toEqual(bits(qs));
          expect(bits(back.frames!.p)).toEqual(bits(ps));
        }
      }
    }
    const arrays = loadArrays(path.join(dir, 'traj-framed.npz'));
    expect(Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, a.shape]))).toEqual({ q: [3, 2], p: [3, 2], t: [4], qs: [4, 3, 2], ps: [4, 3, 2] });
  });

  it('csv and npy refuse frames whose last one is not the final state (they would lose it)', () => {
    const cut = { ...framed, q: random(size, 9) };
    for (const format of ['csv', 'npy'] as const) expectInputError(() => encodeTrajectory(cut, format), /not the last frame/);
    expect(decodeTrajectory(encodeTrajectory(cut, 'npz'), 'npz').q).toEqual(cut.q);
  });

  it('trajectoryFromRun puts the initial state first and times the frames t0 + i·k·dt', async () => {
    const { hamiltonian: h } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const q0 = random(4, 6).map((x) => x * 0.1), p0 = random(4, 7).map((x) => x * 0.1);
    const res = await st.run({ q0, p0, steps: 30, batch: 2, record: 10, t0: 1 });
    const traj = trajectoryFromRun(res, { q0, p0, batch: 2, dt: 0.05, t0: 1 });
    expect(Array.from(traj.frames!.t)).toEqual([0, 1, 2, 3].map((i) => 1 + i * 10 * 0.05));
    expect(Array.from(traj.frames!.q.subarray(0, 4))).toEqual(Array.from(q0));
    const ten = await st.run({ q0, p0, steps: 10, batch: 2, t0: 1 });
    expect(Array.from(traj.frames!.p.subarray(4, 8))).toEqual(Array.from(ten.p));
    expect(Array.from(traj.frames!.q.subarray(12, 16))).toEqual(Array.from(res.q));
    st.dispose();
  });

  it('saveArrays / loadArray pick members by name and refuse what a format cannot hold', () => {
    const q = { shape: [2, 2], data: Float64Array.of(1, 2, 3, 4) } satisfies NdArray;
    saveArrays(path.join(dir, 'state.npz'), { q, p: q });
    expect(loadArray(path.join(dir, 'state.npz'), 'p').shape).toEqual([2, 2]);
    expectInputError(() => loadArray(path.join(dir, 'state.npz')), /several arrays/);
    saveArrays(path.join(dir, 'q.csv'), { q });
    expect(Array.from(loadArray(path.join(dir, 'q.csv')).data)).toEqual([1, 2, 3, 4]);
    expectInputError(() => saveArrays(path.join(dir, 'two.npy'), { q, p: q }), /one array/);
    expectInputError(() => loadArray(path.join(dir, 'missing.npy')), /cannot read/);
    expectInputError(() => loadArray(path.join(dir, 'state.txt')), /unknown file type/);
  });
});

/** Whether python3 with NumPy is here; CI (CI=true) installs Debian's python3-numpy, so there it must be. */
const numpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe('NumPy interoperability', () => {
  it('python3 with NumPy is available in CI', () => {
    if (process.env.CI === 'true') expect(numpy, 'python3 -c "import numpy" fails: .ci/run installs python3-numpy').toBe(true);
  });

  it.skipIf(!numpy)('NumPy reads darboux .npz (stored and deflated) with the exact values, dtype and shape', () => {
    const odd = Float64Array.from(ODD);
    const q = random(3 * 4 * 2, 8);
    for (const compress of [false, true]) {
      const file = path.join(dir, `numpy-${compress}.npz`);
      fs.writeFileSync(file, writeNpz({ odd: { shape: [ODD.length], data: odd }, qs: { shape: [3, 4, 2], data: q } }, { compress }));
      const script = `
import json, sys, numpy as np
d = np.load(sys.argv[1])
out = {}
for k in sorted(d.files):
    a = d[k]
    out[k] = { 'dtype': a.dtype.str, 'c': bool(a.flags['C_CONTIGUOUS']), 'shape': list(a.shape), 'bits': [format(int(b), 'x') for b in a.reshape(-1).view(np.uint64)] }
print(json.dumps(out))`;
      const out = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }));
      expect(out.odd).toEqual({ dtype: '<f8', c: true, shape: [ODD.length], bits: bits(odd) });
      expect(out.qs).toEqual({ dtype: '<f8', c: true, shape: [3, 4, 2], bits: bits(q) });
    }
  });

  it.skipIf(!numpy)("darboux reads NumPy's .npz and .npy (float64, float32, int64, big-endian) exactly", () => {
    const file = path.join(dir, 'from-numpy.npz');
    execFileSync('python3', ['-c', `
import sys, numpy as np
a = np.array([[0.1, -0.0], [5e-324, np.inf], [np.nan, -1e300]])
np.savez(sys.argv[1], a=a, f=np.float32([0.1, -2.5]), i=np.arange(6, dtype=np.int64).reshape(2, 3), b=a.astype('>f8'), s=np.float64(2.5))
np.save(sys.argv[1] + '.npy', (np.arange(7) / 4).reshape(7, 1))`, file]);
    const d = readNpz(fs.readFileSync(file));
    expect(d.a!.shape).toEqual([3, 2]);
    expect(bits(d.a!.data)).toEqual(bits([0.1, -0, 5e-324, Infinity, NaN, -1e300]));
    expect(Array.from(d.f!.data)).toEqual([Math.fround(0.1), -2.5]);
    expect(d.i).toEqual({ shape: [2, 3], data: Float64Array.of(0, 1, 2, 3, 4, 5) });
    expect(bits(d.b!.data)).toEqual(bits(d.a!.data));
    expect(d.s).toEqual({ shape: [], data: Float64Array.of(2.5) });
    const lin = readNpy(fs.readFileSync(`${file}.npy`));
    expect(lin.shape).toEqual([7, 1]);
    expect(Array.from(lin.data)).toEqual(Array.from({ length: 7 }, (_, i) => i / 4));
  });
});
