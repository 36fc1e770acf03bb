/**
 * deploy-k8s as a user runs it: a fresh workspace, three lifted functions (two share a workspace library, one
 * uses nothing), options once in nx.json, the real engine, registry and single-node cluster. Deploys all three in
 * parallel, calls them through their ClusterIPs, then redeploys only what a change affects.
 * The test's namespace is deleted at the end.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleApp, runApp } from '../support/app';
import { ensureCluster } from '../support/infra';
import { nx, run, type RunResult } from '../support/run';
import { commitAll, copyWorkspace, writeFiles } from '../support/workspace';
import { configureDeploys, createLibrary, kubectlFor, readyLines, registeredEndpoints, taskLines, uniqueNamespace } from '../fixtures/deploy/cluster-helpers';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/deploy', name), 'utf8');

const services = {
  greet: { fn: 'dkGreet', project: '@acme/dk-greet-service', name: 'dk-greet-service' },
  title: { fn: 'dkTitle', project: '@acme/dk-title-service', name: 'dk-title-service' },
  count: { fn: 'dkWordCount', project: '@acme/dk-word-count-service', name: 'dk-word-count-service' },
};
const all = Object.values(services);

interface DeploymentState {
  hash: string;
  generation: number;
  replicaSets: string[];
  ready: number;
}

describe('deploy-k8s in a fresh workspace against a real cluster', () => {
  let ws: string;
  let kubectl: ReturnType<typeof kubectlFor>;
  const namespace = uniqueNamespace('deploy');
  const environments = { staging: uniqueNamespace('staging'), production: uniqueNamespace('production') };

  /** Each Deployment's content hash, generation, ready replicas and the ReplicaSets it owns, as the cluster says. */
  function clusterState(): Map<string, DeploymentState> {
    const deployments = JSON.parse(kubectl(['get', 'deployments', '-n', namespace, '-o', 'json']).stdout).items;
    const replicaSets = JSON.parse(kubectl(['get', 'replicasets', '-n', namespace, '-o', 'json']).stdout).items;
    const state = new Map<string, DeploymentState>();
    for (const deployment of deployments) {
      const name: string = deployment.metadata.name;
      state.set(name, {
        hash: deployment.metadata.annotations['turbolift.dev/content-hash'],
        generation: deployment.metadata.generation,
        ready: deployment.status.readyReplicas ?? 0,
        replicaSets: replicaSets
          .filter((set: { metadata: { ownerReferences?: Array<{ name: string }> } }) => set.metadata.ownerReferences?.some((owner) => owner.name === name))
          .map((set: { metadata: { name: string } }) => set.metadata.name)
          .sort(),
      });
    }
    return state;
  }

  const deployed = (outcome: RunResult) =>
    taskLines(outcome, 'deploy-k8s')
      .map((line) => line.replace(/^> nx run (\S+):deploy-k8s.*$/, '$1'))
      .sort();

  beforeAll(() => {
    const kubeconfig = ensureCluster();
    kubectl = kubectlFor(kubeconfig);
    ws = copyWorkspace('deploy-k8s');
    createLibrary(ws, 'packages/dk-shared', { 'src/index.ts': fixture('shared.ts') });
    createLibrary(
      ws,
      'packages/dk-app',
      { 'src/functions.ts': fixture('functions.ts'), 'src/main.ts': fixture('main.ts'), 'src/index.ts': "export * from './functions.js';\n" },
      ['@acme/dk-shared'],
    );
    for (const { fn } of all) nx(ws, ['g', 'turbolift:lift', fn, '--project=@acme/dk-app', '--no-interactive']);
    run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
    // The endpoints file is this machine's state, not source.
    writeFiles(ws, { '.gitignore': `${readFileSync(join(ws, '.gitignore'), 'utf8')}\n.turbolift\n` });
    configureDeploys(
      ws,
      { kubeconfig, namespace, createNamespace: true, registerEndpoint: true },
      { staging: { namespace: environments.staging }, production: { namespace: environments.production } },
    );
    commitAll(ws, 'three lifted functions, deployed to the test cluster');
  }, 10 * 60_000);

  afterAll(() => {
    for (const name of [namespace, ...Object.values(environments)]) kubectl?.(['delete', 'namespace', name, '--ignore-not-found', '--wait=false']);
  });

  it('`nx run-many -t deploy-k8s` deploys all three; kubectl agrees; distributed mode through the ClusterIPs equals local mode', () => {
    const outcome = nx(ws, ['run-many', '-t', 'deploy-k8s', '--parallel=3', '--output-style=static'], { timeoutMs: 10 * 60_000 });
    expect(deployed(outcome)).toEqual(all.map((s) => s.project).sort());

    const ready = readyLines(outcome);
    const state = clusterState();
    for (const { name } of all) {
      expect(kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=30s']).stdout).toMatch(/successfully rolled out/);
      const printed = ready.get(name);
      expect(printed).toBeDefined();
      // What the executor printed is what runs: same content hash, the Service's ClusterIP, one ready pod.
      expect(state.get(name)?.hash.slice(0, 12)).toBe(printed!.hash);
      expect(state.get(name)?.ready).toBe(1);
      expect(state.get(name)?.replicaSets).toHaveLength(1);
      expect(kubectl(['get', 'service', name, '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}']).stdout).toBe(printed!.clusterIP);
    }

    const endpoints = registeredEndpoints(ws);
    for (const { fn, name } of all) expect(endpoints[fn]).toBe(`http://${ready.get(name)!.clusterIP}:80`);

    const app = bundleApp(ws, 'packages/dk-app/src/main.ts', 'dk-app');
    const local = runApp(ws, app, 'local').result;
    expect(JSON.parse(local)).toEqual({ greet: '[hello cluster]', title: '[Three Lifted Functions]', count: 4 });
    const distributed = runApp(ws, app, 'distributed');
    expect(distributed.result).toEqual(local);
    commitAll(ws, 'deployed');
  });

  it('a change to the shared library redeploys exactly the two functions that use it', () => {
    const before = clusterState();
    writeFiles(ws, { 'packages/dk-shared/src/index.ts': fixture('shared.ts').replace('`[${text}]`', '`<${text}>`') });
    const outcome = nx(ws, ['affected', '-t', 'deploy-k8s', '--base=HEAD', '--output-style=static'], { timeoutMs: 10 * 60_000 });
    expect(deployed(outcome)).toEqual([services.greet.project, services.title.project].sort());

    const after = clusterState();
    for (const { name } of [services.greet, services.title]) {
      expect(after.get(name)!.hash).not.toBe(before.get(name)!.hash);
      expect(after.get(name)!.replicaSets).toHaveLength(2);
      expect(after.get(name)!.replicaSets).toEqual(expect.arrayContaining(before.get(name)!.replicaSets));
    }
    expect(after.get(services.count.name)).toEqual(before.get(services.count.name));

    // The redeployed functions answer with the new library code, through the same endpoints file.
    const distributed = JSON.parse(runApp(ws, bundleApp(ws, 'packages/dk-app/src/main.ts', 'dk-app-2'), 'distributed').result);
    expect(distributed).toEqual({ greet: '<hello cluster>', title: '<Three Lifted Functions>', count: 4 });
    commitAll(ws, 'angle brackets');
  });

  it('with nothing changed, `nx affected -t deploy-k8s` runs no task', () => {
    const outcome = nx(ws, ['affected', '-t', 'deploy-k8s', '--base=HEAD', '--output-style=static']);
    expect(taskLines(outcome, 'deploy-k8s')).toEqual([]);
    expect(taskLines(outcome, 'build-image')).toEqual([]);
  });

  it('re-applying the same state writes nothing and makes no new ReplicaSet', () => {
    const before = clusterState();
    const outcome = nx(ws, ['run', `${services.count.project}:deploy-k8s`, '--output-style=static']);
    expect(outcome.output).toContain(`${services.count.name}: unchanged (content hash`);
    expect(outcome.output).toMatch(new RegExp(`Deployment/${services.count.name} unchanged`));
    expect(clusterState()).toEqual(before);
  });

  it('undeploy-k8s removes one service and only its objects', () => {
    const objects = () => kubectl(['get', 'deployments,services,replicasets', '-n', namespace, '-o', 'name']).stdout.split('\n').filter(Boolean).sort();
    const before = objects();
    expect(before.filter((object) => object.includes(services.count.name)).length).toBeGreaterThanOrEqual(3);
    nx(ws, ['run', `${services.count.project}:undeploy-k8s`, '--output-style=static']);
    const after = objects();
    expect(after).toEqual(before.filter((object) => !object.includes(services.count.name)));
    expect(kubectl(['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${services.count.name}`, '-o', 'name']).stdout.trim()).toBe('');
    expect(Object.keys(registeredEndpoints(ws)).sort()).toEqual([services.greet.fn, services.title.fn].sort());
  });

  it('targetDefaults configurations deploy one service to two namespaces, and undeploy with one removes only its own', () => {
    const { project, name } = services.greet;
    const deploymentIn = (ns: string) => kubectl(['get', 'deployments', '-n', ns, '-o', 'name', '--ignore-not-found']).stdout.trim();
    const root = JSON.parse(nx(ws, ['show', 'project', project, '--json']).stdout).root as string;
    const record = () => JSON.parse(readFileSync(join(ws, 'dist', root, 'deploy.json'), 'utf8'));

    nx(ws, ['run', `${project}:deploy-k8s:staging`, '--output-style=static'], { timeoutMs: 5 * 60_000 });
    expect(deploymentIn(environments.staging)).toBe(`deployment.apps/${name}`);
    expect(record()).toMatchObject({
      success: true,
      configuration: 'staging',
      namespace: environments.staging,
      changed: true,
      inClusterUrl: `http://${name}.${environments.staging}.svc:80`,
    });

    nx(ws, ['run-many', '-t', 'deploy-k8s', '-c', 'production', `--projects=${project}`, '--output-style=static'], { timeoutMs: 5 * 60_000 });
    expect(deploymentIn(environments.production)).toBe(`deployment.apps/${name}`);
    expect(record()).toMatchObject({ success: true, configuration: 'production', namespace: environments.production });
    expect(record().image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    nx(ws, ['run', `${project}:undeploy-k8s:staging`, '--output-style=static']);
    expect(deploymentIn(environments.staging)).toBe('');
    expect(kubectl(['rollout', 'status', `deployment/${name}`, '-n', environments.production, '--timeout=60s']).stdout).toMatch(/successfully rolled out/);
    expect(deploymentIn(namespace)).toContain(`deployment.apps/${name}`);
  });
});
