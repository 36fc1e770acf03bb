import { request } from 'undici';
import { resolveRegistryAuth, type RegistryAuth, type ResolvedAuth } from './docker-config';
import { ImageError } from './errors';
import { registryBaseUrl } from './image-reference';

const TIMEOUT_MS = 10_000;

/** Both manifest kinds an engine may have pushed. */
const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

function errorCode(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string }; errors?: Array<{ code?: string }> };
  return e?.code ?? e?.cause?.code ?? e?.errors?.[0]?.code;
}

function unreachable(registry: string, error: unknown): ImageError {
  const reason = errorCode(error) ?? (error as Error).message;
  return new ImageError('TL_REGISTRY_UNREACHABLE', `registry ${registry} is unreachable (${reason}): start it or fix the "registry" option`);
}

function authHeader(auth?: RegistryAuth): Record<string, string> {
  if (auth?.username && auth.password) {
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }
  return {};
}

/** Fails with a one-line error naming the registry when nothing answers its `/v2/` endpoint. */
export async function assertRegistryReachable(registry: string): Promise<void> {
  try {
    const response = await request(`${registryBaseUrl(registry)}/v2/`, { method: 'GET', headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    await response.body.dump();
    // 200 (open) and 401 (wants credentials) both prove a registry is there.
    if (response.statusCode !== 200 && response.statusCode !== 401) {
      throw new ImageError('TL_REGISTRY_UNREACHABLE', `registry ${registry} answered /v2/ with HTTP ${response.statusCode}: is it an image registry?`);
    }
  } catch (error) {
    if (error instanceof ImageError) throw error;
    throw unreachable(registry, error);
  }
}

export interface ManifestState {
  state: 'present' | 'absent' | 'unverifiable';
  /** Docker-Content-Digest of the manifest when present. */
  digest?: string;
}

/** HEAD /v2/<path>/manifests/<tag or digest>: does the registry still hold the image, and under which digest? */
export async function registryManifestState(registry: string, path: string, tag: string, auth?: RegistryAuth): Promise<ManifestState> {
  try {
    const response = await request(`${registryBaseUrl(registry)}/v2/${path}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: MANIFEST_ACCEPT, ...authHeader(auth) },
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    await response.body.dump();
    if (response.statusCode === 200) {
      const digest = response.headers['docker-content-digest'];
      return { state: 'present', digest: typeof digest === 'string' ? digest : undefined };
    }
    if (response.statusCode === 404) return { state: 'absent' };
    return { state: 'unverifiable' };
  } catch (error) {
    throw unreachable(registry, error);
  }
}

/**
 * What the image build asks of a registry: does it answer, which credentials push to it, does it still hold
 * a manifest. `dockerRegistry` is the real one; a test may stand in its own to run the build's rules alone.
 */
export interface RegistryClient {
  assertReachable(registry: string): Promise<void>;
  credentials(registry: string): ResolvedAuth;
  manifestState(registry: string, path: string, reference: string, auth?: RegistryAuth): Promise<ManifestState>;
}

/** HTTP to the registry, and credentials as the docker CLI finds them (read at each call: `DOCKER_CONFIG` may change). */
export const dockerRegistry: RegistryClient = {
  assertReachable: assertRegistryReachable,
  credentials: (registry) => resolveRegistryAuth(registry),
  manifestState: registryManifestState,
};
