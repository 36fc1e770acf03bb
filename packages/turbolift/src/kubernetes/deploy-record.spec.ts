import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployRecord, writeDeployRecord, type DeployFacts } from './deploy-record';

const DIGEST = `sha256:${'cd'.repeat(32)}`;
const objects = [
  { kind: 'Service', name: 'compress-all-service', action: 'unchanged' as const },
  { kind: 'Deployment', name: 'compress-all-service', action: 'configured' as const },
];
const reference = `127.0.0.1:5000/compress-all-service@${DIGEST}`;
const facts: DeployFacts = {
  project: '@acme/compress-all-service',
  configuration: 'staging',
  target: { context: 'stage', server: 'https://127.0.0.1:6443' },
  spec: {
    name: 'compress-all-service',
    namespace: 'team-a',
    image: { service: 'compress-all-service', image: '127.0.0.1:5000/compress-all-service', tag: 'abc123', digest: DIGEST },
  },
  deployed: {
    success: true,
    contentHash: 'f'.repeat(64),
    outcomes: objects,
    revision: '3',
    endpoint: { clusterIP: '10.96.0.12', clusterIpUrl: 'http://10.96.0.12:80', inClusterUrl: 'http://compress-all-service.team-a.svc:80' },
  },
};

describe('deployRecord', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('says where it went, what runs, where it answers and that something changed', () => {
    const record = deployRecord(facts, new Date('2026-12-01T10:00:00Z'));
    expect(record).toEqual({
      version: 1,
      success: true,
      project: '@acme/compress-all-service',
      name: 'compress-all-service',
      configuration: 'staging',
      context: 'stage',
      server: 'https://127.0.0.1:6443',
      namespace: 'team-a',
      objects,
      image: { reference, repository: '127.0.0.1:5000/compress-all-service', tag: 'abc123', digest: DIGEST },
      contentHash: 'f'.repeat(64),
      revision: '3',
      inClusterUrl: 'http://compress-all-service.team-a.svc:80',
      clusterIpUrl: 'http://10.96.0.12:80',
      changed: true,
      finishedAt: '2026-12-01T10:00:00.000Z',
    });
  });

  it('is unchanged when every object was, and keeps the reason and the rollback of a failed deploy', () => {
    const unchanged = deployRecord({
      ...facts,
      deployed: { ...facts.deployed, outcomes: objects.map((object) => ({ ...object, action: 'unchanged' as const })) },
    });
    expect(unchanged.changed).toBe(false);
    const deployed = {
      ...facts.deployed,
      success: false,
      reason: 'compress-all-service: rollout failed',
      rolledBack: true,
      revision: undefined,
      endpoint: undefined,
    };
    const failed = deployRecord({ ...facts, deployed });
    expect(failed).toMatchObject({ success: false, reason: 'compress-all-service: rollout failed', rolledBack: true });
    expect(failed).not.toHaveProperty('revision');
    // Without a Service read back, the URL the stub calls inside the cluster is still known.
    expect(failed.inClusterUrl).toBe('http://compress-all-service.team-a.svc:80');
  });

  it('is written as JSON, making its folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-record-'));
    dirs.push(dir);
    const file = join(dir, 'dist/apps/svc/deploy.json');
    const record = deployRecord(facts);
    writeDeployRecord(file, record);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(record);
  });
});
