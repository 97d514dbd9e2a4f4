/**
 * `darboux compile --emit wgsl --manifest kernel.json` without a GPU: the manifest describes the printed kernel,
 * records the compatibility-mode limits it was sized for, and documents the packing formats well enough that a
 * host written from the JSON alone (here: the `fromJson` packers below, which read only the manifest) produces
 * the same bytes as the export's packState / packParams / packUniform and the same buffer sizes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCommand } from '../../src/cli/compile.js';
import { UsageError } from '../../src/cli/args.js';
import { kernelExportWithoutDevice, type KernelManifest } from '../../src/backends/gpu/kernel-export.js';
import { parse } from '../../src/index.js';
import { stepProgram } from '../../src/internals.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-manifest-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SYSTEM = ['--H', '(u^2+w^2)/2 + k*(x^2+y^2)/2 + c*x*y^2', '--q', 'x,y', '--p', 'u,w', '--params', 'k=1.5,c=0.25'];

/** Runs `darboux compile …` in-process; resolves with the exit code and both streams. */
async function compileCli(args: string[]) {
  let stdout = '', stderr = '';
  const code = await compileCommand(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
  return { code, stdout, stderr };
}

/** A host's packers, written from the manifest alone (as a Python or Rust host would). */
function fromJson(m: KernelManifest) {
  const byteLength = (name: string, batch: number) => {
    const b = m.bindings.find((x) => x.name === name)!.byteLength;
    return Math.max(b.minimum, b.fixed + b.perTrajectory * batch);
  };
  const index = (formula: string) => new Function('b', 'i', 'batch', 'dof', `return ${formula};`) as (b: number, i: number, batch: number, dof: number) => number;
  return {
    byteLength,
    packState(q: number[], p: number[], batch: number) {
      const out = new DataView(new ArrayBuffer(byteLength('state', batch)));
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < m.dof; i++) {
          out.setFloat32(4 * index(m.state.index.q)(b, i, batch, m.dof), q[b * m.dof + i]!, true);
          out.setFloat32(4 * index(m.state.index.p)(b, i, batch, m.dof), p[b * m.dof + i]!, true);
        }
      }
      return out.buffer;
    },
    packParams() {
      const out = new DataView(new ArrayBuffer(4 * m.params.length));
      for (const e of m.params.entries) e.values.forEach((v, j) => out.setFloat32(4 * (e.offset + j), v, true));
      return out.buffer;
    },
    packUniform(values: Record<string, number>) {
      const out = new DataView(new ArrayBuffer(m.uniform.byteLength));
      for (const w of m.uniform.words) {
        if (w.type === 'f32') out.setFloat32(w.offset, values[w.name] ?? 0, true);
        else out.setUint32(w.offset, values[w.name] ?? 0, true);
      }
      return out.buffer;
    },
  };
}

/** The group-0 bindings the WGSL declares: binding → the WebGPU buffer binding type its address space implies. */
function declared(wgsl: string): Map<number, string> {
  const kinds = new Map<number, string>();
  for (const m of wgsl.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<(\w+)(?:,\s*(\w+))?>/g)) {
    kinds.set(Number(m[1]), m[2] === 'uniform' ? 'uniform' : m[3] === 'read_write' ? 'storage' : 'read-only-storage');
  }
  return kinds;
}

const bytes = (b: ArrayBuffer | ArrayBufferView) => Array.from(new Uint8Array(b instanceof ArrayBuffer ? b : b.buffer));

