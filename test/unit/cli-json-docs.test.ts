/**
 * The CLI's `--json` output is documented: every key each command prints (and the keys of the nested objects the
 * README spells out) appears in the README's `--json` paragraph for that command. Runs every command in-process
 * with the options that add optional keys (frames, sections, saved steps, a plot, a sweep, a shard, a manifest).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliStreams } from '../../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-json-docs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A documented shape: key → its documented sub-shape (null when the README gives none). */
type Shape = Map<string, Shape | null>;

/**
 * Parses the README's notation, `{a, b?, c?: {d, e}, f | g, rows: [{h}]}`, into a Shape (`?` and alternatives
 * `x | y` both just document their keys). Iterative, with an explicit stack.
 */
function parseShape(text: string): Shape {
  const root: Shape = new Map();
  const stack: Shape[] = [];
  let current: Shape | null = null, last: string | null = null, word = '';
  const flush = () => {
    const name = word.replace(/[?\s]/g, '');
    if (name !== '' && current) { current.set(name, null); last = name; }
    word = '';
  };
  for (const ch of text) {
    if (ch === '{') {
      flush();
      const child: Shape = current === null ? root : new Map();
      if (current !== null && last !== null) current.set(last, child);
      if (current !== null) stack.push(current);
      current = child;
      last = null;
    } else if (ch === '}') {
      flush();
      current = stack.pop() ?? null;
    } else if (ch === ',' || ch === '|' || ch === ':') {
      flush();
    } else if (ch !== '[' && ch !== ']' && ch !== '`') {
      word += ch;
    }
  }
  return root;
}

const readme = fs.readFileSync('README.md', 'utf8');
const paragraph = readme.slice(readme.indexOf('- `--json`: one JSON object per command'), readme.indexOf('Errors (exit 1) with `--json`')).replace(/\s+/g, ' ');

/** The documented shape of a command's output: the braces after "`cmd`: `". */
function documented(command: string): Shape {
  const start = paragraph.indexOf(`\`${command}\`: \``);
  expect(start, `README documents ${command} --json`).toBeGreaterThanOrEqual(0);
  let depth = 0, end = start;
  for (let i = paragraph.indexOf('{', start); i < paragraph.length; i++) {
    if (paragraph[i] === '{') depth++;
    if (paragraph[i] === '}' && --depth === 0) { end = i + 1; break; }
  }
  return parseShape(paragraph.slice(paragraph.indexOf('{', start), end).replace(/\s+/g, ' '));
}

/** Keys of `value` (recursively, where the docs give a sub-shape) that the shape does not document. */
function undocumented(value: unknown, shape: Shape, at = ''): string[] {
  const missing: string[] = [];
  const stack: [unknown, Shape, string][] = [[value, shape, at]];
  while (stack.length > 0) {
    const [v, s, where] = stack.pop()!;
    const objects = Array.isArray(v) ? v : [v];
    for (const o of objects) {
      if (o === null || typeof o !== 'object' || '$number' in (o as object)) continue;
      for (const [key, child] of Object.entries(o as Record<string, unknown>)) {
        if (!s.has(key)) missing.push(`${where}${key}`);
        else if (s.get(key)) stack.push([child, s.get(key)!, `${where}${key}.`]);
      }
    }
  }
  return missing;
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  let out = '', err = '';
  const io: CliStreams = { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } }, env: {} };
  const code = await main([...args, '--json', '--quiet'], io);
  expect(code, err).toBe(0);
  return JSON.parse(out);
}

const at = (f: string) => path.join(dir, f);
const HH = ['--model', 'henon-heiles'];

describe('the README documents every key of --json', () => {
  it('the notation reader reads nested, optional and alternative keys (an oracle for the checks below)', () => {
    const s = parseShape('{a, b?, c?: {d, e?}, f | g, rows: [{h, i: {j}}]}');
    expect([...s.keys()]).toEqual(['a', 'b', 'c', 'f', 'g', 'rows']);
    expect([...s.get('c')!.keys()]).toEqual(['d', 'e']);
    expect(undocumented({ a: 1, rows: [{ h: 1, i: { j: 2, k: 3 } }], z: 0 }, s).sort()).toEqual(['rows.i.k', 'z']);
  });

  it('run, with and without every optional output', async () => {
    fs.writeFileSync(at('grid.json'), '{"lam": [0.5, 1]}');
    const outputs = [
      await json(['run', ...HH, '--steps', '20']),
      await json(['run', ...HH, '--steps', '40', '--batch', '2', '--init', 'random', '--save-every', '10', '--section', 'y', '--save-at', '0.5', '--plot', at('s.svg'), '-o', at('r.npz')]),
      await json(['run', ...HH, '--steps', '20', '--batch', '2', '--init', 'random', '--sweep', at('grid.json'), '-o', at('sw.npz')]),
      await json(['run', ...HH, '--steps', '20', '--batch', '4', '--init', 'random', '--shard', '1/2', '--on-failure', 'report', '-o', at('parts')]),
    ];
    const shape = documented('run');
    for (const o of outputs) expect(undocumented(o, shape)).toEqual([]);
    // The optional parts did appear (so they were checked).
    expect(['section', 'saved', 'plot', 'sweep', 'shard', 'members', 'frames', 'failed'].every((k) => outputs.some((o) => k in o))).toBe(true);
  });

  it('check, compile (code, output, manifest), train, bench, merge, plot', async () => {
    await json(['run', ...HH, '--steps', '20', '--batch', '4', '--init', 'random', '--shard', '2/2', '-o', at('parts')]);
    await json(['run', ...HH, '--steps', '40', '--batch', '3', '--init', 'random', '--save-every', '10', '-o', at('frames.npz')]);
    const cases: [string, Record<string, unknown>][] = [
      ['check', await json(['check', ...HH, '--steps', '100', '--order-steps', '4', '--claim', 'energy=1'])],
      ['compile', await json(['compile', ...HH, '--emit', 'wgsl'])],
      ['compile', await json(['compile', ...HH, '--emit', 'wgsl', '-o', at('k.wgsl'), '--manifest', at('k.json')])],
      ['train', await json(['train', 'sympnet', at('frames.npz'), '--steps', '3', '-o', at('m.json')])],
      ['train', await json(['train', 'sympnet', at('frames.npz'), '--steps', '3'])],
      ['bench', await json(['bench', ...HH, '--backend', 'cpu', '--steps', '10', '--batch', '1', '--repeats', '1'])],
      ['merge', await json(['merge', at('parts'), '-o', at('merged.npz')])],
      ['plot', await json(['plot', 'energy', at('frames.npz'), '-o', at('e.svg')])],
      ['plot', await json(['plot', 'phase', at('frames.npz')])],
    ];
    for (const [command, output] of cases) expect(undocumented(output, documented(command)), command).toEqual([]);
  });
});
