import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The parts of ~/.docker/config.json this plugin reads. */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** What the engine's push endpoint takes as X-Registry-Auth. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

export interface AuthLookup {
  auth?: RegistryAuth;
  /** Said to the user when credentials exist only in a form this plugin does not read. */
  note?: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** A missing or unreadable config means "no credentials", which is right for registries without auth. */
export function readDockerConfig(file = dockerConfigPath()): DockerConfigFile {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DockerConfigFile;
  } catch {
    return {};
  }
}

/** Keys `docker login` may have used for the same registry. */
function candidateKeys(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  if (registry === 'docker.io' || registry === 'index.docker.io') keys.push('https://index.docker.io/v1/');
  return keys;
}

export function authForRegistry(config: DockerConfigFile, registry: string): AuthLookup {
  for (const key of candidateKeys(registry)) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.identitytoken) return { auth: { identitytoken: entry.identitytoken, serveraddress: registry } };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        return { auth: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: registry } };
      }
    }
    if (entry.username && entry.password) {
      return { auth: { username: entry.username, password: entry.password, serveraddress: registry } };
    }
  }
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) {
    return {
      note: `credentials for ${registry} are kept by docker-credential-${helper}, which turbolift does not call; pushing without credentials`,
    };
  }
  return {};
}
