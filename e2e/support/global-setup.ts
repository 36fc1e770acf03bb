import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishPlugin } from './registry';
import { createTemplateWorkspace } from './workspace';

/**
 * Publishes this run's plugin to the local npm registry, then makes one fresh Nx workspace with it installed
 * from there, copied by every test (create-nx-workspace takes ~30 s).
 */
export default async function globalSetup(): Promise<void> {
  process.env.TURBOLIFT_E2E_DIR ??= mkdtempSync(join(tmpdir(), 'turbolift-e2e-'));
  const started = Date.now();
  const { url, version } = publishPlugin();
  console.log(`\ne2e: turbolift and @turbolift/runtime ${version} published to ${url} in ${Math.round((Date.now() - started) / 1000)} s`);
  const template = createTemplateWorkspace();
  console.log(`\ne2e: template workspace ready at ${template} in ${Math.round((Date.now() - started) / 1000)} s`);
}
