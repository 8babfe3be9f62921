// Builds dist/switchboard.js (the SDK as one ES module).
// Declarations (dist/*.d.ts) come from tsc, run by `npm run build` after this script.
// Usage: node scripts/build.mjs
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

await build({
  entryPoints: [join(root, 'src/switchboard.ts')],
  outfile: join(dist, 'switchboard.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
