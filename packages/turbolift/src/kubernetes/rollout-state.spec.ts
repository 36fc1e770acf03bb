import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describeWaiting, diagnosePod, findNewReplicaSet, mostTelling, podsOfReplicaSet, rolloutProgress } from './rollout-state';

function deployment(overrides: { generation?: number; replicas?: number; status?: V1Deployment['status']; revision?: string } = {}): V1Deployment {
  return {
    metadata: {
      name: 'svc',
      uid: 'd-1',
      generation: overrides.generation ?? 2,
      annotations: { 'deployment.kubernetes.io/revision': overrides.revision ?? '2' },
    },
    spec: { replicas: overrides.replicas ?? 2, selector: {}, template: {} },
    status: overrides.status,
  } as V1Deployment;
}

function replicaSet(name: string, revision: string, hash: string, available = 0): V1ReplicaSet {
  return {
    metadata: {
      name,
      uid: `rs-${name}`,
      labels: { 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': revision },
      ownerReferences: [{ uid: 'd-1', apiVersion: 'apps/v1', kind: 'Deployment', name: 'svc' }],
    },
    status: { replicas: available, availableReplicas: available },
  } as V1ReplicaSet;
}

function pod(name: string, owner: string, status: V1Pod['status']): V1Pod {
  return { metadata: { name, ownerReferences: [{ uid: `rs-${owner}`, apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner }] }, status } as V1Pod;
}

describe('rolloutProgress', () => {
  it('is not done until the controller has observed the latest generation', () => {
    const progress = rolloutProgress(deployment({ status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 } }));
    expect(progress.done).toBe(false);
  });

  it('is not done while old replicas remain, even with every new one available', () => {
    const status = { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 };
    expect(rolloutProgress(deployment({ status })).done).toBe(false);
  });

  it('is done when every replica is updated and available and none is old', () => {
    const status = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };
    expect(rolloutProgress(deployment({ status }))).toEqual({ done: true, ready: 2, desired: 2, failure: undefined });
  });

  it('counts ready pods of the new ReplicaSet only', () => {
    const status = { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 };
    expect(rolloutProgress(deployment({ status }), replicaSet('new', '2', 'b', 1)).ready).toBe(1);
  });

  it('reports ProgressDeadlineExceeded and ReplicaFailure as failures', () => {
    const stalled = rolloutProgress(
      deployment({
        status: {
          observedGeneration: 2,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "svc-b" has timed out progressing.' }],
        },
      }),
    );
    expect(stalled.failure).toBe('ProgressDeadlineExceeded: ReplicaSet "svc-b" has timed out progressing.');
    const refused = rolloutProgress(
      deployment({
        status: {
          observedGeneration: 2,
          conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "svc-b-" is forbidden:\n quota' }],
        },
      }),
    );
    expect(refused.failure).toBe('FailedCreate: pods "svc-b-" is forbidden: quota');
  });
});

describe('findNewReplicaSet / podsOfReplicaSet', () => {
  it('finds the ReplicaSet of the current revision and its pods', () => {
    const sets = [replicaSet('svc-a', '1', 'a'), replicaSet('svc-b', '2', 'b')];
    const found = findNewReplicaSet(deployment(), sets);
    expect(found?.metadata?.name).toBe('svc-b');
    const pods = [pod('svc-a-1', 'svc-a', {}), pod('svc-b-1', 'svc-b', {})];
    expect(podsOfReplicaSet(found!, pods).map((p) => p.metadata?.name)).toEqual(['svc-b-1']);
  });
});

describe('diagnosePod', () => {
  it('calls CrashLoopBackOff definitive, with the exit code and restarts', () => {
    const problem = diagnosePod(
      pod('p', 'rs', {
        containerStatuses: [
          {
            name: 'svc',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 2,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' } },
            lastState: { terminated: { exitCode: 3, reason: 'Error' } },
          },
        ],
      }),
    );
    expect(problem).toEqual({ pod: 'p', severity: 'definitive', reason: 'CrashLoopBackOff: container svc exited with code 3 (Error), restarted 2 times' });
  });

  it('calls pull failures "pull" (definitive only after a grace) with the runtime message', () => {
    const problem = diagnosePod(
      pod('p', 'rs', {
        containerStatuses: [
          {
            name: 'svc',
            image: 'r/x:t',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "r/x:t"' } },
          },
        ],
      }),
    );
    expect(problem).toEqual({ pod: 'p', severity: 'pull', reason: 'ImagePullBackOff: Back-off pulling image "r/x:t"' });
  });

  it("keeps a refused pull's registry answer, on one line, from the kubelet's back-off message", () => {
    const image = '127.0.0.1:5001/team/svc@sha256:abc';
    // The kubelet appends the last pull error to its back-off message; the runtime's text may span lines.
    const message =
      `Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": failed to resolve reference "${image}":\n` +
      '  pulling from host 127.0.0.1:5001 failed with status code [manifests sha256:abc]: 401 Unauthorized\n';
    const problem = diagnosePod(
      pod('p', 'rs', {
        containerStatuses: [{ name: 'svc', image, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message } } }],
      }),
    );
    expect(problem?.severity).toBe('pull');
    expect(problem?.reason).toBe(
      `ImagePullBackOff: Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": ` +
        `failed to resolve reference "${image}": pulling from host 127.0.0.1:5001 failed with status code [manifests sha256:abc]: 401 Unauthorized`,
    );
  });

  it('says a running pod that is not ready fails its readiness probe, and that it is still pending', () => {
    const problem = diagnosePod(
      pod('p', 'rs', {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [{ name: 'svc', image: 'i', imageID: '', ready: false, restartCount: 0, state: { running: {} } }],
      }),
    );
    expect(problem).toEqual({ pod: 'p', severity: 'pending', reason: 'running but not ready (readiness probe not passing)' });
  });

  it('explains an unschedulable pod', () => {
    const problem = diagnosePod(
      pod('p', 'rs', {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }],
      }),
    );
    expect(problem).toEqual({ pod: 'p', severity: 'pending', reason: 'Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.' });
  });

  it('finds nothing wrong with a ready pod, and ranks definitive problems first', () => {
    const ready = pod('p', 'rs', {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'svc', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }],
    });
    expect(diagnosePod(ready)).toBeUndefined();
    expect(
      mostTelling([
        { pod: 'a', severity: 'pending', reason: 'x' },
        { pod: 'b', severity: 'definitive', reason: 'y' },
        { pod: 'c', severity: 'pull', reason: 'z' },
      ])?.pod,
    ).toBe('b');
  });
});

describe('describeWaiting', () => {
  it('says what a stuck rollout without pod problems waits for', () => {
    expect(describeWaiting(undefined, undefined)).toBe('the Deployment was never seen');
    expect(describeWaiting(deployment({ status: { observedGeneration: 1 } }), undefined)).toBe('the controller has not observed generation 2 yet');
    expect(describeWaiting(deployment({ status: { observedGeneration: 2 } }), undefined)).toBe('the controller has not created the new ReplicaSet');
    const status = { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 };
    expect(describeWaiting(deployment({ status }), replicaSet('new', '2', 'b', 2))).toBe('1 old replica still running');
  });
});
