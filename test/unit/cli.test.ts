/**
 * The `darboux` CLI (bin/darboux.mjs → src/cli through tsx), spawned as a user runs it: exit codes (0 ok, 1
 * failure, 2 usage error), --version, --help, usage on stderr; `run` writes the contract's .npz, equal bit for
 * bit to the library's st.run on the same inputs, with the initial state as the first frame; `check` fails rk4
 * claimed symplectic and passes leapfrog; `compile` prints the library's kernel source and graph JSON; `train`
 * writes a model JSON that restores the model. Plus the progress line and colour rules, in-process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, henonHeiles, parse, readNpz, sympnet, writeNpy, writeNpz } from '../../src/index.js';
import { graphFromJson } from '../../src/internals.js';
import { paint, progressLine, useColor } from '../../src/cli/terminal.js';
import { main } from '../../src/cli/main.js';

const repo = process.cwd();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const version = JSON.parse(fs.readFileSync('package.json', 'utf8')).version;

/** Runs `node bin/darboux.mjs …args` in the scratch folder; resolves with the exit code and both streams. */
function darboux(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repo, 'bin', 'darboux.mjs'), ...args], { cwd: dir, env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs an ES module script in a fresh process (through tsx, after loading the CLI's modules) and parses its JSON stdout. */
function library(script: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `await import('./src/cli/main.ts');\n${script}`], { cwd: repo });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(stderr))));
  });
}

const bits = (a: ArrayLike<number>) => Array.from(new BigUint64Array(Float64Array.from(a).buffer), (b) => b.toString(16));

const OSC = ['--H', '(u^2+w^2)/2 + k*(x^2+y^2)/2', '--q', 'x,y', '--p', 'u,w', '--params', 'k=1'];

