/**
 * The deploy record, `dist/<root>/deploy.json`: what the CI steps after a deploy need (where it went, what runs,
 * where it answers, whether anything changed), so that none of them has to ask the cluster or parse the log.
 * Written after every real deploy, the failed ones too (with the reason), so a record never describes an
 * earlier deploy than the last one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DeployServiceResult } from './deploy';
import type { ClusterTarget } from './kubeconfig';
import { imageReference } from './manifests';
import { inClusterUrl } from './service-endpoint';
import type { ServiceDeploySpec } from './types';

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
  configuration?: string;
  target: Pick<ClusterTarget, 'context' | 'server'>;
  spec: Pick<ServiceDeploySpec, 'name' | 'namespace' | 'image'>;
  deployed: Pick<DeployServiceResult, 'success' | 'reason' | 'contentHash' | 'outcomes' | 'revision' | 'rolledBack' | 'endpoint'>;
}

/** Pure: the record of one deploy. */
export function deployRecord({ project, configuration, target, spec, deployed }: DeployFacts, finishedAt = new Date()): DeployRecord {
  const { image } = spec;
  return {
    version: DEPLOY_RECORD_VERSION,
    success: deployed.success,
    ...(deployed.reason ? { reason: deployed.reason } : {}),
    project,
    name: spec.name,
    ...(configuration ? { configuration } : {}),
    context: target.context,
    server: target.server,
    namespace: spec.namespace,
    objects: deployed.outcomes.map(({ kind, name, action }) => ({ kind, name, action })),
    image: { reference: imageReference(image), repository: image.image, tag: image.tag, digest: image.digest },
    contentHash: deployed.contentHash,
    ...(deployed.revision ? { revision: deployed.revision } : {}),
    inClusterUrl: deployed.endpoint?.inClusterUrl ?? inClusterUrl(spec.name, spec.namespace),
    ...(deployed.endpoint?.clusterIpUrl ? { clusterIpUrl: deployed.endpoint.clusterIpUrl } : {}),
    changed: deployed.outcomes.some((object) => object.action !== 'unchanged'),
    ...(deployed.rolledBack ? { rolledBack: true } : {}),
    finishedAt: finishedAt.toISOString(),
  };
}

export function writeDeployRecord(file: string, record: DeployRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}
