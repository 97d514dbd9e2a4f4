/**
 * The browser build, for real: scripts/build-browser.mjs builds the library bundle and the playground into a
 * scratch folder, scripts/serve.mjs serves it on localhost, and headless Chromium (Debian's `chromium`, which
 * .ci/run installs) loads it with WebGPU on SwiftShader. The numbers are read back from the page (the GPU
 * stepper's buffers, through `st.run`), not from a screenshot, and compared with the Node CPU backend (f64) at
 * f32 tolerance. Chromium missing is a failure, not a skip: set DARBOUX_CHROMIUM to use another binary.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowser } from '../../scripts/build-browser.mjs';
import { serveStatic } from '../../scripts/serve.mjs';
import { compile, henonHeiles, parse } from '../../src/index.js';

const CHROMIUM = process.env.DARBOUX_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader', '--no-sandbox'];

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-browser-'));
let browser: Browser | undefined;
let server: { close(): void } | undefined;
let base = '';
let metafiles: Awaited<ReturnType<typeof buildBrowser>>;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run installs it when missing), or set DARBOUX_CHROMIUM`);
  }
  metafiles = await buildBrowser(scratch);
  fs.writeFileSync(path.join(scratch, 'blank.html'), '<!doctype html><title>darboux test</title><link rel="icon" href="data:,">');
  // The README's embedding example, as a page of its own (its import pointed at the served bundle).
  const readme = fs.readFileSync('README.md', 'utf8');
  const embed = /```html\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Browser')))![1]!;
  fs.writeFileSync(path.join(scratch, 'readme.html'), `<!doctype html><link rel="icon" href="data:,"><body>${embed.replace('./dist/browser/darboux.js', '/browser/darboux.js')}</body>`);
  const served = await serveStatic(scratch, 0);
  server = served.server;
  base = served.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Largest difference between two states, relative to the reference's scale. */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0, scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

