import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Builds the control room (the built-in web UI) into `dist/web/`: `index.html`, `assets/app.js`
 * and `assets/app.css`. Fixed names without content hashes: the API serves them with ETags, and a
 * control room that is offline for a day must still find them at the same URLs. Everything is
 * bundled (ECharts tree-shaken to the charts and components the views use); no CDN, so the page
 * works on a control-room network without internet access.
 */

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
export const defaultWebOutDir = join(repoRoot, 'dist', 'web');

export interface BuildWebOptions {
  outDir?: string;
  /** Default true: the bundle the API serves. */
  minify?: boolean;
}

export async function buildWeb(opts: BuildWebOptions = {}): Promise<{ outDir: string; files: string[] }> {
  const outDir = resolve(opts.outDir ?? defaultWebOutDir);
  const assets = join(outDir, 'assets');
  await mkdir(assets, { recursive: true });
  const minify = opts.minify ?? true;

  const result = await build({
    entryPoints: { app: join(here, 'src', 'main.ts') },
    outdir: assets,
    write: false,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify,
    sourcemap: false,
    legalComments: 'none',
    // ECharts guards its developer warnings with process.env.NODE_ENV; production drops them (and
    // `process` does not exist in a browser).
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const css = await readFile(join(here, 'src', 'styles.css'), 'utf8');
  for (const f of result.outputFiles) await writeAtomically(f.path, f.contents);
  await writeAtomically(join(assets, 'app.css'), minify ? minifyCss(css) : css);
  await writeAtomically(join(outDir, 'index.html'), indexHtml());
  return { outDir, files: ['index.html', 'assets/app.js', 'assets/app.css'].map((f) => join(outDir, f)) };
}

/**
 * Write-then-rename: a running server (or a second build, as two test files may run at once) never
 * reads a half-written bundle.
 */
async function writeAtomically(path: string, contents: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, path);
}

/** Whitespace and comments only: the stylesheet is small and hand-written. */
function minifyCss(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([{};,>])\s*/g, '$1')
    .replace(/;}/g, '}')
    .trim();
}

function indexHtml(): string {
  // The language is set by the app at start (zh-CN where the browser prefers Chinese); `en` here
  // is only what a browser sees before the script runs. The data: favicon avoids a 404 per load.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>Anju 安居 — Control room</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<noscript>Anju control room needs JavaScript. 安居监控中心需要启用 JavaScript。</noscript>
<div id="app"></div>
</body>
</html>
`;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const started = Date.now();
  const out = await buildWeb();
  const sizes = await Promise.all(out.files.map(async (f) => `${f.slice(out.outDir.length + 1)} ${((await stat(f)).size / 1024).toFixed(1)} KiB`));
  console.log(`web UI built in ${Date.now() - started} ms → ${out.outDir}\n  ${sizes.join('\n  ')}`);
}
