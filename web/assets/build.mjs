// Bundles src/ into ../static/workbench/: one minified script, one style sheet, and the
// icon fonts the style sheet names. Run through `make assets` (after `npm ci`).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const out = new URL('../static/workbench/', import.meta.url).pathname;
for (const old of ['workbench.js', 'workbench.css', 'workbench.js.LEGAL.txt',
  'workbench.css.LEGAL.txt', 'fonts']) {
  rmSync(out + old, { recursive: true, force: true });
}

const common = { bundle: true, minify: true, legalComments: 'external', logLevel: 'info' };

await build({
  ...common,
  entryPoints: { workbench: 'src/index.js' },
  outdir: out,
  format: 'iife',
  target: ['es2020'],
  define: { 'process.env.NODE_ENV': '"production"' }
});

await build({
  ...common,
  entryPoints: { workbench: 'src/workbench.css' },
  outdir: out,
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]'
});
