import { execFileSync } from 'node:child_process';
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
  /** The credential helper that holds this registry's credentials (`docker-credential-<helper>`). */
  helper?: string;
}

/** Credentials as the user sees where they came from, for messages when a registry refuses them. */
export interface ResolvedAuth {
  auth?: RegistryAuth;
  /** e.g. `auths in /root/.docker/config.json`, `docker-credential-pass`, `none in /root/.docker/config.json`. */
  source: string;
  /** Said once to the user when credentials were expected but could not be read. */
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
  return helper ? { helper } : {};
}

/** What `docker-credential-<helper> get` prints. */
export interface HelperCredentials {
  ServerURL?: string;
  Username?: string;
  Secret?: string;
}

/** Pure: a helper's answer as push credentials (`<token>` as user name means an identity token). */
export function authFromHelper(answer: HelperCredentials, registry: string): RegistryAuth | undefined {
  if (!answer.Secret) return undefined;
  if (answer.Username === '<token>') return { identitytoken: answer.Secret, serveraddress: registry };
  return { username: answer.Username ?? '', password: answer.Secret, serveraddress: registry };
}

/** Runs `docker-credential-<helper> get` the way the docker CLI does: registry on stdin, JSON on stdout. */
export function runCredentialHelper(helper: string, registry: string): HelperCredentials {
  const out = execFileSync(`docker-credential-${helper}`, ['get'], { input: registry, encoding: 'utf8', timeout: 10_000, stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(out) as HelperCredentials;
}

/** Credentials for pushing to `registry`, read like the docker CLI reads them: config `auths`, then helpers. */
export function resolveRegistryAuth(registry: string, file = dockerConfigPath(), runHelper = runCredentialHelper): ResolvedAuth {
  const lookup = authForRegistry(readDockerConfig(file), registry);
  if (lookup.auth) return { auth: lookup.auth, source: `auths in ${file}` };
  if (lookup.helper) {
    const source = `docker-credential-${lookup.helper}`;
    try {
      const auth = authFromHelper(runHelper(lookup.helper, registry), registry);
      return auth ? { auth, source } : { source, note: `${source} has no credentials for ${registry}; pushing without credentials` };
    } catch (error) {
      const reason = ((error as { stderr?: string }).stderr || (error as Error).message).toString().trim().split('\n')[0];
      return { source, note: `${source} get failed for ${registry} (${reason}); pushing without credentials` };
    }
  }
  return { source: `none for ${registry} in ${file}` };
}