/** A new page that fails the test on any uncaught page error. */
async function newPage(init?: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser!.newContext();
  if (init !== undefined) await context.addInitScript(init);
  const page = await context.newPage();
  page.setDefaultTimeout(90_000); // SwiftShader compiles the kernels on the CPU, which the other test files share
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

describe('the browser bundle', () => {
  it('holds no Node built-in, dawn.node or linkedom, and swaps in the navigator.gpu adapter search', () => {
    const inputs = Object.keys(metafiles.library.inputs);
    expect(inputs.filter((f) => /node_modules\/(webgpu|linkedom)\//.test(f))).toEqual([]);
    expect(inputs).toContain('src/runtime/adapter.browser.ts');
    expect(inputs).not.toContain('src/runtime/adapter.ts');
    expect(inputs).toContain('src/backends/gpu/stepper.ts'); // the WebGPU backend is in
    for (const file of Object.keys(metafiles.library.outputs).filter((f) => f.endsWith('.js'))) {
      const text = fs.readFileSync(path.resolve(file), 'utf8');
      expect(text, file).not.toMatch(/(from|import)\s*\(?\s*["'](node:|webgpu["'])/);
    }
  });

  it('runs a Hénon–Heiles leapfrog batch on the page\'s WebGPU, equal to the Node CPU backend at f32 tolerance', async () => {
    const model = henonHeiles();
    const batch = 64, steps = 1000;
    const q0 = Array.from({ length: 2 * batch }, (_, i) => model.q0[i % 2]! + 0.02 * Math.sin(i));
    const p0 = Array.from({ length: 2 * batch }, (_, i) => model.p0[i % 2]! + 0.02 * Math.cos(3 * i));
    const { page, errors } = await newPage();
    await page.goto(`${base}blank.html`);
    await page.addScriptTag({ type: 'module', content: "import * as darboux from '/browser/darboux.js'; window.darboux = darboux;" });
    await page.waitForFunction(() => 'darboux' in window);
    const inPage = await page.evaluate(async ({ q0, p0, batch, steps }) => {
      const d = (window as unknown as { darboux: typeof import('../../src/index.js') }).darboux;
      const model = d.henonHeiles();
      const st = await d.compile(model.hamiltonian, { method: 'leapfrog', dt: model.dt, backend: 'gpu' });
      const result = await st.run({ q0, p0, batch, steps });
      const info = await d.gpuInfo();
      st.dispose();
      return { backend: st.backend, adapter: info.adapter, q: [...result.q], p: [...result.p] };
    }, { q0, p0, batch, steps });
    expect(errors).toEqual([]);
    expect(inPage.backend).toBe('gpu');
    expect(inPage.adapter).toBe('swiftshader');
    const cpu = await compile(model.hamiltonian, { method: 'leapfrog', dt: model.dt, backend: 'cpu' });
    const reference = await cpu.run({ q0, p0, batch, steps });
    expect(relativeDifference(inPage.q, reference.q)).toBeLessThan(1e-4);
    expect(relativeDifference(inPage.p, reference.p)).toBeLessThan(1e-4);
    // f32 on the GPU, f64 here: equal to f32 rounding, not bit for bit (the page did not fall back to the CPU).
    expect(relativeDifference(inPage.q, reference.q)).toBeGreaterThan(1e-10);
  });
});

describe("the README's embedding example", () => {
  it('draws its phase portrait in a page', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}readme.html`);
    await page.waitForSelector('body > svg');
    expect(errors).toEqual([]);
    expect(await page.locator('body > svg path').count()).toBeGreaterThan(0);
  });
});

/** The playground's last run, as the page exposes it. */
interface PageRun {
  backend: 'cpu' | 'gpu';
  q0: number[]; p0: number[]; q: number[]; p: number[];
  maxEnergyError: number;
  settings: { H: string; q: string[]; p: string[]; params: Record<string, number>; method: string; dt: number; steps: number; batch: number };
}

/** Fills the playground's form, presses Run and returns the run the page reports. */
async function runPlayground(page: Page, fields: Record<string, string>): Promise<PageRun> {
  await page.waitForSelector('body[data-status="ready"]');
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'backend') await page.selectOption('#backend', value);
    else await page.fill(`#${name}`, value);
  }
  await page.click('#run');
  await page.waitForSelector('body[data-status="done"], body[data-status="error"]');
  expect(await page.getAttribute('body', 'data-status'), await page.textContent('#status') ?? '').toBe('done');
  return page.evaluate(() => (window as unknown as { darbouxPlayground: { lastRun: PageRun } }).darbouxPlayground.lastRun);
}

/** The same run on the Node CPU backend. */
async function nodeRun(run: PageRun) {
  const s = run.settings;
  const h = parse({ H: s.H, q: s.q, p: s.p, params: s.params });
  const st = await compile(h, { method: s.method, dt: s.dt, backend: 'cpu' });
  return st.run({ q0: run.q0, p0: run.p0, batch: s.batch, steps: s.steps });
}

describe('the playground page', () => {
  it('runs its Hénon–Heiles system on WebGPU from the form, draws both plots and shares the form by URL', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}playground/`);
    const run = await runPlayground(page, { steps: '400', batch: '16', every: '20', seed: '7' });
    expect(errors).toEqual([]);
    expect(await page.textContent('#device')).toMatch(/^WebGPU: .*swiftshader/);
    expect(run.backend).toBe('gpu');
    expect(run.q0).toHaveLength(32);
    const reference = await nodeRun(run);
    expect(relativeDifference(run.q, reference.q)).toBeLessThan(1e-4);
    expect(relativeDifference(run.p, reference.p)).toBeLessThan(1e-4);
    // Leapfrog at dt = 0.01 on bounded orbits: a small, non-zero energy error, shown as the page computed it.
    expect(run.maxEnergyError).toBeGreaterThan(0);
    expect(run.maxEnergyError).toBeLessThan(1e-3);
    expect(await page.textContent('#energy-error')).toBe(run.maxEnergyError.toExponential(3));
    expect(await page.locator('#phase svg').count()).toBe(1);
    expect(await page.locator('#energy svg').count()).toBe(1);
    expect(await page.textContent('#kernel')).toContain('@compute');
    // The form went into the URL: a fresh page on that URL gets the same settings.
    const shared = page.url();
    expect(shared).toContain('steps=400');
    const { page: again } = await newPage();
    await again.goto(shared);
    await again.waitForSelector('body[data-status="ready"]');
    expect(await again.inputValue('#steps')).toBe('400');
    expect(await again.inputValue('#seed')).toBe('7');
  });

  it('falls back to the CPU backend, and says so, where the browser has no WebGPU', async () => {
    const { page, errors } = await newPage("Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });");
    await page.goto(`${base}playground/`);
    const run = await runPlayground(page, { steps: '300', batch: '4', every: '30' });
    expect(errors).toEqual([]);
    expect(await page.textContent('#device')).toMatch(/^No WebGPU here .*CPU backend/);
    expect(run.backend).toBe('cpu');
    const reference = await nodeRun(run);
    // The same generated f64 JavaScript in Chromium's V8 as in Node's.
    expect(relativeDifference(run.q, reference.q)).toBeLessThan(1e-12);
    expect(relativeDifference(run.p, reference.p)).toBeLessThan(1e-12);
  });
});
