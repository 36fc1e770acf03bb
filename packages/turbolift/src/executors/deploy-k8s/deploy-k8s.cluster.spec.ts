// Against a real cluster (tools/test-cluster) and the real Docker engine + registry (tools/test-infra):
// runs when TURBOLIFT_TEST_KUBECONFIG is set; with TURBOLIFT_REQUIRE_CLUSTER=1 and no cluster it fails.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  ECHO_SERVER_JS,
  SMALL_NODE,
  buildAndPushImage,
  clusterKubeconfig as kubeconfig,
  executorContext,
  failWithoutRequiredCluster,
  kubectlFor,
  testBaseImage,
  testRegistry as registry,
  uniqueNamespace,
} from '../../../../../tools/test-support/cluster';
import { deployedContentHash } from '../../kubernetes';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import undeployK8sExecutor from '../undeploy-k8s/executor';
import deployK8sExecutor from './executor';
import type { DeployK8sExecutorOptions } from './schema';

const PROJECT = 'echo-service';
const PROJECT_ROOT = 'apps/echo-service';

failWithoutRequiredCluster('deploy-k8s against a real cluster');

describe.skipIf(!kubeconfig)('deploy-k8s against a real cluster', () => {
  let workspace: string;
  let imageRecord: { service: string; image: string; tag: string; digest: string | null; pushed: boolean };
  const namespaces: string[] = [];
  let output: string[] = [];

  const kubectl = kubectlFor(kubeconfig!);
  const kubectlWithInput = kubectl.withInput;
  const newNamespace = (purpose: string) => {
    const namespace = uniqueNamespace(purpose);
    namespaces.push(namespace);
    return namespace;
  };

  const writeImageRecord = (record: object) => {
    mkdirSync(join(workspace, 'dist', PROJECT_ROOT), { recursive: true });
    writeFileSync(join(workspace, 'dist', PROJECT_ROOT, 'image.json'), JSON.stringify(record, null, 2));
  };

  const context = () => executorContext(workspace, PROJECT, PROJECT_ROOT);
  // Scale-downs, if any, wait 15 s instead of 300 s.
  const SHORT_WINDOW = { scaleDownStabilizationSeconds: 15 };
  const PATCHES: DeployK8sExecutorOptions['patches'] = [
    {
      kind: 'Deployment',
      patch: { spec: { template: { spec: { containers: [{ name: PROJECT, env: [{ name: 'PATCHED_BY', value: 'kustomize-style' }] }] } } } },
    },
    { kind: 'Service', patch: { metadata: { annotations: { 'prometheus.io/scrape': 'true' } } } },
  ];
  /** A Docker config of the test's own with credentials for the test registry (which takes any: it has no auth). */
  const useDockerConfig = () => {
    const dir = join(workspace, 'docker-config');
    mkdirSync(dir, { recursive: true });
    const auth = Buffer.from('turbolift:not-checked').toString('base64');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth }, '127.0.0.2:5000': { auth } } }));
    vi.stubEnv('DOCKER_CONFIG', dir);
  };
  const deploy = (options: DeployK8sExecutorOptions) => deployK8sExecutor({ kubeconfig, createNamespace: true, ...SMALL_NODE, ...options }, context());

  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'turbolift-k8s-'));
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: '@acme/source', private: true }));

    // Build and push the test image; its tag is the hash of what goes into it.
    const dockerfile = `FROM ${testBaseImage}\nCOPY server.js /app/server.js\nUSER 1000:1000\nCMD ["node", "/app/server.js"]\n`;
    const pushed = buildAndPushImage(`${registry}/turbolift-k8s-test/echo`, join(workspace, 'image'), dockerfile, { 'server.js': ECHO_SERVER_JS });
    imageRecord = { service: PROJECT, ...pushed, pushed: true };
  }, 180_000);

  beforeAll(() => {
    // The dry run writes its YAML to stdout; the tests read it from the executor's result.
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const spyOn = (method: 'info' | 'error') =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        // Nx's logger colours its lines when a terminal or CI asks for colour; the tests read the text.
        output.push(stripVTControlCharacters(args.map(String).join(' ')));
      });
    spyOn('info');
    spyOn('error');
  });

  afterEach((test) => {
    // TURBOLIFT_TEST_VERBOSE=1 shows what the executors printed (progress lines, reasons).
    if (process.env.TURBOLIFT_TEST_VERBOSE === '1') process.stderr.write(`--- ${test.task.name}\n${output.join('\n')}\n`);
    output = [];
  });

  afterAll(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    for (const namespace of namespaces) kubectl('delete', 'namespace', namespace, '--wait=false', '--ignore-not-found');
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('deploys a real image, waits for the rollout, serves through the ClusterIP, then re-applies as unchanged', async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('deploy');
    const result = await deploy({ namespace, replicas: 2 });

    expect(result.success, output.join('\n')).toBe(true);
    expect(result.applied).toEqual([
      { kind: 'Namespace', name: namespace, action: 'created' },
      { kind: 'Service', name: PROJECT, action: 'created' },
      { kind: 'Deployment', name: PROJECT, action: 'created' },
      { kind: 'PodDisruptionBudget', name: PROJECT, action: 'created' },
    ]);
    expect(output).toContain(`${PROJECT}: 2/2 ready`);
    expect(result.inClusterUrl).toBe(`http://${PROJECT}.${namespace}.svc:80`);

    // kubectl agrees, and the pods run the image pinned by digest.
    const status = kubectl('rollout', 'status', `deployment/${PROJECT}`, '-n', namespace, '--timeout=10s');
    expect(status.status, status.stderr).toBe(0);
    const images = kubectl('get', 'pods', '-n', namespace, '-o', 'jsonpath={.items[*].spec.containers[0].image}');
    expect(images.stdout.split(' ')).toEqual([`${imageRecord.image}@${imageRecord.digest}`, `${imageRecord.image}@${imageRecord.digest}`]);
    // One worker per core of the default CPU limit.
    const workers = kubectl(
      'get',
      'pods',
      '-n',
      namespace,
      '-o',
      'jsonpath={range .items[*]}{.spec.containers[0].env[?(@.name=="TURBOLIFT_WORKERS")].value}{" "}{end}',
    );
    expect(workers.stdout.trim()).toBe('1 1');

    // The Service answers from this host (kube-proxy runs here); bounded retries while endpoints propagate.
    expect(result.url).toMatch(/^http:\/\/10\.96\.0\.\d+:80$/);
    let body = '';
    for (let attempt = 0; attempt < 40 && !body; attempt++) {
      try {
        const response = await fetch(result.url!, { signal: AbortSignal.timeout(2000) });
        if (response.ok) body = await response.text();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    expect(body).toMatch(new RegExp(`^hello from ${PROJECT}-`));

    const replicaSetsBefore = kubectl('get', 'replicasets', '-n', namespace, '-o', 'jsonpath={.items[*].metadata.name}').stdout;
    output = [];
    const again = await deploy({ namespace, replicas: 2 });
    expect(again.success, output.join('\n')).toBe(true);
    expect(again.applied?.map((outcome) => outcome.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(again.contentHash).toBe(result.contentHash);
    expect(output.some((line) => line.includes('unchanged (content hash'))).toBe(true);
    const replicaSetsAfter = kubectl('get', 'replicasets', '-n', namespace, '-o', 'jsonpath={.items[*].metadata.name}').stdout;
    expect(replicaSetsAfter).toBe(replicaSetsBefore);
    expect(replicaSetsAfter.split(' ')).toHaveLength(1);

    // What runs is readable from the cluster.
    const annotation = kubectl('get', 'deployment', PROJECT, '-n', namespace, '-o', 'jsonpath={.metadata.annotations.turbolift\\.dev/content-hash}');
    expect(annotation.stdout).toBe(result.contentHash);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig!);
    expect(await deployedContentHash(kubeConfig, namespace, PROJECT)).toBe(result.contentHash);
    expect(await deployedContentHash(kubeConfig, namespace, 'not-deployed')).toBeUndefined();

    // A changed pod template rolls out a new ReplicaSet, one pod at a time, and waits for it.
    output = [];
    const changed = await deploy({ namespace, replicas: 2, env: { GREETING: 'v2' } });
    expect(changed.success, output.join('\n')).toBe(true);
    expect(changed.applied?.find((outcome) => outcome.kind === 'Deployment')?.action).toBe('configured');
    expect(changed.contentHash).not.toBe(result.contentHash);
    expect(kubectl('rollout', 'status', `deployment/${PROJECT}`, '-n', namespace, '--timeout=10s').status).toBe(0);
    const replicaSets = JSON.parse(kubectl('get', 'replicasets', '-n', namespace, '-o', 'json').stdout).items as Array<{ status: { replicas: number } }>;
    expect(replicaSets.map((set) => set.status.replicas).sort()).toEqual([0, 2]);
    const greetings = kubectl(
      'get',
      'pods',
      '-n',
      namespace,
      '-o',
      'jsonpath={range .items[*]}{.spec.containers[0].env[?(@.name=="GREETING")].value}{" "}{end}',
    );
    expect(greetings.stdout.trim()).toBe('v2 v2');
  }, 240_000);

  it('prints dry-run YAML that the API server accepts and applies nothing', async () => {
    writeImageRecord(imageRecord);
    useDockerConfig();
    const namespace = newNamespace('dryrun');
    expect(kubectl('create', 'namespace', namespace).status).toBe(0);
    const result = await deploy({
      namespace,
      createNamespace: false,
      dryRun: true,
      replicas: 3,
      env: { GREETING: 'hi' },
      autoscaling: { enabled: true, min: 2, max: 4, targetCPU: 70, scaleDownStabilizationSeconds: 15, scaleUpStabilizationSeconds: 5 },
      callTimeoutMs: 20_000,
      maxQueue: 8,
      // Placement and metadata as users of managed clusters set them; a dry run creates no pod, so none has to fit.
      resources: { ...SMALL_NODE.resources, limits: { 'example.com/widget': 1 } },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'example.com/dedicated', operator: 'Equal', value: 'turbolift', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 50, preference: { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] } },
          ],
        },
      },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }],
      priorityClassName: 'system-cluster-critical',
      serviceAccountName: 'default',
      imagePullSecrets: ['registry-credentials'],
      labels: { team: 'search' },
      annotations: { 'example.com/owner': 'search@example.com' },
      createPullSecret: true,
      patches: PATCHES,
    });
    expect(result.success).toBe(true);
    expect(result.yaml).toContain('kind: HorizontalPodAutoscaler');
    expect(result.yaml).toContain('type: kubernetes.io/dockerconfigjson');
    expect(result.yaml).toContain(`name: ${PROJECT}-pull`);
    expect(result.yaml).toContain('name: PATCHED_BY');
    expect(result.yaml).toContain('prometheus.io/scrape');
    expect(result.yaml).toContain('stabilizationWindowSeconds: 15');
    expect(result.yaml).toContain('name: TURBOLIFT_WORKERS');
    for (const field of ['nodeSelector:', 'tolerations:', 'affinity:', 'topologySpreadConstraints:', 'serviceAccountName: default', 'team: search']) {
      expect(result.yaml).toContain(field);
    }
    expect(result.yaml).toMatch(/example\.com\/widget: ['"]1['"]/);

    const accepted = kubectlWithInput(result.yaml!, 'apply', '--dry-run=server', '-f', '-');
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain(`deployment.apps/${PROJECT} created (server dry run)`);
    const left = kubectl('get', 'deployments,services,hpa,pdb', '-n', namespace, '-o', 'name');
    expect(left.stdout.trim()).toBe('');
  }, 60_000);

  it('applies patches and a pull Secret, and an unchanged patched deploy writes nothing', async () => {
    writeImageRecord(imageRecord);
    useDockerConfig();
    const namespace = newNamespace('patched');
    const first = await deploy({ namespace, createPullSecret: true, patches: PATCHES });
    expect(first.success, output.join('\n')).toBe(true);
    expect(first.applied?.map((outcome) => `${outcome.kind} ${outcome.action}`)).toEqual([
      'Namespace created',
      'Secret created',
      'Service created',
      'Deployment created',
    ]);
    const env = kubectl('get', 'deployment', PROJECT, '-n', namespace, '-o', 'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="PATCHED_BY")].value}');
    expect(env.stdout).toBe('kustomize-style');
    const pullSecrets = kubectl('get', 'deployment', PROJECT, '-n', namespace, '-o', 'jsonpath={.spec.template.spec.imagePullSecrets[*].name}');
    expect(pullSecrets.stdout).toBe(`${PROJECT}-pull`);
    const annotation = kubectl('get', 'service', PROJECT, '-n', namespace, '-o', 'jsonpath={.metadata.annotations.prometheus\\.io/scrape}');
    expect(annotation.stdout).toBe('true');

    const again = await deploy({ namespace, createPullSecret: true, patches: PATCHES });
    expect(again.success, output.join('\n')).toBe(true);
    expect(again.applied?.every((outcome) => outcome.action === 'unchanged')).toBe(true);
    expect(again.record).toMatchObject({ changed: false, contentHash: first.contentHash, namespace });
    expect(JSON.parse(readFileSync(join(workspace, 'dist', PROJECT_ROOT, 'deploy.json'), 'utf8'))).toEqual(again.record);

    // Turning the option off prunes the Secret.
    const without = await deploy({ namespace, patches: PATCHES });
    expect(without.success, output.join('\n')).toBe(true);
    expect(without.applied).toContainEqual({ kind: 'Secret', name: `${PROJECT}-pull`, action: 'pruned' });
    expect(kubectl('get', 'secret', `${PROJECT}-pull`, '-n', namespace, '--ignore-not-found', '-o', 'name').stdout.trim()).toBe('');
  }, 180_000);

  it('fails with the pull error, naming the pod, when the image cannot be pulled', async () => {
    writeImageRecord({ ...imageRecord, tag: 'does-not-exist', digest: null });
    const namespace = newNamespace('nopull');
    const result = await deploy({ namespace, timeoutSeconds: 120 });
    expect(result.success).toBe(false);
    expect(result.reason).toMatch(new RegExp(`^${PROJECT}: rollout failed: pod ${PROJECT}-[a-z0-9]+-[a-z0-9]+: (ErrImagePull|ImagePullBackOff): `));
    expect(output).toContain(`deploy-k8s: ${result.reason}`);
  }, 150_000);

  it('fails with CrashLoopBackOff and the exit code when the service crashes on start', async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('crash');
    const result = await deploy({ namespace, env: { TEST_MODE: 'crash' }, timeoutSeconds: 120 });
    expect(result.success).toBe(false);
    expect(result.reason).toMatch(new RegExp(`^${PROJECT}: rollout failed: pod ${PROJECT}-\\S+: CrashLoopBackOff: container ${PROJECT} exited with code 3`));
  }, 150_000);

  it('reports the failing readiness probe when pods never become ready', async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('unready');
    const result = await deploy({ namespace, env: { TEST_MODE: 'unready' }, timeoutSeconds: 20 });
    expect(result.success).toBe(false);
    expect(result.reason).toMatch(new RegExp(`^${PROJECT}: rollout not done after 20s \\(0/1 ready\\): pod ${PROJECT}-\\S+: `));
    expect(result.reason).toContain('Readiness probe failed');
  }, 60_000);

  it('moves between a fixed replica count and an autoscaler without resetting the count, pruning what is no longer wanted', async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('scale');
    const replicasOf = () => kubectl('get', 'deployment', PROJECT, '-n', namespace, '-o', 'jsonpath={.spec.replicas}').stdout;
    const replicasManagers = () => {
      const managed = JSON.parse(kubectl('get', 'deployment', PROJECT, '-n', namespace, '--show-managed-fields', '-o', 'json').stdout);
      return (managed.metadata.managedFields as Array<{ manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }>)
        .filter((entry) => entry.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined)
        .map((entry) => entry.manager)
        .sort();
    };

    const fixed = await deploy({ namespace, replicas: 3 });
    expect(fixed.success, output.join('\n')).toBe(true);
    expect(replicasManagers()).toEqual(['turbolift']);

    const autoscaled = await deploy({ namespace, replicas: 3, autoscaling: { enabled: true, min: 2, max: 4, targetCPU: 80, ...SHORT_WINDOW } });
    expect(autoscaled.success, output.join('\n')).toBe(true);
    expect(autoscaled.applied?.find((outcome) => outcome.kind === 'HorizontalPodAutoscaler')?.action).toBe('created');
    // turbolift handed the field over instead of dropping it (which would have reset it to 1).
    expect(replicasManagers()).not.toContain('turbolift');
    expect(Number(replicasOf())).toBeGreaterThanOrEqual(2);

    const single = await deploy({ namespace, replicas: 1 });
    expect(single.success, output.join('\n')).toBe(true);
    expect(single.applied?.filter((outcome) => outcome.action === 'pruned')).toEqual([
      { kind: 'HorizontalPodAutoscaler', name: PROJECT, action: 'pruned' },
      { kind: 'PodDisruptionBudget', name: PROJECT, action: 'pruned' },
    ]);
    expect(replicasOf()).toBe('1');
    expect(kubectl('get', 'hpa,pdb', '-n', namespace, '-o', 'name').stdout.trim()).toBe('');
  }, 240_000);

  it('runs under the restricted Pod Security Standard', async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('restricted');
    expect(kubectl('create', 'namespace', namespace).status).toBe(0);
    expect(kubectl('label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted').status).toBe(0);
    const result = await deploy({ namespace, createNamespace: false });
    expect(result.success, output.join('\n')).toBe(true);
  }, 120_000);

  it("fails at once, with the controller's reason, when the namespace refuses new pods", async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('quota');
    expect(kubectl('create', 'namespace', namespace).status).toBe(0);
    expect(kubectl('create', 'quota', 'no-pods', '-n', namespace, '--hard=pods=0').status).toBe(0);
    const result = await deploy({ namespace, createNamespace: false, timeoutSeconds: 120 });
    expect(result.success).toBe(false);
    expect(result.reason).toMatch(
      new RegExp(`^${PROJECT}: rollout failed: FailedCreate: pods "${PROJECT}-[a-z0-9]+-[a-z0-9]+" is forbidden: exceeded quota: no-pods`),
    );
  }, 150_000);

  it('says how to get a namespace that does not exist', async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('absent');
    const result = await deploy({ namespace, createNamespace: false });
    expect(result.success).toBe(false);
    expect(result.reason).toBe(
      // The callers Secret is the first object written into the namespace.
      `create Secret/turbolift-callers in ${namespace} failed: HTTP 404: namespaces "${namespace}" not found ` +
        '(create the namespace, or set the createNamespace option)',
    );
  }, 60_000);

  it('undeploys only its own objects (a foreign Deployment and a look-alike ConfigMap survive) and drops its endpoint', async () => {
    writeImageRecord(imageRecord);
    const namespace = newNamespace('undeploy');
    vi.stubEnv('TURBOLIFT_ENDPOINTS', '');
    mkdirSync(join(workspace, PROJECT_ROOT), { recursive: true });
    writeFileSync(join(workspace, PROJECT_ROOT, 'turbolift.json'), JSON.stringify({ function: 'echoAll', main: 'src/main.ts', port: 4310 }));
    const endpointsFile = join(workspace, '.turbolift', 'endpoints.json');
    const registered = () => JSON.parse(readFileSync(endpointsFile, 'utf8')).endpoints as Record<string, string>;

    const deployed = await deploy({
      namespace,
      replicas: 2,
      autoscaling: { enabled: true, min: 2, max: 3, targetCPU: 80, ...SHORT_WINDOW },
      registerEndpoint: true,
    });
    expect(deployed.success, output.join('\n')).toBe(true);
    // Callers on this host in distributed mode reach the Service through its ClusterIP.
    expect(registered()).toEqual({ echoAll: deployed.url });
    // A new autoscaled Deployment starts at the autoscaler's minimum, not at 1.
    expect(output).toContain(`${PROJECT}: 2/2 ready`);

    const foreign = kubectl(
      'create',
      'deployment',
      'foreign',
      '-n',
      namespace,
      `--image=${registry}/${testBaseImage}`,
      '--',
      'node',
      '-e',
      'setInterval(() => {}, 1e9)',
    );
    expect(foreign.status, foreign.stderr).toBe(0);
    const lookAlike = kubectl('create', 'configmap', 'look-alike', '-n', namespace, '--from-literal=a=b');
    expect(lookAlike.status).toBe(0);
    kubectl('label', 'configmap', 'look-alike', '-n', namespace, 'app.kubernetes.io/managed-by=turbolift', `app.kubernetes.io/instance=${PROJECT}`);
    const otherService = kubectl('create', 'service', 'clusterip', 'other', '-n', namespace, '--tcp=80:8080');
    expect(otherService.status).toBe(0);
    kubectl('label', 'service', 'other', '-n', namespace, 'app.kubernetes.io/managed-by=turbolift', 'app.kubernetes.io/instance=other-service');

    const result = await undeployK8sExecutor({ kubeconfig, namespace }, context());
    expect(result.success, output.join('\n')).toBe(true);
    expect([...(result.deleted ?? [])].sort()).toEqual(
      [`Deployment/${PROJECT}`, `HorizontalPodAutoscaler/${PROJECT}`, `PodDisruptionBudget/${PROJECT}`, `Service/${PROJECT}`].sort(),
    );
    const left = kubectl('get', 'deployments,services,hpa,pdb,configmaps', '-n', namespace, '-o', 'name');
    const names = left.stdout.trim().split('\n').sort();
    expect(names).toEqual(['configmap/kube-root-ca.crt', 'configmap/look-alike', 'deployment.apps/foreign', 'service/other'].sort());
    const pods = kubectl('get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${PROJECT}`, '-o', 'name');
    expect(pods.stdout.trim()).toBe('');
    expect(registered()).toEqual({});
    vi.unstubAllEnvs();
  }, 240_000);
});
