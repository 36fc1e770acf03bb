// The createPullSecret option: the credentials build-image pushes with, for the image's registry only, as the
// `.dockerconfigjson` of a Secret the kubelet pulls with.
import { TurboliftError } from '../errors';
import type { PullSecret } from '../kubernetes/types';
import { dockerConfigPath, resolveRegistryAuth, runCredentialHelper, type HelperCredentials, type RegistryAuth } from './docker-config';
import { splitRepository } from './image-reference';

/** Where images without a registry part come from (the Docker CLI's default). */
export const DEFAULT_REGISTRY = 'docker.io';
/** The key `docker login` and the kubelet use for that registry. */
const DEFAULT_REGISTRY_KEY = 'https://index.docker.io/v1/';

export interface PullSecretOptions {
  /** The Docker config file to read; default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (as build-image). */
  dockerConfig?: string;
  /** Runs `docker-credential-<helper> get`; replaceable in tests. */
  runHelper?: (helper: string, registry: string) => HelperCredentials;
}

/** The registry an image reference names, the way Docker reads it: `127.0.0.1:5001/team/svc` → `127.0.0.1:5001`, `team/svc` → docker.io. */
export function registryOfImage(image: string): string {
  const registry = splitRepository(image).registry;
  return !registry || registry === 'index.docker.io' ? DEFAULT_REGISTRY : registry;
}

/** Name of the Secret createPullSecret makes for a service. */
export function pullSecretName(serviceName: string): string {
  return `${serviceName}-pull`;
}

/**
 * The pull Secret for `image` (the record's repository): credentials from the same lookup build-image pushes with
 * (config `auths`, then `credHelpers`/`credsStore`), for that one registry only; never the rest of the config.
 * Throws `TL_PULL_SECRET_NO_CREDENTIALS` when there are none.
 */
export function pullSecretFor(serviceName: string, image: string, options: PullSecretOptions = {}): PullSecret {
  const registry = registryOfImage(image);
  const file = options.dockerConfig ?? dockerConfigPath();
  const resolved = resolveRegistryAuth(registry, file, options.runHelper ?? runCredentialHelper);
  if (resolved.auth?.identitytoken && !resolved.auth.password) {
    // The kubelet reads username, password and auth from a dockerconfigjson entry, never an identity token: a Secret
    // holding one would apply cleanly and then fail every pull with 401, so the deploy stops here instead.
    throw new TurboliftError(
      'TL_PULL_SECRET_NO_CREDENTIALS',
      `createPullSecret: the credentials for registry ${registry} (${resolved.source}) are an identity token, which the kubelet cannot pull with; ` +
        `name a Secret with a username and password (or a registry token) in imagePullSecrets, or use the cluster's credential provider for ${registry}`,
    );
  }
  const entry = resolved.auth && configEntry(resolved.auth);
  if (!entry) {
    // The lookup's own note speaks of pushing; here only why the helper gave nothing matters.
    const helper = resolved.note ? ` (${resolved.note.replace(/; pushing without credentials$/, '')})` : '';
    throw new TurboliftError(
      'TL_PULL_SECRET_NO_CREDENTIALS',
      `createPullSecret: no credentials for registry ${registry} in ${file} (auths, credHelpers, credsStore)${helper}; ` +
        `run \`docker login ${registry}\` with the DOCKER_CONFIG this deploy reads, or drop createPullSecret and name an existing Secret in imagePullSecrets`,
    );
  }
  const key = registry === DEFAULT_REGISTRY ? DEFAULT_REGISTRY_KEY : registry;
  return { name: pullSecretName(serviceName), dockerConfigJson: JSON.stringify({ auths: { [key]: entry } }) };
}

type ConfigEntry = { username: string; password: string; auth: string };

/** One `auths` entry as the kubelet reads it: user, password and their base64 `auth`. */
function configEntry(auth: RegistryAuth): ConfigEntry | undefined {
  if (auth.username === undefined || !auth.password) return undefined;
  return { username: auth.username, password: auth.password, auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') };
}
