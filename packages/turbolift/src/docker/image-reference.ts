/** `127.0.0.1:5000/team/svc` → registry `127.0.0.1:5000`, path `team/svc` (the Docker CLI's own rule). */
export function splitRepository(repository: string): { registry?: string; path: string } {
  const slash = repository.indexOf('/');
  if (slash === -1) return { path: repository };
  const first = repository.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return { registry: first, path: repository.slice(slash + 1) };
  }
  return { path: repository };
}

/** Loopback registries speak plain HTTP (the engine treats 127.0.0.0/8 as insecure by default). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function registryBaseUrl(registry: string): string {
  return `${isLoopbackRegistry(registry) ? 'http' : 'https'}://${registry}`;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
