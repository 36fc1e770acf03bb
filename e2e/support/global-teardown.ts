import { stopInfrastructure } from './infra';

/** Stops whatever the suites started (engine, registry, cluster), and only that. */
export default async function globalTeardown(): Promise<void> {
  stopInfrastructure();
}
