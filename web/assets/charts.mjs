// Bundles src/charts/ into ../static/charts/: one minified script and LICENSES.txt with
// the licence of every package in it. Separate from build.mjs so that the statistics
// charts build without touching the workbench. Run through `make assets` (after `npm ci`).
import { build } from 'esbuild';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

const out = new URL('../static/charts/', import.meta.url).pathname;
for (const old of ['charts.js', 'LICENSES.txt']) {
  rmSync(out + old, { force: true });
}

const result = await build({
  entryPoints: { charts: 'src/charts/index.js' },
  outdir: out,
  bundle: true,
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'info',
  format: 'iife',
  target: ['es2020'],
  define: { 'process.env.NODE_ENV': '"production"' }
});

const packages = new Set();
for (const output of Object.values(result.metafile.outputs)) {
  for (const input of Object.keys(output.inputs)) {
    const found = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    if (found) {
      packages.add(found[1]);
    }
  }
}
const sections = [...packages].sort().map((name) => {
  const folder = `node_modules/${name}/`;
  const meta = JSON.parse(readFileSync(folder + 'package.json', 'utf8'));
  const file = readdirSync(folder).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const text = file && existsSync(folder + file) ? readFileSync(folder + file, 'utf8').trim()
    : `Licence: ${meta.license}`;
  return `${name} ${meta.version}\n${'-'.repeat(name.length + meta.version.length + 1)}\n${text}\n`;
});
writeFileSync(out + 'LICENSES.txt',
  'The packages bundled into charts.js, with their licences.\n\n' + sections.join('\n'));
