/**
 * `npm run build` yields a package a consumer can use: scripts/build.mjs and `tsc -p tsconfig.build.json` write
 * into a scratch package (node_modules/darboux with our package.json), and a consumer imports `darboux` and
 * `darboux/internals` through the `exports` map, at runtime (node) and for types (tsc, NodeNext resolution).
 * About 10 s: esbuild is fast, the declaration emit is most of it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as root from '../../src/index.js';
import * as internals from '../../src/internals.js';

const repo = process.cwd();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-build-'));
const pkg = path.join(scratch, 'node_modules', 'darboux');
const dist = path.join(pkg, 'dist');

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const run = (args: string[], cwd = repo) => execFileSync(process.execPath, args, { cwd, encoding: 'utf8', stdio: 'pipe' });

const CONSUMER_JS = `
const root = await import('darboux');
const internals = await import('darboux/internals');
const h = root.parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });
const st = internals.cpuStepper(internals.stepProgram(h, 'leapfrog'), 0.1);
let refused;
try { internals.stepProgram(h, 'nope'); } catch (e) { refused = e instanceof root.DarbouxError ? e.code : String(e); }
console.log(JSON.stringify({
  root: Object.keys(root).sort(),
  internals: Object.keys(internals).sort(),
  sharedExpr: root.param('a') instanceof internals.Expr,
  refused,
  q: Array.from((await st.run({ q0: [1], p0: [0], steps: 10 })).q),
}));
`;

const CONSUMER_TS = `
import { parse, compile, symplecticDefect, type Stepper, type DarbouxErrorCode, type FitOptions } from 'darboux';
import { stepProgram, cpuStepper, jvp, type StepProgram } from 'darboux/internals';
// @ts-expect-error the compiler's parts are not in the root
import { defineOp } from 'darboux';
const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });
const program: StepProgram = stepProgram(h, 'leapfrog');
const st: Stepper = cpuStepper(program, 0.01);
const code: DarbouxErrorCode = 'OPTION';
const options: FitOptions = { steps: 1, lr: 1e-3 };
export { st, code, options, compile, symplecticDefect, jvp, defineOp };
`;

describe('npm run build', () => {
  it('emits dist/index.js and dist/internals.js with declarations, importable through the exports map', () => {
    fs.mkdirSync(pkg, { recursive: true });
    fs.copyFileSync('package.json', path.join(pkg, 'package.json'));
    run(['scripts/build.mjs', dist]);
    run([path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', dist]);
    for (const file of ['index.js', 'internals.js', 'index.d.ts', 'internals.d.ts']) {
      expect(fs.existsSync(path.join(dist, file)), file).toBe(true);
    }
    // The consumer: an ES module package next to ours; dawn.node comes from this repository's `webgpu`.
    fs.symlinkSync(fs.realpathSync(path.join('node_modules', 'webgpu')), path.join(scratch, 'node_modules', 'webgpu'), 'dir');
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    fs.writeFileSync(path.join(scratch, 'consumer.mjs'), CONSUMER_JS);
    const out = JSON.parse(run(['consumer.mjs'], scratch));
    expect(out.root).toEqual(Object.keys(root).sort());
    expect(out.internals).toEqual(Object.keys(internals).sort());
    // One copy of every module behind both entry points (shared chunks): one Expr class, one DarbouxError.
    expect(out.sharedExpr).toBe(true);
    expect(out.refused).toBe('OPTION'); // unknown method, thrown by one chunk and caught as the root's class
    // Ten leapfrog steps of the unit oscillator from (1, 0) at h = 0.1: q₁₀ ≈ cos(1) within O(h²).
    expect(Math.abs(out.q[0] - Math.cos(1))).toBeLessThan(5e-3);

    fs.writeFileSync(path.join(scratch, 'consumer.ts'), CONSUMER_TS);
    fs.writeFileSync(path.join(scratch, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'],
        noEmit: true, skipLibCheck: true, types: [],
      },
      files: ['consumer.ts'],
    }));
    run([path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], scratch);

    // The installed `darboux` command (package.json `files`: dist and bin, no src/): bin runs dist/cli.js.
    fs.cpSync('bin', path.join(pkg, 'bin'), { recursive: true });
    const bin = path.join(pkg, 'bin', 'darboux.mjs');
    expect(run([bin, '--version'], scratch).trim()).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
    run([bin, 'run', '--model', 'harmonic-oscillator', '--steps', '100', '--save-every', '10', '-o', 'o.npz', '--quiet'], scratch);
    run([bin, 'plot', 'energy', 'o.npz', '-o', 'e.svg', '--quiet'], scratch);
    expect(fs.readFileSync(path.join(scratch, 'e.svg'), 'utf8')).toMatch(/^<svg[^>]*>/);
  }, 180_000);
});
