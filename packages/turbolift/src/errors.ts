/**
 * The plugin's one error family. Every failure a user can act on is a `TurboliftError` with a code from
 * `ERROR_CODES` and a one-line message that names the file, option, object or pod that is wrong; executors
 * print it without a stack. Anything else is a crash and shows its stack under `TURBOLIFT_DEBUG`.
 * A code keeps one meaning: a new kind of failure gets a new code here, with the sentence that defines it.
 */
export const ERROR_CODES = {
  TL_NOT_A_PROJECT_TARGET: 'an executor ran without a project to run for',
  TL_BAD_MARKER: "a service project's turbolift.json is missing a field or holds a wrong one",
  TL_NOT_A_SERVICE: 'an executor that runs lifted services ran for a project without turbolift.json',
  TL_BAD_OPTIONS: "an executor's options are out of range or contradict each other",
  TL_LIFT_REFUSED: 'the lift generator cannot lift the function it was asked to, and changed nothing',
  TL_SYNC_CALLERS:
    'the lift generator found uses of the function that cannot be made to await its result (calls in synchronous code, uses as a value), and changed nothing',
  TL_BUNDLE_ENTRY_MISSING: "the service's entry file does not exist",
  TL_BUNDLE_FAILED: 'esbuild could not bundle the service',
  TL_BUNDLE_MISSING: 'a step needs the bundle, and the build target has not made it',
  TL_DOCKERFILE_MISSING: 'the Dockerfile named in the options does not exist',
  TL_DOCKER_NO_ENGINE: 'no Docker engine answers at DOCKER_HOST',
  TL_DOCKER_BUILD_FAILED: 'the engine could not build the image',
  TL_DOCKER_PUSH_FAILED: 'the engine could not push the image',
  TL_DOCKER_ENGINE_FAILED: 'the engine refused a request other than build or push (inspect, list, remove)',
  TL_REGISTRY_UNREACHABLE: 'the image registry does not answer',
  TL_REGISTRY_REFUSED: 'the image registry refused the credentials',
  TL_IMAGE_RECORD_MISSING: 'deploy needs the image record, and build-image has not written it',
  TL_IMAGE_RECORD_INVALID: 'the image record is not what build-image writes',
  TL_KUBECONFIG: 'the kubeconfig, its context or its namespace cannot be used',
  TL_APPLY_FAILED: 'the API server refused an object',
  TL_CLUSTER_CREDENTIALS: "the cluster refused the kubeconfig user's credentials, or they could not be obtained (expired token, failing exec plugin)",
  TL_PULL_SECRET_NO_CREDENTIALS: "createPullSecret is set and the Docker config holds no credentials for the image's registry that the kubelet can pull with",
  TL_PATCH_REFUSED: 'a patch cannot be applied to the rendered objects, or would change what turbolift relies on (selector, probes)',
  TL_PORT_IN_USE: 'the port a local service should listen on is taken',
  TL_SERVICE_EXITED: 'a local service process ended before it was ready',
  TL_NOT_READY: 'a local service did not answer its readiness probe in time',
} as const;

export type TurboliftErrorCode = keyof typeof ERROR_CODES;

/** How an options check reports a bad option: the caller's function names the executor and throws. */
export type Fail = (message: string) => never;

export class TurboliftError<Code extends TurboliftErrorCode = TurboliftErrorCode> extends Error {
  override name = 'TurboliftError';
  constructor(
    readonly code: Code,
    message: string,
    /** The engine's or server's own words, when the message wraps them. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

export function isTurboliftError(error: unknown): error is TurboliftError {
  return error instanceof TurboliftError;
}

/** Keeps a tool's multi-line message to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * The line a user sees for a failure: the message of a `TurboliftError`; for anything else the message,
 * or the stack under `TURBOLIFT_DEBUG`. `describeForeign` turns a library's error (client-node's carry a
 * whole HTTP response) into one line.
 */
export function describeFailure(error: unknown, describeForeign: (error: unknown) => string = messageOf): string {
  if (isTurboliftError(error)) return error.message;
  if (process.env.TURBOLIFT_DEBUG && error instanceof Error && error.stack) return error.stack;
  return describeForeign(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
