// Copies the production dependency tree out of an installed node_modules: every package-lock.json
// entry not marked "dev" that is present on disk (platform-specific optional packages may not be).
// The same set `npm ci --omit=dev` installs, without npm's lock-file-in-sync check or the network.
//   usage: node image/prod-modules.mjs <project dir> <out dir>
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [project, out] = process.argv.slice(2);
if (!project || !out) {
  process.stderr.write('usage: node image/prod-modules.mjs <project dir> <out dir>\n');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
let copied = 0;
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (path === '' || entry.dev === true || entry.link === true) continue;
  const from = join(project, path);
  if (!existsSync(from)) {
    if (entry.optional === true) continue;
    process.stderr.write(`prod-modules: ${path} is a production dependency but is not installed; run make deps\n`);
    process.exit(1);
  }
  // Nested node_modules are separate lock entries: copy this package without them.
  cpSync(from, join(out, path), {
    recursive: true,
    filter: (src) => src === from || !src.slice(from.length).includes('/node_modules'),
  });
  copied++;
}
process.stdout.write(`prod-modules: ${copied} packages\n`);
