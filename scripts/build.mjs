// Bundles src/index.ts into dist/index.js (ESM); types come from `tsc -p tsconfig.build.json`.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['webgpu'],
});
