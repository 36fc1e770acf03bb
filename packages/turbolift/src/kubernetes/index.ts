// The Kubernetes platform: pure manifest rendering, credential check, server-side apply, rollout observation, rollback, removal.
export type { AutoscalingSettings, ImageRecord, KubernetesManifest, ResourceSettings, ServiceDeploySpec } from './types';
export { CONTENT_HASH_ANNOTATION, FIELD_MANAGER, LABEL, managedObjectsSelector, toDnsLabel } from './labels';
export { imageReference, renderManifests, type RenderedManifests } from './manifests';
export { renderYaml } from './yaml';
export { renderDryRun, type DryRunResult } from './dry-run';
export { loadClusterTarget, type ClusterSelection, type ClusterTarget } from './kubeconfig';
export { ApplyError, type ApplyOutcome } from './apply';
export { deployService, type DeployServiceResult } from './deploy';
export { deployRecord, writeDeployRecord, type DeployRecord } from './deploy-record';
export { checkClusterAccess, credentialFailureOf, type ClusterAccess } from './credentials';
export { waitForRollout, type RolloutResult } from './rollout';
export { undeployService, type UndeployResult } from './undeploy';
export { inClusterUrl, readServiceEndpoint, waitUntilAnswers, type ServiceEndpoint } from './service-endpoint';
export { deployedContentHash } from './deployed-state';
export { describeApiError } from './api-errors';