describe('compile --manifest without a GPU', () => {
  it('writes a manifest of the printed kernel, sized for compatibility-mode limits', async () => {
    const out = await compileCli([...SYSTEM, '--method', 'leapfrog', '--dt', '0.02', '--emit', 'wgsl', '-o', path.join(dir, 'k.wgsl'), '--manifest', path.join(dir, 'kernel.json'), '--json']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ emit: 'wgsl', manifest: path.join(dir, 'kernel.json') });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'kernel.json'), 'utf8')) as KernelManifest;
    expect(m.wgsl.endsWith('\n') ? m.wgsl : `${m.wgsl}\n`).toBe(fs.readFileSync(path.join(dir, 'k.wgsl'), 'utf8'));
    expect(m).toMatchObject({ format: 'darboux-kernel/1', method: 'leapfrog', dt: 0.02, dof: 2, entryPoint: 'main', workgroupSize: 64 });
    expect(m.wgsl).toContain(`@workgroup_size(${m.workgroupSize})`);
    expect(m.wgsl).toMatch(new RegExp(`fn ${m.entryPoint}\\(`));
    expect(m.limits).toEqual({ source: 'compatibility-defaults', adapterKind: null, maxComputeWorkgroupsPerDimension: 65535, maxStorageBufferBindingSize: 134217728, maxBufferSize: 268435456 });
    expect(Number.isInteger(m.maxStepsPerDispatch) && m.maxStepsPerDispatch >= 1 && m.maxStepsPerDispatch <= 65535).toBe(true);
    // The binding table is what the WGSL declares, and the layout is the table.
    expect(new Map(m.bindings.map((b) => [b.binding, b.kind]))).toEqual(declared(m.wgsl));
    expect(m.bindGroupLayouts[0]!.entries).toEqual(m.bindings.map((b) => ({ binding: b.binding, visibility: 4, buffer: { type: b.kind } })));
    expect(m.bindings.map((b) => b.name)).toEqual(['state', 'params', 'record', 'status', 'control']);
    expect(Object.fromEntries(m.params.entries.map((e) => [e.name, e.values]))).toEqual({ k: [1.5], c: [0.25] });
    expect(m.params.entries.map((e) => e.offset).sort()).toEqual([0, 1]);
    expect(m.status.flags).toEqual({ noConvergence: 0x80000000, nonfiniteBy: 0x40000000, truncated: 0x20000000 });
    expect(Object.keys(m.status.meanings).sort()).toEqual(Object.keys(m.status.words).sort());
  });

  it("a host written from the JSON alone packs the same bytes as the export's functions", () => {
    const h = parse({ q: ['x', 'y'], p: ['u', 'w'], H: '(u^2+w^2)/2 + k*(x^2+y^2)/2 + c*x*y^2', params: { k: 1.5, c: 0.25 } });
    const k = kernelExportWithoutDevice(stepProgram(h, 'leapfrog'), 0.02);
    const m = JSON.parse(JSON.stringify(k)) as KernelManifest;
    const host = fromJson(m);
    const batch = 3;
    const q = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6], p = [1e-3, 2, -3, 0.7, 0.125, -1 / 3];
    expect(bytes(host.packState(q, p, batch))).toEqual(bytes(k.packState(q, p, batch)));
    expect(bytes(host.packParams())).toEqual(bytes(k.packParams()));
    const uniform = { batch, steps: 500, t0: 0.75, stepBase: 1000 };
    expect(bytes(host.packUniform({ ...uniform, dt: m.dt, tStart: uniform.t0 }))).toEqual(bytes(k.packUniform(uniform)));
    for (const b of k.bindings) for (const n of [1, 5, 64]) expect(host.byteLength(b.name, n)).toBe(b.byteLength(n));
    const state = k.unpackState(k.packState(q, p, batch), batch);
    expect(Array.from(state.q)).toEqual(q.map(Math.fround));
    expect(Array.from(state.p)).toEqual(p.map(Math.fround));
    expect(k.dispatch(64)).toEqual([1, 1, 1]);
    expect(k.dispatch(65)).toEqual([2, 1, 1]);
  });

  it('refuses what it cannot honour', async () => {
    const h = parse({ q: ['x'], p: ['u'], H: 'u^2/2 + x^2/2' });
    const k = kernelExportWithoutDevice(stepProgram(h, 'leapfrog'), 0.01);
    expect(() => k.packUniform({ batch: 1, steps: k.maxStepsPerDispatch + 1, t0: 0 })).toThrow(/maxStepsPerDispatch/);
    expect(() => k.packState([1, 2], [3], 2)).toThrow(/batch × dof/);
    expect(() => k.dispatch(64 * 65535 + 1)).toThrow(/split the batch/);
    await expect(compileCli([...SYSTEM, '--emit', 'js', '--manifest', path.join(dir, 'x.json')])).rejects.toThrow(UsageError);
  });
});
