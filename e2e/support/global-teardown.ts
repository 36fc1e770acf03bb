import { rmSync } from 'node:fs';
import { e2eRoot } from './paths';
import { stopInfrastructure } from './infra';

/** Stops whatever the suites started (engine, registry, cluster), and only that; removes the run's workspaces. */
export default async function globalTeardown(): Promise<void> {
  stopInfrastructure();
  if (process.env.TURBOLIFT_E2E_KEEP !== '1') rmSync(e2eRoot(), { recursive: true, force: true });
}
