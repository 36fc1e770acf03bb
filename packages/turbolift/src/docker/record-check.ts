import { resolveRegistryAuth, type RegistryAuth } from './docker-config';
import { DockerEngine } from './engine';
import { splitRepository } from './image-reference';
import { readImageRecordIfAny, type ImageRecord } from './image-record';
import { registryManifestState } from './registry';

/**
 * Why a previous record cannot be trusted, or undefined when the image it names is really there
 * (in the engine, and in the registry when it was pushed). A restored record is a claim, not a fact.
 */
export async function staleReason(record: ImageRecord, engine: DockerEngine, registryAuth: RegistryAuth | undefined): Promise<string | undefined> {
  const reference = `${record.image}:${record.tag}`;
  const local = await engine.inspectImage(reference);
  if (!local) return `image ${reference} is gone from the engine, rebuilding`;
  if (record.imageId && local.id !== record.imageId) return `image ${reference} in the engine is not the recorded ${record.imageId}, rebuilding`;
  if (record.pushed) {
    const { registry, path } = splitRepository(record.image);
    if (!registry) return undefined;
    const remote = await registryManifestState(registry, path, record.tag, registryAuth);
    if (remote.state === 'absent') return `image ${reference} is gone from the registry ${registry}, rebuilding`;
    if (remote.state === 'unverifiable') return `cannot check ${reference} in the registry ${registry}, rebuilding and pushing`;
    if (record.digest && remote.digest && remote.digest !== record.digest) return `image ${reference} in the registry has digest ${remote.digest}, not the recorded ${record.digest}, rebuilding`;
  }
  return undefined;
}

/**
 * One line for Nx to hash before it trusts a cached build-image result (a `runtime` input of the
 * inferred target): `consistent` while the record on disk names an image that is really there, and the
 * reason otherwise, so a record whose image was removed is a cache miss and the executor rebuilds.
 * No record yet is `consistent` too: a first build must not make the second run a miss.
 */
export async function recordConsistency(recordFile: string): Promise<string> {
  const record = readImageRecordIfAny(recordFile);
  if (!record) return 'consistent';
  try {
    const { registry } = splitRepository(record.image);
    const auth = record.pushed && registry ? resolveRegistryAuth(registry).auth : undefined;
    return (await staleReason(record, DockerEngine.connect(), auth)) ?? 'consistent';
  } catch (error) {
    return `unverifiable: ${(error as Error).message}`;
  }
}
