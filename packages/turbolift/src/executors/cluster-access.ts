import { checkClusterAccess, credentialFailureOf, type ClusterTarget } from '../kubernetes';

/**
 * The cluster part of deploy-k8s and undeploy-k8s: first one authenticated call, so that a refused or
 * unobtainable credential fails before anything changes; a 401 later on (a token that expired mid-run) is
 * reported the same way, naming the context and the user.
 */
export async function withClusterAccess<Result>(target: ClusterTarget, body: () => Promise<Result>): Promise<Result> {
  try {
    await checkClusterAccess(target);
    return await body();
  } catch (error) {
    throw credentialFailureOf(target, error) ?? error;
  }
}

/** A failed result's reason, or the credential failure it really is. */
export function explainReason(target: ClusterTarget, reason: string | undefined): string | undefined {
  return reason === undefined ? undefined : (credentialFailureOf(target, reason)?.message ?? reason);
}
