#!/usr/bin/env node
/**
 * The README's playground screenshot (docs/images/playground.png): builds the browser bundle and the playground
 * into a scratch folder, serves it on localhost, runs the default Hénon–Heiles system in headless Chromium
 * (WebGPU on SwiftShader) and captures the page. Needs Debian's `chromium` (or DARBOUX_CHROMIUM) and the
 * devDependency playwright-core.
 *
 * @example
 *   node scripts/playground-screenshot.mjs      # → docs/images/playground.png
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildBrowser } from './build-browser.mjs';
import { serveStatic } from './serve.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-shot-'));
const out = path.join(repo, 'docs', 'images', 'playground.png');
try {
  await buildBrowser(scratch);
  const { server, url } = await serveStatic(scratch, 0);
  const browser = await chromium.launch({
    executablePath: process.env.DARBOUX_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader', '--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${url}playground/`);
    await page.waitForSelector('body[data-status="ready"]');
    await page.click('#run');
    await page.waitForSelector('body[data-status="done"], body[data-status="error"]', { timeout: 120_000 });
    if (await page.getAttribute('body', 'data-status') !== 'done') throw new Error(`the playground failed: ${await page.textContent('#status')}`);
    await page.screenshot({ path: out, fullPage: true });
    console.log(path.relative(repo, out));
  } finally {
    await browser.close();
    server.close();
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
