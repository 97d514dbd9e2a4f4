/**
 * The import graph of src/ (scripts/check-imports.mjs): no cycles except among the files of src/ir, and every
 * import goes down the layer order errors → ir → autodiff → system → integrators → codegen → runtime → backends →
 * models → train → io (files) → plot (pictures) → the entry points → cli (a client of the entry points).
 */
import { describe, expect, it } from 'vitest';
import { checkImports, LAYERS } from '../../scripts/check-imports.mjs';

describe('architecture', () => {
  it('src/ has no import cycles outside src/ir and respects the layer order', () => {
    const { files, problems } = checkImports();
    expect(files).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });

  it('puts files (src/io) above training, plots (src/plot) above files, and the CLI (src/cli) above the entry points', () => {
    expect(LAYERS).toEqual(['errors', 'ir', 'autodiff', 'system', 'integrators', 'codegen', 'runtime', 'backends', 'models', 'train', 'io', 'plot', '', 'cli']);
  });
});
