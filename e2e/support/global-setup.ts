import { mkdirSync } from 'node:fs';
import { e2eRoot } from './paths';
import { createTemplateWorkspace } from './workspace';

/** One fresh Nx workspace with the packed plugin installed, copied by every test (create-nx-workspace takes ~30 s). */
export default async function globalSetup(): Promise<void> {
  mkdirSync(e2eRoot, { recursive: true });
  const started = Date.now();
  const template = createTemplateWorkspace();
  console.log(`\ne2e: template workspace ready at ${template} in ${Math.round((Date.now() - started) / 1000)} s`);
}
