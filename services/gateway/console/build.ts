// `make console`: bundles the web console (src/, TypeScript and CSS, lightweight-charts included)
// with esbuild into static files: dist/console/index.html, favicon.svg and content-hashed
// assets/console-<hash>.{js,css}. Nothing in the page points outside its own origin.
//   node services/gateway/console/build.ts [out-dir]
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { DEFAULT_CONSOLE_DIR } from './serve.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export interface BuiltConsole {
  dir: string;
  files: { path: string; bytes: number }[];
  ms: number;
}

/** The page's template with its bundle's file names; throws on any URL that leaves the origin. */
export function renderIndex(template: string, assets: { script: string; style: string }): string {
  const html = template.replace('%SCRIPT%', assets.script).replace('%STYLE%', assets.style);
  const external = /\b(?:src|href)\s*=\s*["']?(?:[a-z][a-z0-9+.-]*:)?\/\/[^"'\s>]+/i.exec(html);
  if (external) throw new Error(`index.html must load nothing from another origin: ${external[0]}`);
  return html;
}

export async function buildConsole(outDir: string = DEFAULT_CONSOLE_DIR): Promise<BuiltConsole> {
  const t0 = performance.now();
  const staging = `${outDir.replace(/[/\\]$/, '')}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'assets'), { recursive: true });
  const result = await esbuild.build({
    entryPoints: { console: join(HERE, 'src/main.ts') },
    outdir: join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs);
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  if (!script || !style) throw new Error(`esbuild wrote no script or stylesheet: ${outputs.join(', ')}`);
  const html = renderIndex(readFileSync(join(HERE, 'index.html'), 'utf8'), {
    script: `/assets/${basename(script)}`,
    style: `/assets/${basename(style)}`,
  });
  writeFileSync(join(staging, 'index.html'), html);
  copyFileSync(join(HERE, 'favicon.svg'), join(staging, 'favicon.svg'));
  rmSync(outDir, { recursive: true, force: true });
  renameSync(staging, outDir);
  const files = ['index.html', 'favicon.svg', ...outputs.map((f) => `assets/${basename(f)}`)].map((path) => ({
    path,
    bytes: result.metafile.outputs[`${staging}/${path}`]?.bytes ?? Buffer.byteLength(readFileSync(join(outDir, path))),
  }));
  return { dir: outDir, files, ms: Math.round(performance.now() - t0) };
}

if (import.meta.main) {
  const out = process.argv[2];
  buildConsole(out).then(
    (b) => {
      const sizes = b.files.map((f) => `${f.path} ${(f.bytes / 1024).toFixed(1)} KiB`).join(', ');
      process.stdout.write(`==> web console built into ${b.dir} in ${b.ms} ms: ${sizes}\n`);
    },
    (err: Error) => {
      process.stderr.write(`console build failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
