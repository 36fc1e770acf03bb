// Against a real cluster (tools/test-cluster): runs when TURBOLIFT_TEST_KUBECONFIG is set; with TURBOLIFT_REQUIRE_CLUSTER=1 and no cluster it fails.
// The kubeconfigs are the test's own: an exec plugin (a node script of this test) that prints a ServiceAccount's token,
// a client certificate signed by the test cluster's CA, and broken variants of both.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clusterKubeconfig as kubeconfig, executorContext, failWithoutRequiredCluster, run, uniqueNamespace } from '../../../../tools/test-support/cluster';
import deployK8sExecutor from '../executors/deploy-k8s/executor';
import undeployK8sExecutor from '../executors/undeploy-k8s/executor';
import { isTurboliftError } from '../errors';
import { describeApiError, httpStatusOf } from './api-errors';
import { applyManifests, objectApi } from './apply';
import { checkClusterAccess, credentialFailureOf } from './credentials';
import { loadClusterTarget, type ClusterTarget } from './kubeconfig';

// tools/test-cluster keeps its CA beside the kubeconfig; another cluster's tests skip the certificate cases.
const clusterCa = kubeconfig ? { crt: join(dirname(kubeconfig), 'pki', 'ca.crt'), key: join(dirname(kubeconfig), 'pki', 'ca.key') } : undefined;
const haveClusterCa = Boolean(clusterCa && existsSync(clusterCa.key));

// The plugin: its first argument says how to behave; the token comes from the kubeconfig's exec.env.
const PLUGIN_JS = `
const mode = process.argv[2] || 'ok';
if (mode === 'fail') { process.stderr.write('token service: session expired, log in again\\nsecond line\\n'); process.exit(1); }
if (mode === 'hang') { setInterval(() => {}, 1000); return; }
const token = mode === 'wrong' ? 'not-a-token-the-cluster-knows' : process.env.TL_TEST_TOKEN;
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token } }));
`;

failWithoutRequiredCluster('cluster credentials against a real cluster');

