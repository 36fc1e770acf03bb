import { resolveRegistryAuth, type RegistryAuth } from './docker-config';
import { DockerEngine, type ImageEngine } from './engine';
import { splitRepository } from './image-reference';
import { readImageRecordIfAny, type ImageRecord } from '../service/image-record';
import { dockerRegistry, type RegistryClient } from './registry';

/**
 * Why a previous record cannot be trusted, or undefined when the image it names is really there: its content
 * tag in the engine, and (when pushed) its recorded digest in the registry. A restored record is a claim, not a
 * fact. Only content-addressed names are checked: a rebuild from the same context gets the same tag, and a
 * digest, once pushed, keeps naming the same bytes, so a record restored after a rebuild still tells the truth.
 */
export async function staleReason(
  record: ImageRecord,
  engine: ImageEngine,
  registryAuth: RegistryAuth | undefined,
  registryClient: Pick<RegistryClient, 'manifestState'> = dockerRegistry,
): Promise<string | undefined> {
  const reference = `${record.image}:${record.tag}`;
  if (!(await engine.inspectImage(reference))) return `image ${reference} is gone from the engine, rebuilding`;
  if (!record.pushed) return undefined;
  const { registry, path } = splitRepository(record.image);
  if (!registry) return undefined;
  const remote = await registryClient.manifestState(registry, path, record.digest ?? record.tag, registryAuth);
  if (remote.state === 'absent') return `image ${record.image}@${record.digest ?? record.tag} is gone from the registry ${registry}, rebuilding`;
  if (remote.state === 'unverifiable') return `cannot check ${reference} in the registry ${registry}, rebuilding and pushing`;
  return undefined;
}

/**
 * One line for Nx to hash before it trusts a cached build-image result (a `runtime` input of the
 * inferred target): `consistent` while the record on disk names an image that is really there, and the
 * reason otherwise, so a record whose image was removed is a cache miss and the executor rebuilds, every time.
 * No record yet is `consistent` too: a first build must not make the second run a miss.
 */
export async function recordConsistency(recordFile: string): Promise<string> {
  const record = readImageRecordIfAny(recordFile);
  if (!record) return 'consistent';
  try {
    const { registry } = splitRepository(record.image);
    const auth = record.pushed && registry ? resolveRegistryAuth(registry).auth : undefined;
    const reason = await staleReason(record, DockerEngine.connect(), auth);
    // Each inconsistent check hashes differently: the same reason twice (an image removed, rebuilt, removed
    // again) must not match the cache entry the first rebuild left.
    return reason ? `${reason} (checked ${new Date().toISOString()})` : 'consistent';
  } catch (error) {
    return `unverifiable: ${(error as Error).message} (checked ${new Date().toISOString()})`;
  }
}
