// createPullSecret against a real cluster (tools/test-cluster) and the registry with htpasswd authentication
// (tools/test-infra): runs when TURBOLIFT_TEST_KUBECONFIG is set; with TURBOLIFT_REQUIRE_CLUSTER=1 and no cluster it fails.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureTestInfra } from '../../../../../tools/test-infra/infra.cjs';
import {
  SMALL_NODE,
  clusterKubeconfig as kubeconfig,
  executorContext,
  failWithoutRequiredCluster,
  kubectlFor,
  run,
  testBaseImage as baseImage,
  uniqueNamespace,
} from '../../../../../tools/test-support/cluster';
import { pullSecretFor } from '../../docker/pull-secret';
import deployK8sExecutor from './executor';
import type { DeployK8sExecutorOptions } from './schema';

const PROJECT = 'private-echo';
const PROJECT_ROOT = 'apps/private-echo';

const SERVER_JS = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') { res.writeHead(200); return res.end('ok'); }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('private hello from ' + require('node:os').hostname());
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

failWithoutRequiredCluster('deploy-k8s with a private registry');

describe.skipIf(!kubeconfig)('deploy-k8s with a private registry', () => {
  let workspace: string;
  let authRegistry: string;
  let infraDockerConfig: string;
  /** The test's own Docker config: the registry's credentials among others'. */
  let testDockerConfig: string;
  let imageRecord: { service: string; image: string; tag: string; digest: string; pushed: boolean };
  const namespaces: string[] = [];
  let output: string[] = [];

  const kubectl = kubectlFor(kubeconfig!);
  const newNamespace = (purpose: string) => {
    const namespace = uniqueNamespace(purpose);
    namespaces.push(namespace);
    return namespace;
  };

  const context = () => executorContext(workspace, PROJECT, PROJECT_ROOT);

  const deploy = (options: DeployK8sExecutorOptions) => deployK8sExecutor({ kubeconfig, createNamespace: true, ...SMALL_NODE, ...options }, context());

  beforeAll(() => {
    const fromEnv = process.env.TURBOLIFT_TEST_AUTH_REGISTRY && process.env.TURBOLIFT_TEST_AUTH_DOCKER_CONFIG;
    const infra = fromEnv ? undefined : ensureTestInfra().authRegistry;
    authRegistry = infra?.registry ?? process.env.TURBOLIFT_TEST_AUTH_REGISTRY!;
    infraDockerConfig = infra?.dockerConfig ?? process.env.TURBOLIFT_TEST_AUTH_DOCKER_CONFIG!;

    workspace = mkdtempSync(join(tmpdir(), 'turbolift-pull-secret-'));
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: '@acme/source', private: true }));

    // The test's Docker config: this registry's entry from tools/test-infra, beside entries for other registries that
    // must never reach the cluster.
    testDockerConfig = join(workspace, 'docker-config');
    mkdirSync(testDockerConfig);
    const infraConfig = JSON.parse(readFileSync(join(infraDockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    const registryEntry = infraConfig.auths[authRegistry];
    if (!registryEntry) throw new Error(`${infraDockerConfig}/config.json has no entry for ${authRegistry}`);
    writeFileSync(
      join(testDockerConfig, 'config.json'),
      JSON.stringify({
        auths: {
          [authRegistry]: registryEntry,
          'other.internal:5000': { auth: Buffer.from('someone:else').toString('base64') },
        },
        credHelpers: { 'third.internal': 'never-run' },
      }),
    );

    // A new image each run (the label holds a nonce): the node must not have it from an earlier run, or a pod
    // without credentials would start from the node's copy and never ask the registry.
    const imageContext = join(workspace, 'image');
    mkdirSync(imageContext);
    const nonce = randomBytes(6).toString('hex');
    const dockerfile = [
      `FROM ${baseImage}`,
      'COPY server.js /app/server.js',
      `LABEL dev.turbolift.test-nonce=${nonce}`,
      'USER 1000:1000',
      'CMD ["node", "/app/server.js"]',
      '',
    ].join('\n');
    writeFileSync(join(imageContext, 'Dockerfile'), dockerfile);
    writeFileSync(join(imageContext, 'server.js'), SERVER_JS);
    const repository = `${authRegistry}/turbolift-k8s-test/private-echo`;
    const build = run('docker', ['build', '-q', '-t', `${repository}:${nonce}`, imageContext]);
    if (build.status !== 0) throw new Error(`docker build of the test image failed (is tools/test-infra/up.sh running?): ${build.stderr.trim()}`);
    const push = run('docker', ['--config', testDockerConfig, 'push', `${repository}:${nonce}`]);
    if (push.status !== 0) throw new Error(`docker push ${repository}:${nonce} with ${testDockerConfig} failed: ${push.stderr.trim()}`);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    if (!digest) throw new Error(`no digest in docker push output: ${push.stdout}`);
    run('docker', ['rmi', `${repository}:${nonce}`]);
    imageRecord = { service: PROJECT, image: repository, tag: nonce, digest, pushed: true };
    mkdirSync(join(workspace, 'dist', PROJECT_ROOT), { recursive: true });
    writeFileSync(join(workspace, 'dist', PROJECT_ROOT, 'image.json'), JSON.stringify(imageRecord, null, 2));
  }, 180_000);

  beforeAll(() => {
    const spyOn = (method: 'info' | 'error') =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        output.push(stripVTControlCharacters(args.map(String).join(' ')));
      });
    spyOn('info');
    spyOn('error');
  });

  afterEach((test) => {
    if (process.env.TURBOLIFT_TEST_VERBOSE === '1') process.stderr.write(`--- ${test.task.name}\n${output.join('\n')}\n`);
    output = [];
    vi.unstubAllEnvs();
  });

  afterAll(() => {
    vi.restoreAllMocks();
    for (const namespace of namespaces) kubectl('delete', 'namespace', namespace, '--wait=false', '--ignore-not-found');
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('the registry refuses anonymous pulls of the image', async () => {
    const path = imageRecord.image.slice(authRegistry.length + 1);
    const response = await fetch(`http://${authRegistry}/v2/${path}/manifests/${imageRecord.digest}`, { method: 'HEAD' });
    expect(response.status).toBe(401);
  });

  // First: once a pod has pulled the image the node keeps it, and a pod without credentials would start from that copy.
  it("without a pull Secret the rollout fails, naming the pod, the pull error and the registry's refusal", async () => {
    const namespace = newNamespace('nosecret');
    const name = `${PROJECT}-anonymous`;
    const result = await deploy({ namespace, name, timeoutSeconds: 120 });
    output.push(`reason: ${result.reason}`);
    expect(result.success).toBe(false);
    expect(result.reason).toMatch(new RegExp(`^${name}: rollout failed: pod ${name}-[a-z0-9]+-[a-z0-9]+: (ErrImagePull|ImagePullBackOff): `));
    expect(result.reason).toContain(authRegistry);
    expect(result.reason).toMatch(/401 Unauthorized/);
    expect(result.reason).not.toContain('\n');
    expect(output).toContain(`deploy-k8s: ${result.reason}`);
    // No pull Secret was made: the namespace holds only its callers Secret.
    const secrets = kubectl('get', 'secrets', '-n', namespace, '-o', 'name');
    expect(secrets.stdout.trim()).toBe('secret/turbolift-callers');
  }, 150_000);

  it('with createPullSecret the pods pull with a Secret holding that registry only, and serve through the ClusterIP', async () => {
    vi.stubEnv('DOCKER_CONFIG', testDockerConfig);
    const namespace = newNamespace('pullsecret');
    const result = await deploy({ namespace, createPullSecret: true, replicas: 2 });
    expect(result.success, `${result.reason}\n${output.join('\n')}`).toBe(true);
    expect(result.applied).toContainEqual({ kind: 'Secret', name: `${PROJECT}-pull`, action: 'created' });

    const secret = JSON.parse(kubectl('get', 'secret', `${PROJECT}-pull`, '-n', namespace, '-o', 'json').stdout) as {
      type: string;
      data: Record<string, string>;
    };
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(Object.keys(secret.data)).toEqual(['.dockerconfigjson']);
    const dockerConfigJson = JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString('utf8')) as {
      auths: Record<string, { username: string; password: string; auth: string }>;
    };
    expect(Object.keys(dockerConfigJson)).toEqual(['auths']);
    expect(Object.keys(dockerConfigJson.auths)).toEqual([authRegistry]);
    const infraConfig = JSON.parse(readFileSync(join(infraDockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(dockerConfigJson.auths[authRegistry].auth).toBe(infraConfig.auths[authRegistry].auth);
    // The credentials live in the Secret only, not in what deploy writes down or prints.
    const password = dockerConfigJson.auths[authRegistry].password;
    expect(JSON.stringify(result.record)).not.toContain(password);
    expect(JSON.stringify(result.record)).not.toContain(dockerConfigJson.auths[authRegistry].auth);
    expect(output.join('\n')).not.toContain(password);

    const pullSecrets = kubectl('get', 'deployment', PROJECT, '-n', namespace, '-o', 'jsonpath={.spec.template.spec.imagePullSecrets[*].name}');
    expect(pullSecrets.stdout).toBe(`${PROJECT}-pull`);
    const images = kubectl('get', 'pods', '-n', namespace, '-o', 'jsonpath={.items[*].spec.containers[0].image}');
    expect(images.stdout.split(' ')).toEqual([`${imageRecord.image}@${imageRecord.digest}`, `${imageRecord.image}@${imageRecord.digest}`]);

    const url = result.url;
    expect(url).toMatch(/^http:\/\/10\.96\.0\.\d+:80$/);
    let body = '';
    for (let attempt = 0; attempt < 40 && !body; attempt++) {
      try {
        const response = await fetch(url!, { signal: AbortSignal.timeout(2000) });
        if (response.ok) body = await response.text();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    expect(body).toMatch(new RegExp(`^private hello from ${PROJECT}-`));
  }, 180_000);

  it('with createPullSecret and no credentials for the registry it fails before touching the cluster', async () => {
    const elsewhere = join(workspace, 'docker-config-elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'config.json'), JSON.stringify({ auths: { 'other.internal:5000': { auth: Buffer.from('a:b').toString('base64') } } }));
    vi.stubEnv('DOCKER_CONFIG', elsewhere);
    const namespace = newNamespace('nocreds');
    const result = await deploy({ namespace, createPullSecret: true });
    expect(result.success).toBe(false);
    expect(result.reason).toBe(
      `createPullSecret: no credentials for registry ${authRegistry} in ${join(elsewhere, 'config.json')} (auths, credHelpers, credsStore); ` +
        `run \`docker login ${authRegistry}\` with the DOCKER_CONFIG this deploy reads, ` +
        'or drop createPullSecret and name an existing Secret in imagePullSecrets',
    );
    expect(output).toEqual([`deploy-k8s: ${result.reason}`]);
    // The same refusal, by its code, from the lookup the executor calls.
    expect(() => pullSecretFor(PROJECT, imageRecord.image)).toThrow(expect.objectContaining({ code: 'TL_PULL_SECRET_NO_CREDENTIALS' }));
    expect(kubectl('get', 'namespace', namespace).status).not.toBe(0);
  }, 60_000);
});
