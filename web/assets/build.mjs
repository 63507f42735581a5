// Bundles src/ into ../static/workbench/: one minified script, one style sheet, the icon
// fonts the style sheet names, and LICENSES.txt with the licence of every package that
// went into them. Run through `make assets` (after `npm ci`).
import { build } from 'esbuild';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

const out = new URL('../static/workbench/', import.meta.url).pathname;
for (const old of ['workbench.js', 'workbench.css', 'LICENSES.txt', 'fonts']) {
  rmSync(out + old, { recursive: true, force: true });
}

const common = { bundle: true, minify: true, legalComments: 'none', metafile: true,
  logLevel: 'info' };

const script = await build({
  ...common,
  entryPoints: { workbench: 'src/index.js' },
  outdir: out,
  format: 'iife',
  target: ['es2020'],
  define: { 'process.env.NODE_ENV': '"production"' }
});

const styles = await build({
  ...common,
  entryPoints: { workbench: 'src/workbench.css' },
  outdir: out,
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]'
});

// The packages whose code or files are in the output, with their licence texts.
const packages = new Set();
for (const result of [script, styles]) {
  for (const output of Object.values(result.metafile.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      const found = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
      if (found) {
        packages.add(found[1]);
      }
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
  'The packages bundled into workbench.js and workbench.css, with their licences.\n\n' +
  sections.join('\n'));