describe.skipIf(!kubeconfig)('cluster credentials against a real cluster', () => {
  const namespace = uniqueNamespace('creds');
  let folder: string;
  let cluster: { server: string; caData: string };
  let deployerToken: string;

  const kubectl = (...args: string[]) => {
    const result = run('kubectl', ['--kubeconfig', kubeconfig!, '--request-timeout=30s', ...args]);
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
    return result.stdout;
  };
  const openssl = (...args: string[]) => {
    const result = run('openssl', args);
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr.trim()}`);
  };

  /** A kubeconfig of the test's own (JSON is YAML): this cluster, one context `creds-test`, one user entry. */
  const writeKubeconfig = (name: string, user: string, entry: object): string => {
    const file = join(folder, `${name}.kubeconfig`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'turbolift-test', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
      users: [{ name: user, user: entry }],
      contexts: [{ name: 'creds-test', context: { cluster: 'turbolift-test', user, namespace } }],
      'current-context': 'creds-test',
    };
    writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
    return file;
  };
  const execEntry = (mode: string, token: string, command = './get-token.js') => ({
    exec: { apiVersion: 'client.authentication.k8s.io/v1', command, args: [mode], env: [{ name: 'TL_TEST_TOKEN', value: token }], interactiveMode: 'Never' },
  });
  const credentialsFailure = async (target: ClusterTarget, options?: Parameters<typeof checkClusterAccess>[1]) => {
    const error = await checkClusterAccess(target, options).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isTurboliftError(error) ? error.code : error).toBe('TL_CLUSTER_CREDENTIALS');
    return (error as Error).message;
  };
  const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { made: 'by the credentials test' } });

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'turbolift-creds-'));
    const admin = new KubeConfig();
    admin.loadFromFile(kubeconfig!);
    const current = admin.getCurrentCluster()!;
    cluster = { server: current.server, caData: current.caData ?? readFileSync(current.caFile!).toString('base64') };

    // ServiceAccounts whose tokens the plugin prints; what the check needs is only to be authenticated, the rest
    // (ConfigMaps, pods) is for the real calls after it. No grant on Secrets: that is the 403 case.
    kubectl('create', 'namespace', namespace);
    for (const account of ['deployer', 'revoked']) kubectl('create', 'serviceaccount', account, '-n', namespace);
    kubectl('create', 'role', 'creds-test', '-n', namespace, '--verb=get,list,create,patch', '--resource=configmaps,pods');
    kubectl(
      'create',
      'rolebinding',
      'creds-test',
      '-n',
      namespace,
      '--role=creds-test',
      `--serviceaccount=${namespace}:deployer`,
      `--serviceaccount=${namespace}:revoked`,
    );
    kubectl('create', 'rolebinding', 'creds-test-cert', '-n', namespace, '--role=creds-test', '--user=turbolift-creds-cert');
    deployerToken = kubectl('create', 'token', 'deployer', '-n', namespace, '--duration=1h').trim();

    const plugin = join(folder, 'get-token.js');
    writeFileSync(plugin, `#!${process.execPath}\n${PLUGIN_JS}`);
    chmodSync(plugin, 0o755);
  }, 120_000);

  afterAll(() => {
    if (kubeconfig) run('kubectl', ['--kubeconfig', kubeconfig, 'delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("passes with the test cluster's own kubeconfig (a static token)", async () => {
    expect(await checkClusterAccess(loadClusterTarget({ kubeconfig }))).toEqual({ username: 'admin' });
  });

  it('passes with an exec plugin that prints a ServiceAccount token, and the calls after it work with the same plugin', async () => {
    // A relative command: resolved against the kubeconfig's folder, as kubectl does.
    const target = loadClusterTarget({ kubeconfig: writeKubeconfig('exec-ok', 'plugin-user', execEntry('ok', deployerToken)) });
    expect(await checkClusterAccess(target)).toEqual({ username: `system:serviceaccount:${namespace}:deployer` });

    const outcomes = await applyManifests(objectApi(target.kubeConfig), [configMap('through-exec-plugin')]);
    expect(outcomes).toEqual([{ kind: 'ConfigMap', name: 'through-exec-plugin', action: 'created' }]);
    expect(kubectl('get', 'configmap', 'through-exec-plugin', '-n', namespace, '-o', 'jsonpath={.data.made}')).toBe('by the credentials test');
    const pods = await target.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
    expect(pods.items).toEqual([]);

    // Authenticated but not allowed is a permission problem, not a credential one: the call's own line says so.
    const forbidden = await target.kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace })
      .catch((error: unknown) => error);
    expect(httpStatusOf(forbidden)).toBe(403);
    expect(describeApiError(forbidden)).toContain(`User "system:serviceaccount:${namespace}:deployer" cannot list resource "secrets"`);
    expect(credentialFailureOf(target, forbidden)).toBeUndefined();
  });

  it('fails with TL_CLUSTER_CREDENTIALS naming the context, the user and the 401 when the plugin prints a token the cluster refuses', async () => {
    const target = loadClusterTarget({ kubeconfig: writeKubeconfig('exec-wrong', 'plugin-user', execEntry('wrong', deployerToken)) });
    const message = await credentialsFailure(target);
    expect(message).toContain(
      `the cluster refused the token exec plugin \`${join(folder, 'get-token.js')}\` gave user "plugin-user" of context "creds-test": HTTP 401`,
    );
    expect(message).toContain(`run \`${join(folder, 'get-token.js')} wrong\` yourself`);
    expect(message).toContain('`kubectl --context creds-test auth whoami`');
  });

  it('fails with TL_CLUSTER_CREDENTIALS naming the plugin, its exit code and its message when it exits 1', async () => {
    const target = loadClusterTarget({ kubeconfig: writeKubeconfig('exec-fail', 'plugin-user', execEntry('fail', deployerToken)) });
    const message = await credentialsFailure(target);
    expect(message).toBe(
      `cannot get credentials for user "plugin-user" of context "creds-test": exec plugin \`${join(folder, 'get-token.js')}\` exited with code 1: ` +
        `token service: session expired, log in again; run \`${join(folder, 'get-token.js')} fail\` yourself to see the whole error`,
    );
  });

  it('says the plugin is not found, with its installHint, and stops one that never answers', async () => {
    const missing = execEntry('ok', deployerToken, 'turbolift-no-such-auth-plugin');
    const notFound = loadClusterTarget({
      kubeconfig: writeKubeconfig('exec-missing', 'plugin-user', { exec: { ...missing.exec, installHint: 'Install it from the platform team' } }),
    });
    expect(await credentialsFailure(notFound)).toContain('exec plugin `turbolift-no-such-auth-plugin` not found (Install it from the platform team)');

    const hanging = loadClusterTarget({ kubeconfig: writeKubeconfig('exec-hang', 'plugin-user', execEntry('hang', deployerToken)) });
    const startedAt = Date.now();
    expect(await credentialsFailure(hanging, { execTimeoutMs: 3000 })).toContain('gave none within 3s');
    expect(Date.now() - startedAt).toBeLessThan(20_000);
  });

  it('names the context and the user when a later call is refused (the token was revoked mid-run)', async () => {
    const token = kubectl('create', 'token', 'revoked', '-n', namespace, '--duration=1h').trim();
    const target = loadClusterTarget({ kubeconfig: writeKubeconfig('exec-revoked', 'soon-revoked', execEntry('ok', token)) });
    expect(await checkClusterAccess(target)).toEqual({ username: `system:serviceaccount:${namespace}:revoked` });

    // Deleting the ServiceAccount invalidates its tokens; the API server notices within its cache's resync.
    kubectl('delete', 'serviceaccount', 'revoked', '-n', namespace);
    const client = target.kubeConfig.makeApiClient(CoreV1Api);
    const deadline = Date.now() + 60_000;
    let status: number | undefined;
    while (Date.now() < deadline) {
      status = await client.listNamespacedConfigMap({ namespace }).then(
        () => 200,
        (error: unknown) => httpStatusOf(error),
      );
      if (status === 401) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(status).toBe(401);

    const applyFailure = await applyManifests(objectApi(target.kubeConfig), [configMap('after-revocation')]).catch((error: unknown) => error);
    const failure = credentialFailureOf(target, applyFailure);
    expect(failure?.code).toBe('TL_CLUSTER_CREDENTIALS');
    expect(failure?.message).toMatch(/^the cluster refused the token exec plugin `[^`]+` gave user "soon-revoked" of context "creds-test" /);
    expect(failure?.message).toContain(`(read ConfigMap/after-revocation in ${namespace} failed: HTTP 401: Unauthorized)`);
  }, 90_000);

  it('deploy-k8s and undeploy-k8s stop at the check when the plugin fails: one line, nothing applied or deleted', async () => {
    const workspace = join(folder, 'workspace');
    const record = { service: 'echo', image: '127.0.0.1:5000/turbolift-creds/echo', tag: 'never-pulled', digest: null, pushed: false };
    mkdirSync(join(workspace, 'dist', 'apps', 'echo'), { recursive: true });
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: '@acme/source', private: true }));
    writeFileSync(join(workspace, 'dist', 'apps', 'echo', 'image.json'), JSON.stringify(record));
    const context = executorContext(workspace, 'echo', 'apps/echo');
    const failing = writeKubeconfig('exec-executors', 'plugin-user', execEntry('fail', deployerToken));
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    vi.spyOn(console, 'info').mockImplementation(() => undefined);
    // A Service as turbolift labels its own: what undeploy would delete, and deploy would configure, past the check.
    kubectl('create', 'service', 'clusterip', 'echo', '-n', namespace, '--tcp=80:8080');
    kubectl('label', 'service', 'echo', '-n', namespace, 'app.kubernetes.io/managed-by=turbolift', 'app.kubernetes.io/instance=echo');
    try {
      const deployed = await deployK8sExecutor({ kubeconfig: failing, namespace }, { ...context, targetName: 'deploy-k8s' });
      expect(deployed.success).toBe(false);
      expect(deployed.reason).toMatch(
        /^cannot get credentials for user "plugin-user" of context "creds-test": exec plugin `[^`]+` exited with code 1: token service/,
      );
      const undeployed = await undeployK8sExecutor({ kubeconfig: failing, namespace }, { ...context, targetName: 'undeploy-k8s' });
      expect(undeployed.success).toBe(false);
      expect(undeployed.reason).toBe(deployed.reason);
      expect(printed).toEqual([`deploy-k8s: ${deployed.reason}`, `undeploy-k8s: ${deployed.reason}`]);
    } finally {
      vi.restoreAllMocks();
    }
    expect(kubectl('get', 'deployments', '-n', namespace, '-o', 'name').trim()).toBe('');
    expect(kubectl('get', 'service', 'echo', '-n', namespace, '-o', 'jsonpath={.metadata.annotations}').trim()).toBe('');
  }, 60_000);

  it.skipIf(!haveClusterCa)("passes with a client certificate signed by the cluster's CA, and is refused one from another CA", async () => {
    const certificate = (name: string, subject: string, signed: boolean) => {
      const key = join(folder, `${name}.key`);
      const crt = join(folder, `${name}.crt`);
      if (signed) {
        const csr = join(folder, `${name}.csr`);
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject);
        openssl('x509', '-req', '-in', csr, '-CA', clusterCa!.crt, '-CAkey', clusterCa!.key, '-CAcreateserial', '-out', crt, '-days', '1');
      } else {
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', subject);
      }
      return { 'client-certificate-data': readFileSync(crt).toString('base64'), 'client-key-data': readFileSync(key).toString('base64') };
    };

    const trusted = loadClusterTarget({
      kubeconfig: writeKubeconfig('cert-ok', 'cert-user', certificate('trusted', '/O=turbolift-test/CN=turbolift-creds-cert', true)),
    });
    expect(await checkClusterAccess(trusted)).toEqual({ username: 'turbolift-creds-cert' });
    expect((await trusted.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace })).items).toEqual([]);

    const stranger = loadClusterTarget({
      kubeconfig: writeKubeconfig('cert-other-ca', 'cert-user', certificate('stranger', '/CN=turbolift-creds-cert', false)),
    });
    expect(await credentialsFailure(stranger)).toMatch(
      /^the cluster refused the client certificate of user "cert-user" of context "creds-test": HTTP 401 Unauthorized: it is not signed by a CA/,
    );
  });
});
