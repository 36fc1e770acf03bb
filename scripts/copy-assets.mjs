// tsc does not copy JSON: schemas and template files under src/ must sit beside the compiled executors/generators.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const packages = ['packages/turbolift', 'packages/runtime'];
// Hand-written .d.ts files (executor schemas) are referenced by the compiled typings, so they travel too.
const isAsset = (file) => file.endsWith('.json') || file.endsWith('.d.ts') || file.includes('/files/');

function copyAssets(srcDir, outDir) {
  for (const entry of readdirSync(srcDir)) {
    const from = join(srcDir, entry);
    const to = join(outDir, entry);
    if (statSync(from).isDirectory()) copyAssets(from, to);
    else if (isAsset(from)) cpSync(from, to);
  }
}

for (const pkg of packages) copyAssets(join(pkg, 'src'), join(pkg, 'dist'));