describe.concurrent('darboux (spawned)', () => {
  it('--version, --help, usage errors: exit 0, 0, 2 with the usage on stderr', async () => {
    const [v, help, runHelp, unknown, bare, command, value] = await Promise.all([
      darboux(['--version']), darboux(['--help']), darboux(['run', '--help']), darboux(['run', '--no-such-flag']), darboux([]),
      darboux(['frobnicate']), darboux(['run', '--model', 'pendulum', '--steps', 'ten']),
    ]);
    expect(v).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: darboux <command>/);
    for (const c of ['run', 'check', 'compile', 'train']) expect(help.stdout).toContain(`  ${c} `);
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toContain("'qs', 'ps' (frames × batch × dof, the initial state first)");
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain("Unknown option '--no-such-flag'");
    expect(unknown.stderr).toContain('Usage: darboux run');
    expect([bare.code, command.code, value.code]).toEqual([2, 2, 2]);
    expect(command.stderr).toContain("unknown command 'frobnicate'");
    expect(value.stderr).toContain("--steps must be a ≥ 0 integer, got 'ten'");
    // Not a terminal: no colour escapes, whatever NO_COLOR says.
    expect(unknown.stderr).not.toMatch(/\x1b\[/);
  });

  it('run: the contract example writes q, p, t, qs, ps equal bit for bit to st.run, the initial state first', async () => {
    const q0 = Float64Array.of(1, 0, 0, 1, 0.5, 0.5, 0.1, -0.2), p0 = Float64Array.of(0, 1, -1, 0, 0.25, 0, 0, 0.3);
    fs.writeFileSync(path.join(dir, 'q0.npy'), writeNpy({ shape: [4, 2], data: q0 }));
    fs.writeFileSync(path.join(dir, 'p0.npy'), writeNpy({ shape: [4, 2], data: p0 }));
    const res = await darboux([...OSC, '--method', 'leapfrog', '--dt', '0.01', '--steps', '1000', '--batch', '4', '--q0', 'q0.npy', '--p0', 'p0.npy', '--backend', 'cpu', '--save-every', '10', '--out', 'out.npz'].reduce<string[]>((a, x, i) => (i === 0 ? ['run', x] : [...a, x]), []));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/run: 1000 steps × 4 trajectories .* wrote out\.npz/);
    const out = readNpz(fs.readFileSync(path.join(dir, 'out.npz')));
    expect(Object.fromEntries(Object.entries(out).map(([k, a]) => [k, a.shape]))).toEqual({ q: [4, 2], p: [4, 2], t: [101], qs: [101, 4, 2], ps: [101, 4, 2], energy: [101, 4] });
    const h = parse({ q: ['x', 'y'], p: ['u', 'w'], H: '(u^2+w^2)/2 + k*(x^2+y^2)/2', params: { k: 1 } });
    const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const lib = await st.run({ q0, p0, steps: 1000, batch: 4, record: 10 });
    st.dispose();
    expect(bits(out.q!.data)).toEqual(bits(lib.q));
    expect(bits(out.p!.data)).toEqual(bits(lib.p));
    expect(bits(out.qs!.data.subarray(0, 8))).toEqual(bits(q0));
    expect(bits(out.ps!.data.subarray(0, 8))).toEqual(bits(p0));
    expect(bits(out.qs!.data.subarray(8))).toEqual(bits(lib.record!.q));
    expect(bits(out.ps!.data.subarray(8))).toEqual(bits(lib.record!.p));
    expect(bits(out.qs!.data.subarray(800))).toEqual(bits(lib.q)); // the last frame is the final state
    out.t!.data.forEach((t, i) => expect(t).toBeCloseTo(i * 0.1, 12));
    // 'energy' (frames × batch): H of every frame, evaluated independently here.
    const energies = Float64Array.from({ length: 101 * 4 }, (_, k) => h.energy(out.qs!.data.subarray(2 * k, 2 * k + 2), out.ps!.data.subarray(2 * k, 2 * k + 2)));
    expect(bits(out.energy!.data)).toEqual(bits(energies));
    // The contract's next line: the energy plot from the file alone, the same picture as with the system given.
    const alone = await darboux(['plot', 'energy', 'out.npz', '-o', 'energy.svg']);
    expect(alone.code, alone.stderr).toBe(0);
    const given = await darboux(['plot', 'energy', 'out.npz', ...OSC, '-o', 'energy-h.svg']);
    expect(given.code, given.stderr).toBe(0);
    const svg = fs.readFileSync(path.join(dir, 'energy.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]*>/);
    expect(svg).toBe(fs.readFileSync(path.join(dir, 'energy-h.svg'), 'utf8'));
    // A file without energies (a .csv of frames) still needs the system: a usage error naming the flags.
    fs.writeFileSync(path.join(dir, 'frames.csv'), 't,trajectory,q0,p0\n0,0,1,0\n0.1,0,0.99,-0.1\n');
    const csv = await darboux(['plot', 'energy', 'frames.csv', '-o', 'x.svg']);
    expect(csv.code).toBe(2);
    expect(csv.stderr).toMatch(/frames\.csv holds no 'energy' array .*--model/);
  });

  it('run --section --save-at: crossings and saved states beside --out, equal bit for bit to st.run', async () => {
    const res = await darboux(['run', '--model', 'henon-heiles', '--steps', '2000', '--method', 'yoshida4', '--section', 'y', '--section-direction', '1', '--save-at', '0.5,1.0', '--json', '--quiet', '--out', 'sec.npz']);
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout);
    const model = henonHeiles();
    const st = await compile(model.hamiltonian, { method: 'yoshida4', dt: model.dt, backend: 'cpu' });
    const lib = await st.run({ q0: model.q0, p0: model.p0, steps: 2000, section: { expr: 'y', direction: 1 }, saveAt: [0.5, 1.0] });
    st.dispose();
    const count = lib.section!.count[0]!;
    expect(summary.section).toMatchObject({ crossings: count, overflowed: 0, file: 'sec-section.npz' });
    expect(summary.saved).toMatchObject({ t: [0.5, 1], file: 'sec-saved.npz' });
    const crossings = readNpz(fs.readFileSync(path.join(dir, 'sec-section.npz')));
    expect(crossings.q!.shape).toEqual([count, 2]);
    expect(bits(crossings.t!.data)).toEqual(bits(lib.section!.t.subarray(0, count)));
    expect(bits(crossings.p!.data)).toEqual(bits(lib.section!.p.subarray(0, 2 * count)));
    const saved = readNpz(fs.readFileSync(path.join(dir, 'sec-saved.npz')));
    expect(saved.qs!.shape).toEqual([2, 1, 2]);
    expect(bits(saved.qs!.data)).toEqual(bits(lib.saved!.q));
    const bad = await darboux(['run', '--model', 'henon-heiles', '--steps', '10', '--section-max', '5']);
    expect(bad.code).toBe(2);
  });

  it('run --json: a summary with the final state; a damaged input file exits 1 with a JSON error on stderr', async () => {
    fs.writeFileSync(path.join(dir, 'bad.npy'), 'not numpy');
    const [ok, bad] = await Promise.all([
      darboux(['run', '--model', 'henon-heiles', '--steps', '50', '--batch', '3', '--init', 'random', '--seed', '7', '--json']),
      darboux(['run', '--model', 'henon-heiles', '--steps', '50', '--q0', 'bad.npy', '--p0', 'bad.npy', '--json']),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const summary = JSON.parse(ok.stdout);
    expect(summary).toMatchObject({ command: 'run', system: 'henon-heiles', method: 'leapfrog', dt: 0.05, steps: 50, batch: 3, dof: 2, backend: 'cpu' });
    expect(summary.q).toHaveLength(3);
    expect(summary.energyError).toBeLessThan(1e-2);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'INPUT', message: expect.stringMatching(/bad\.npy: not a NumPy \.npy file/) });
  });

  it('check: exit 0 for leapfrog; exit 1 for rk4 claimed symplectic, with a JSON report', async () => {
    const [leapfrog, rk4] = await Promise.all([
      darboux(['check', '--model', 'henon-heiles', '--method', 'leapfrog', '--dt', '0.05', '--steps', '2000']),
      darboux(['check', '--model', 'henon-heiles', '--method', 'rk4', '--dt', '0.1', '--steps', '2000', '--claim', 'symplectic', '--json']),
    ]);
    expect(leapfrog.code, leapfrog.stderr).toBe(0);
    expect(leapfrog.stdout).toMatch(/symplectic\s+\S+\s+yes\s+≤ 1e-10\s+ok/);
    expect(leapfrog.stdout).toMatch(/order\s+(1\.9\d|2\.0\d)\s+2\s/);
    expect(rk4.code).toBe(1);
    const report = JSON.parse(rk4.stdout);
    expect(report.pass).toBe(false);
    expect(report.checks.symplectic).toMatchObject({ claimed: true, pass: false });
    expect(report.checks.symplectic.value).toBeGreaterThan(1e-9);
    expect(report.checks.reversible).toMatchObject({ claimed: false, pass: null });
    expect(report.checks.order.value).toBeGreaterThan(3.7);
  });

  it('check --claim energy=X: the long-run relative energy error held to X (exit 1 above it)', async () => {
    const args = ['check', '--model', 'henon-heiles', '--method', 'leapfrog', '--dt', '0.05', '--steps', '2000', '--order-steps', '4', '--json', '--claim'];
    const [loose, tight, bad] = await Promise.all([darboux([...args, 'energy=1e-2']), darboux([...args, 'energy=1e-6']), darboux([...args, 'energy=-1'])]);
    expect(loose.code, loose.stderr).toBe(0);
    expect(tight.code, tight.stderr).toBe(1);
    const [a, b] = [JSON.parse(loose.stdout), JSON.parse(tight.stdout)];
    // The same measurement (around 4e-4 for leapfrog at dt 0.05), judged against each bound.
    expect(a.checks.energy.value).toBe(b.checks.energy.value);
    expect(a.checks.energy.value).toBeGreaterThan(1e-6);
    expect(a.checks.energy.value).toBeLessThan(1e-2);
    expect(a.checks.energy).toMatchObject({ claimed: true, tolerance: 1e-2, pass: true });
    expect(b.checks.energy).toMatchObject({ claimed: true, tolerance: 1e-6, pass: false });
    expect([a.pass, b.pass]).toEqual([true, false]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/energy=X \(a positive bound\)/);
  });

  it('compile: --emit js is the CPU stepper source, --emit json the graph of H, --emit wgsl the kernel (no GPU needed)', async () => {
    const [js, json, wgsl, toFile] = await Promise.all([
      darboux(['compile', ...OSC, '--method', 'yoshida4', '--emit', 'js']),
      darboux(['compile', ...OSC, '--emit', 'json']),
      darboux(['compile', ...OSC, '--emit', 'wgsl']),
      darboux(['compile', '--model', 'pendulum', '--emit', 'wgsl', '-o', 'kernel.wgsl', '--json']),
    ]);
    // Operands of commutative ops are ordered by intern order, so the oracle is the library in a fresh process
    // that loads the same modules and builds the same graphs in the same order as the CLI.
    const H = "parse({ q: ['x', 'y'], p: ['u', 'w'], H: '(u^2+w^2)/2 + k*(x^2+y^2)/2', params: { k: 1 } })";
    const [jsOracle, wgslOracle] = await Promise.all([
      library(`
        const { parse, compile } = await import('./src/index.ts');
        const st = await compile(${H}, { method: 'yoshida4', dt: 0.01, backend: 'cpu' });
        process.stdout.write(JSON.stringify({ code: st.source }));`),
      library(`
        const { parse } = await import('./src/index.ts');
        const { emitWgslStepper, specializeParameters, stepProgram } = await import('./src/internals.ts');
        const program = specializeParameters(stepProgram(${H}, 'leapfrog'));
        process.stdout.write(JSON.stringify({ code: emitWgslStepper(program, undefined, { record: false, checkEveryStep: false }) }));`),
    ]);
    expect(js.code).toBe(0);
    expect(js.stdout.trimEnd()).toBe(jsOracle.code!.trimEnd());
    expect(js.stdout).toMatch(/^"use strict";\nreturn function run\(/);
    expect(wgsl.code).toBe(0);
    expect(wgsl.stdout.trimEnd()).toBe(wgslOracle.code!.trimEnd());
    expect(wgsl.stdout).toMatch(/@compute @workgroup_size\(\d+\)\nfn main\(/);
    const h = parse({ q: ['x', 'y'], p: ['u', 'w'], H: '(u^2+w^2)/2 + k*(x^2+y^2)/2', params: { k: 1 } });
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ method: 'leapfrog', dof: 2, names: { q: ['x', 'y'], p: ['u', 'w'] }, params: { k: 1 } });
    expect(graphFromJson(doc.hamiltonian)[0]).toBe(h.H); // interned: the very same graph
    expect(toFile.code).toBe(0);
    expect(JSON.parse(toFile.stdout)).toEqual({ emit: 'wgsl', method: 'leapfrog', dt: 0.05, output: 'kernel.wgsl' });
    expect(fs.readFileSync(path.join(dir, 'kernel.wgsl'), 'utf8')).toContain('fn main(');
  });

  it('train: a sympnet on run frames writes a model JSON that restores the model', async () => {
    const { hamiltonian: h } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const q0 = Float64Array.from({ length: 16 }, (_, i) => 0.2 * Math.sin(i)), p0 = Float64Array.from({ length: 16 }, (_, i) => 0.2 * Math.cos(3 * i));
    const res = await st.run({ q0, p0, steps: 20, batch: 8, record: 1 });
    st.dispose();
    fs.writeFileSync(path.join(dir, 'frames.npz'), writeNpz({
      t: { shape: [21], data: Float64Array.from({ length: 21 }, (_, i) => i * 0.05) },
      qs: { shape: [21, 8, 2], data: Float64Array.from([...q0, ...res.record!.q]) },
      ps: { shape: [21, 8, 2], data: Float64Array.from([...p0, ...res.record!.p]) },
    }));
    const out = await darboux(['train', 'sympnet', 'frames.npz', '--steps', '30', '--layers', '2', '--width', '4', '-o', 'model.json', '--json']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/train: step 1\/30 loss/);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(saved).toMatchObject({ kind: 'sympnet', options: { dof: 2, kind: 'G', layers: 2, width: 4 }, steps: 30 });
    expect(JSON.parse(out.stdout).loss).toBe(saved.loss);
    const model = sympnet(saved.options).withParams(saved.params);
    expect(Object.keys(model.params).sort()).toEqual(Object.keys(saved.params).sort());
    const usage = await darboux(['train', 'lstm', 'frames.npz']);
    expect(usage.code).toBe(2);
  });
});

