// Builds the SDK bundle and, on request, the chat app and the bundle the app's unit tests import.
// Declarations (dist/*.d.ts) come from tsc, which `npm run build` runs after this script.
//
//   node scripts/build.mjs          dist/switchboard.js (the SDK: one ES module, no dependencies)
//   node scripts/build.mjs --app    ...and dist/app/ (index.html, chat.js, chat.css, favicon.svg)
//   node scripts/build.mjs --test   ...and dist/test/app-logic.js (the app's pure modules)
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const withApp = process.argv.includes('--app');
const withTest = process.argv.includes('--test');
const browsers = ['chrome100', 'firefox100', 'safari15'];

await mkdir(dist, { recursive: true });
for (const f of ['switchboard.js', 'switchboard.js.map']) await rm(join(dist, f), { force: true });
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

if (withApp) {
  const app = join(dist, 'app');
  await rm(app, { recursive: true, force: true });
  await mkdir(app, { recursive: true });
  await build({
    entryPoints: { chat: join(root, 'app/chat.ts') },
    outdir: app,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', ...browsers],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({
    entryPoints: { chat: join(root, 'app/chat.css') },
    outdir: app,
    bundle: true,
    minify: true,
    target: browsers,
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'favicon.svg']) await copyFile(join(root, 'app', f), join(app, f));
}

if (withTest) {
  await rm(join(dist, 'test'), { recursive: true, force: true });
  await build({
    stdin: { contents: "export * from './app/store.ts';\nexport * from './app/format.ts';\n", resolveDir: root, loader: 'ts' },
    outfile: join(dist, 'test/app-logic.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'warning',
  });
}
