// Keeps a live copy of the objects a selector matches: the list+watch loop of a controller, in a few lines.
import { KubeConfig, KubernetesObjectApi, Watch } from '@kubernetes/client-node';
import { describeApiError, httpStatusOf, withTimeout } from './api-errors';

export interface ObservedKind {
  apiVersion: string;
  kind: string;
  /** Collection path for the watch, e.g. `/apis/apps/v1/namespaces/x/deployments`. */
  path: string;
  namespace: string;
}

export interface ObserveOptions extends ObservedKind {
  labelSelector?: string;
  fieldSelector?: string;
  /** Called after the first list and after every change, with the current objects by name. */
  onChange: (objects: ReadonlyMap<string, unknown>) => void;
  /** Called once when listing/watching keeps failing; observation has stopped then. */
  onError: (message: string) => void;
  /** Server-side bound on one watch request (default 60 s); the loop then reconnects. */
  watchTimeoutSeconds?: number;
}

export interface Observation {
  stop(): void;
}

const MAX_CONSECUTIVE_FAILURES = 5;
const DEFAULT_WATCH_TIMEOUT_SECONDS = 60;
const LIST_TIMEOUT_MS = 30_000;

interface WatchedObject {
  metadata?: { name?: string; resourceVersion?: string };
  code?: number;
}

/**
 * Lists, reports, then watches from the list's resourceVersion; reconnects from the last seen resourceVersion when
 * the server ends a watch and lists afresh on 410 Gone. Gives up after a few failures in a row.
 */
export function observe(kubeConfig: KubeConfig, options: ObserveOptions): Observation {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const watch = new Watch(kubeConfig);
  let objects = new Map<string, unknown>();
  let resourceVersion: string | undefined;
  let controller: AbortController | undefined;
  let stopped = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const failed = (error: unknown) => {
    if (stopped) return;
    if (httpStatusOf(error) === 410) resourceVersion = undefined;
    failures += 1;
    if (failures >= MAX_CONSECUTIVE_FAILURES) {
      stopped = true;
      options.onError(`watching ${options.kind} in ${options.namespace} failed ${failures} times: ${describeApiError(error)}`);
      return;
    }
    // Back off a little so that a refusing server is not hammered.
    retryTimer = setTimeout(() => void connect(), 250 * failures);
  };

  const onEvent = (phase: string, object: WatchedObject) => {
    if (stopped) return;
    if (phase === 'ERROR') {
      // 410: our resourceVersion is too old; the next connect lists afresh.
      if (object.code === 410) resourceVersion = undefined;
      return;
    }
    failures = 0;
    if (object.metadata?.resourceVersion) resourceVersion = object.metadata.resourceVersion;
    if (phase === 'BOOKMARK') return;
    const name = object.metadata?.name ?? '';
    if (phase === 'DELETED') objects.delete(name);
    else objects.set(name, object);
    options.onChange(objects);
  };

  const onDone = (error: unknown) => {
    controller = undefined;
    if (stopped) return;
    if (error) return failed(error);
    retryTimer = setTimeout(() => void connect(), 0);
  };

  const connect = async () => {
    retryTimer = undefined;
    if (stopped) return;
    try {
      if (resourceVersion === undefined) {
        const list = await withTimeout(
          client.list(options.apiVersion, options.kind, options.namespace, undefined, undefined, undefined, options.fieldSelector, options.labelSelector),
          LIST_TIMEOUT_MS,
          `list ${options.kind} in ${options.namespace}`,
        );
        if (stopped) return;
        objects = new Map(list.items.map((item) => [item.metadata?.name ?? '', item as unknown]));
        resourceVersion = list.metadata?.resourceVersion ?? '';
        options.onChange(objects);
      }
      const query = {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS,
      };
      const abort = await watch.watch(options.path, query, onEvent, onDone);
      if (stopped) abort.abort();
      else controller = abort;
    } catch (error) {
      failed(error);
    }
  };

  void connect();
  return {
    stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      controller?.abort();
    },
  };
}