describe('progress and colour', () => {
  const stream = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, isTTY, write: (s: string) => { chunks.push(s); return true; } };
  };

  it('redraws one line on a terminal and prints plain periodic lines otherwise, with rate and ETA', () => {
    for (const tty of [true, false]) {
      let clock = 0;
      const stderr = stream(tty);
      const bar = progressLine({ stdout: stream(tty), stderr, env: {}, now: () => clock }, { total: 1000, unit: 'steps', label: 'run', enabled: true, everyMs: 2000 });
      for (let done = 100; done <= 1000; done += 100) { clock += 1000; bar.update(done); }
      bar.finish();
      if (tty) {
        expect(stderr.chunks).toHaveLength(11); // ten redraws and the final clear
        expect(stderr.chunks[0]).toBe('\r\x1b[2Krun: 100/1000 steps (10%), 100 steps/s, ETA 9.0s');
        expect(stderr.chunks.every((c) => !c.includes('\n'))).toBe(true);
      } else {
        expect(stderr.chunks).toEqual([2, 4, 6, 8, 10].map((s) => `run: ${s * 100}/1000 steps (${s * 10}%), 100 steps/s, ETA ${(10 - s).toFixed(1)}s\n`));
      }
    }
  });

  it('darboux run reports increasing progress up to the last step, and writes the same result as with --quiet', async () => {
    // A clock that jumps 1 s per reading, so every onProgress report is drawn (a terminal redraws every 100 ms).
    let clock = 0;
    const stderr = stream(true);
    const out = path.join(dir, 'progress.npz');
    const args = ['run', '--model', 'henon-heiles', '--steps', '400000', '--save-every', '100000', '-o', out];
    expect(await main(args, { stdout: stream(false), stderr, env: {}, now: () => (clock += 1000) })).toBe(0);
    const done = stderr.chunks.map((c) => /run: (\d+)\/400000 steps/.exec(c)?.[1]).filter((d) => d !== undefined).map(Number);
    expect(done.length).toBeGreaterThanOrEqual(2);
    done.forEach((d, k) => expect(d).toBeGreaterThanOrEqual(k > 0 ? done[k - 1]! : 0));
    expect(done.at(-1)).toBe(400000);
    const quiet = path.join(dir, 'quiet.npz');
    expect(await main([...args.slice(0, -1), quiet, '--quiet'], { stdout: stream(false), stderr: stream(false), env: {} })).toBe(0);
    const [a, b] = [readNpz(fs.readFileSync(out)), readNpz(fs.readFileSync(quiet))];
    for (const name of ['q', 'p', 'qs', 'ps']) expect(bits(a[name]!.data), name).toEqual(bits(b[name]!.data));
  });

  it('run --on-failure report: every member written, a failed one listed and NaN after its last finite frame', async () => {
    // Hénon–Heiles: members 0 and 2 are bound; member 1 rolls down −y³/3 to infinity within 100 steps.
    fs.writeFileSync(path.join(dir, 'qf.json'), '[[0, 0.2], [0, 1.5], [0.1, 0]]');
    fs.writeFileSync(path.join(dir, 'pf.json'), '[[0, 0], [0, 1], [0, 0.1]]');
    const base = ['run', '--model', 'henon-heiles', '--steps', '400', '--q0', path.join(dir, 'qf.json'), '--p0', path.join(dir, 'pf.json'), '--save-every', '50', '--quiet', '--json'];
    const io = () => { const o = stream(false), e = stream(false); return { o, e, io: { stdout: o, stderr: e, env: {} } }; };
    const thrown = io();
    expect(await main([...base, '-o', path.join(dir, 'f0.npz')], thrown.io)).toBe(1);
    expect(thrown.e.chunks.join('')).toMatch(/NONFINITE/);
    const reported = io();
    expect(await main([...base, '--on-failure', 'report', '-o', path.join(dir, 'f.npz')], reported.io), reported.e.chunks.join('')).toBe(0);
    const summary = JSON.parse(reported.o.chunks.join(''));
    // The library's own report of the same run: the same failed member and step, the same final states.
    const model = henonHeiles();
    const st = await compile(model.hamiltonian, { method: 'leapfrog', dt: model.dt, backend: 'cpu' });
    const lib = await st.run({ q0: [0, 0.2, 0, 1.5, 0.1, 0], p0: [0, 0, 0, 1, 0, 0.1], batch: 3, steps: 400, record: 50, onFailure: 'report' });
    st.dispose();
    const step = lib.status![1]!.step!;
    expect(lib.status!.map((s) => s.ok)).toEqual([true, false, true]);
    expect(summary.failed).toEqual([{ member: 1, code: 'NONFINITE', step }]);
    expect(Number.isFinite(summary.energyError)).toBe(true); // the failed member is left out
    const out = readNpz(fs.readFileSync(path.join(dir, 'f.npz')));
    expect(bits(out.q!.data)).toEqual(bits(lib.q));
    for (let f = 0; f < 9; f++) {
      const y = out.qs!.data[(f * 3 + 1) * 2 + 1]!;
      expect(Number.isNaN(y), `frame ${f}`).toBe(f * 50 > step);
    }
    // A shard's manifest lists its failed members by global index.
    const shard = io();
    expect(await main([...base.slice(0, -2), '--batch', '3', '--shard', '2/2', '--on-failure', 'report', '-o', path.join(dir, 'fparts'), '--quiet'], shard.io)).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'fparts', 'part-00002-of-00002.json'), 'utf8')).failed).toEqual([{ member: 1, code: 'NONFINITE', step }]);
    const first = io();
    expect(await main([...base.slice(0, -2), '--batch', '3', '--shard', '1/2', '--on-failure', 'report', '-o', path.join(dir, 'fparts'), '--quiet'], first.io)).toBe(0);
    const merged = io();
    expect(await main(['merge', path.join(dir, 'fparts'), '-o', path.join(dir, 'fmerged.npz'), '--json', '--quiet'], merged.io), merged.e.chunks.join('')).toBe(0);
    expect(JSON.parse(merged.o.chunks.join('')).failed).toEqual([{ member: 1, code: 'NONFINITE', step }]);
    const joined = readNpz(fs.readFileSync(path.join(dir, 'fmerged.npz')));
    for (const name of ['q', 'p', 'qs', 'ps']) expect(bits(joined[name]!.data), name).toEqual(bits(out[name]!.data));
    const bad = io();
    expect(await main([...base, '--on-failure', 'skip'], bad.io)).toBe(2);
  });

  it('colours only a terminal, and never with NO_COLOR', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(paint({ isTTY: true }, {}, 31)('x')).toBe('\x1b[31mx\x1b[0m');
    expect(paint({ isTTY: true }, { NO_COLOR: '1' }, 31)('x')).toBe('x');
  });
});
