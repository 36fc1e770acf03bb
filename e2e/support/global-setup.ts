import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTemplateWorkspace } from './workspace';

/** One fresh Nx workspace with the packed plugin installed, copied by every test (create-nx-workspace takes ~30 s). */
export default async function globalSetup(): Promise<void> {
  process.env.TURBOLIFT_E2E_DIR ??= mkdtempSync(join(tmpdir(), 'turbolift-e2e-'));
  const started = Date.now();
  const template = createTemplateWorkspace();
  console.log(`\ne2e: template workspace ready at ${template} in ${Math.round((Date.now() - started) / 1000)} s`);
}
