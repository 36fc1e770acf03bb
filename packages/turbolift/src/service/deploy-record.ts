/**
 * The deploy record, `dist/<root>/deploy.json`: what the CI steps after a deploy need (where it went, what runs,
 * where it answers, whether anything changed), so that none of them has to ask the cluster or parse the log.
 * Written after every real deploy, the failed ones too (with the reason), so a record never describes an
 * earlier deploy than the last one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DeployableImage } from './image-record';

export const DEPLOY_RECORD_VERSION = 1;

export interface DeployedObject {
  kind: string;
  name: string;
  /** What this deploy did to it. */
  action: 'created' | 'configured' | 'unchanged' | 'pruned';
}

export interface DeployRecord {
  version: typeof DEPLOY_RECORD_VERSION;
  success: boolean;
  /** One line, when success is false. */
  reason?: string;
  /** The Nx project and the Deployment/Service name. */
  project: string;
  name: string;
  /** The Nx configuration the target ran with (e.g. `staging`), when there was one. */
  configuration?: string;
  context: string;
  server: string;
  namespace: string;
  objects: DeployedObject[];
  image: { reference: string; repository: string; tag: string; digest: string | null };
  /** The `turbolift.dev/content-hash` of the desired state. */
  contentHash: string;
  /** The Deployment's `deployment.kubernetes.io/revision` once rolled out. */
  revision?: string;
  /** `http://<name>.<namespace>.svc:80`, what the stub calls inside the cluster. */
  inClusterUrl: string;
  /** `http://<ClusterIP>:80`, when the Service has one. */
  clusterIpUrl?: string;
  /** Something was created, configured or pruned: false for a deploy that found everything applied. */
  changed: boolean;
  /** An atomic deploy failed and put back what ran before. */
  rolledBack?: boolean;
  /** ISO time the deploy finished. */
  finishedAt: string;
}

export interface DeployFacts {
  project: string;
  name: string;
  configuration?: string;
  context: string;
  server: string;
  namespace: string;
  image: DeployableImage;
  imageReference: string;
  success: boolean;
  reason?: string;
  contentHash: string;
  objects: readonly DeployedObject[];
  revision?: string;
  inClusterUrl: string;
  clusterIpUrl?: string;
  rolledBack?: boolean;
}

/** Pure: the record of one deploy. */
export function deployRecord(facts: DeployFacts, finishedAt = new Date()): DeployRecord {
  return {
    version: DEPLOY_RECORD_VERSION,
    success: facts.success,
    ...(facts.reason ? { reason: facts.reason } : {}),
    project: facts.project,
    name: facts.name,
    ...(facts.configuration ? { configuration: facts.configuration } : {}),
    context: facts.context,
    server: facts.server,
    namespace: facts.namespace,
    objects: facts.objects.map(({ kind, name, action }) => ({ kind, name, action })),
    image: { reference: facts.imageReference, repository: facts.image.image, tag: facts.image.tag, digest: facts.image.digest },
    contentHash: facts.contentHash,
    ...(facts.revision ? { revision: facts.revision } : {}),
    inClusterUrl: facts.inClusterUrl,
    ...(facts.clusterIpUrl ? { clusterIpUrl: facts.clusterIpUrl } : {}),
    changed: facts.objects.some((object) => object.action !== 'unchanged'),
    ...(facts.rolledBack ? { rolledBack: true } : {}),
    finishedAt: finishedAt.toISOString(),
  };
}

export function writeDeployRecord(file: string, record: DeployRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}
