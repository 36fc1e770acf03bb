// The executor's behaviour that needs no cluster: a dry run renders and applies nothing; a missing record is one line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { loadAllYaml } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import deployK8sExecutor from './executor';

const PROJECT = 'compress-all-service';
let workspace: string;
let printed: string[];

const context = () =>
  ({
    root: workspace,
    cwd: workspace,
    projectName: PROJECT,
    isVerbose: false,
    projectsConfigurations: { version: 2, projects: { [PROJECT]: { root: 'apps/compress-all-service' } } },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  }) as unknown as ExecutorContext;

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'turbolift-deploy-'));
  printed = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (printed.push(String(chunk)), true));
  vi.spyOn(console, 'error').mockImplementation((line) => void printed.push(String(line)));
});

afterEach(() => {
  vi.restoreAllMocks();
  rmSync(workspace, { recursive: true, force: true });
});

describe('deploy-k8s executor without a cluster', () => {
  it('prints the manifests as YAML on a dry run, without any kubeconfig', async () => {
    mkdirSync(join(workspace, 'dist/apps/compress-all-service'), { recursive: true });
    writeFileSync(
      join(workspace, 'dist/apps/compress-all-service/image.json'),
      JSON.stringify({ service: PROJECT, image: '127.0.0.1:5000/compress-all-service', tag: 'v1', digest: null }),
    );
    const result = await deployK8sExecutor(
      { dryRun: true, namespace: 'demo', kubeconfig: join(workspace, 'absent'), outputFile: 'tmp/manifests.yaml' },
      context(),
    );
    expect(result.success).toBe(true);
    expect(printed.join('')).toBe(result.yaml);
    expect(readFileSync(join(workspace, 'tmp/manifests.yaml'), 'utf8')).toBe(result.yaml);
    const objects = loadAllYaml(result.yaml!);
    expect(objects.map((object) => `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`)).toEqual([
      'Service/demo/compress-all-service',
      'Deployment/demo/compress-all-service',
    ]);
  });

  it('renders the worker pool and the autoscaler behaviour into the dry-run YAML', async () => {
    mkdirSync(join(workspace, 'dist/apps/compress-all-service'), { recursive: true });
    writeFileSync(join(workspace, 'dist/apps/compress-all-service/image.json'), JSON.stringify({ image: 'r/x', tag: 't', digest: null }));
    const result = await deployK8sExecutor(
      {
        dryRun: true,
        namespace: 'demo',
        kubeconfig: join(workspace, 'absent'),
        resources: { limits: { cpu: '1500m' } },
        callTimeoutMs: 20_000,
        autoscaling: { enabled: true, min: 1, max: 3, scaleDownStabilizationSeconds: 20 },
      },
      context(),
    );
    expect(result.success, result.reason).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const objects = loadAllYaml(result.yaml!) as any[];
    const container = objects.find((object) => object.kind === 'Deployment').spec.template.spec.containers[0];
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'TURBOLIFT_WORKERS', value: '2' },
        { name: 'TURBOLIFT_CALL_TIMEOUT_MS', value: '20000' },
      ]),
    );
    expect(container.env.map((entry: { name: string }) => entry.name)).not.toContain('TURBOLIFT_MAX_QUEUE');
    expect(container.resources.requests.cpu).toBe('1500m');
    expect(objects.find((object) => object.kind === 'HorizontalPodAutoscaler').spec.behavior).toEqual({
      scaleUp: { stabilizationWindowSeconds: 0 },
      scaleDown: { stabilizationWindowSeconds: 20 },
    });
  });

  it('fails with one line telling to run build-image when the image record is missing', async () => {
    const result = await deployK8sExecutor({ dryRun: true }, context());
    expect(result).toEqual({
      success: false,
      reason: `${join(workspace, 'dist/apps/compress-all-service/image.json')} does not exist: run nx run ${PROJECT}:build-image first`,
    });
    expect(printed.some((line) => line.includes('does not exist: run nx run compress-all-service:build-image first'))).toBe(true);
  });

  it('names the kubeconfig that does not exist', async () => {
    mkdirSync(join(workspace, 'dist/apps/compress-all-service'), { recursive: true });
    writeFileSync(join(workspace, 'dist/apps/compress-all-service/image.json'), JSON.stringify({ image: 'r/x', tag: 't', digest: null }));
    const result = await deployK8sExecutor({ kubeconfig: 'nope/kubeconfig' }, context());
    expect(result).toEqual({ success: false, reason: `kubeconfig ${join(workspace, 'nope/kubeconfig')} does not exist` });
  });
});
