/**
 * package.json keeps the promises of the user-facing surface: the `bin`, the `browser` condition of `exports`
 * pointing at what scripts/build-browser.mjs writes, the heavy optional pieces (the PNG rasteriser
 * @resvg/resvg-js, playwright-core) out of what `npm install darboux` installs, and every package a user does
 * install (the runtime closure in package-lock.json) admitting the oldest Node that `engines` admits (20.19:
 * linkedom's DOM packages — css-select 7, domutils 4, entities 8 — need it).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));

type Version = [number, number, number];
const version = (text: string): Version => {
  const parts = text.replace(/^v/, '').split('.').map((s) => (s === 'x' || s === '*' || s === undefined ? 0 : Number(s)));
  if (parts.some((n) => !Number.isInteger(n))) throw new Error(`not a version: '${text}'`);
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
};
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * Whether a node-semver range of the forms package.json `engines` use (>=, >, <=, <, ^, ~, x-ranges, *, ||,
 * space-separated conjunctions) admits a version; throws on any other syntax, so an unread range cannot pass.
 */
function admits(range: string, at: string): boolean {
  const v = version(at);
  return range.split('||').some((alternative) => alternative.trim().replace(/([<>=^~]+)\s+/g, '$1').split(/\s+/).filter(Boolean).every((term) => {
    if (term === '*' || term === 'x') return true;
    const m = /^(>=|<=|>|<|\^|~|=)?(\d+(?:\.(?:\d+|x))?(?:\.(?:\d+|x))?)$/.exec(term);
    if (!m) throw new Error(`unsupported range term '${term}' in '${range}'`);
    const [, op = '=', text] = m;
    const bound = version(text!), c = compare(v, bound);
    const given = text!.split('.').filter((s) => s !== 'x').length;
    if (op === '>=') return c >= 0;
    if (op === '>') return c > 0;
    if (op === '<=') return c <= 0;
    if (op === '<') return c < 0;
    if (op === '^') return c >= 0 && (bound[0] > 0 ? v[0] === bound[0] : v[1] === bound[1]);
    if (op === '~') return c >= 0 && v[0] === bound[0] && (given < 2 || v[1] === bound[1]);
    return v.slice(0, given).every((n, k) => n === bound[k]); // '=' or bare: x-range on the parts given
  }));
}

describe('package.json', () => {
  it('the range reader reads what engines fields say (an oracle for the closure check below)', () => {
    expect([admits('>=20', '20.0.0'), admits('>=22', '20.19.0'), admits('^18.0.0 || ^20.0.0 || >=22.0.0', '20.0.0'), admits('^20.19.0 || >=22.12.0', '20.0.0')]).toEqual([true, false, true, false]);
    expect([admits('>= 10', '20.0.0'), admits('~20.1', '20.1.5'), admits('20.x', '21.0.0'), admits('>=16 <21', '20.3.0')]).toEqual([true, true, false, true]);
    expect(() => admits('latest', '20.0.0')).toThrow(/unsupported/);
  });

  it('bin, engines and the browser condition of exports (the file scripts/build-browser.mjs writes)', () => {
    expect(pkg.bin).toEqual({ darboux: './bin/darboux.mjs' });
    expect(pkg.engines.node).toBe('>=20.19');
    expect(lock.packages[''].engines.node).toBe(pkg.engines.node);
    expect(pkg.exports['.'].browser).toBe('./dist/browser/darboux.js');
    expect(fs.readFileSync('scripts/build-browser.mjs', 'utf8')).toMatch(/entryPoints: \{ darboux: 'src\/index\.ts' \}/);
    // Conditions are tried in order: 'browser' must come before the Node 'import'.
    expect(Object.keys(pkg.exports['.']).indexOf('browser')).toBeLessThan(Object.keys(pkg.exports['.']).indexOf('import'));
  });

  it('keeps @resvg/resvg-js and playwright-core out of what npm install darboux installs', () => {
    const installed = { ...pkg.dependencies, ...pkg.optionalDependencies };
    expect(Object.keys(installed)).not.toContain('@resvg/resvg-js');
    expect(Object.keys(installed)).not.toContain('playwright-core');
    expect(pkg.peerDependenciesMeta?.['@resvg/resvg-js']).toEqual({ optional: true }); // npm installs no optional peer
    expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(['@resvg/resvg-js', 'playwright-core']));
    // The lock agrees: neither is in the runtime closure.
    for (const name of ['@resvg/resvg-js', 'playwright-core']) expect(lock.packages[`node_modules/${name}`].dev, name).toBe(true);
  });

  it('every package of the runtime closure admits the oldest Node of engines (20.19.0)', () => {
    const runtime = Object.entries(lock.packages as Record<string, { dev?: boolean; engines?: { node?: string } }>)
      .filter(([where, entry]) => where !== '' && entry.dev !== true);
    expect(runtime.map(([where]) => where)).toEqual(expect.arrayContaining(['node_modules/@observablehq/plot', 'node_modules/fflate', 'node_modules/linkedom', 'node_modules/webgpu']));
    const refusing = runtime.filter(([, entry]) => entry.engines?.node !== undefined && !admits(entry.engines.node, pkg.engines.node.replace('>=', '')));
    expect(refusing.map(([where, entry]) => `${where}: ${entry.engines!.node}`)).toEqual([]);
  });
});
