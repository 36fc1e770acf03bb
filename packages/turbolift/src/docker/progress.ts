/**
 * The engine's build and push endpoints answer with a stream of JSON objects. These pure functions turn
 * them into lines a person can read and into the few facts the executor needs (image id, digest, error).
 */
export interface ProgressEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/** Push/pull statuses that repeat for every chunk: printing them would bury the useful lines. */
const NOISY_STATUSES = new Set(['Pushing', 'Downloading', 'Extracting', 'Waiting', 'Preparing', 'Verifying Checksum']);

/** Legacy-builder chatter about the throwaway containers behind each step. */
const NOISY_BUILD_LINE = /^( ---> Running in [0-9a-f]+|Removing intermediate container [0-9a-f]+)$/;

/** Readable lines for one event (possibly none). */
export function formatProgressEvent(event: ProgressEvent): string[] {
  const error = eventError(event);
  if (error) return [`error: ${error}`];
  if (typeof event.stream === 'string') {
    return event.stream
      .split('\n')
      .map((line) => line.replace(/\s+$/, ''))
      .filter((line) => line.trim() !== '' && !NOISY_BUILD_LINE.test(line));
  }
  if (event.status) {
    if (NOISY_STATUSES.has(event.status)) return [];
    return [event.id ? `${event.id}: ${event.status}` : event.status];
  }
  if (event.aux?.Digest) return [`pushed ${event.aux.Tag ?? ''} ${event.aux.Digest}`.replace(/\s+/g, ' ')];
  if (event.aux?.ID) return [`image ${event.aux.ID}`];
  return [];
}

export function eventError(event: ProgressEvent): string | undefined {
  const message = event.errorDetail?.message ?? event.error;
  return message ? message.trim() : undefined;
}

export interface BuildOutcome {
  imageId?: string;
  /** e.g. `Step 5/8 : RUN npm install --omit=dev`: the step that was running when the build failed. */
  failedStep?: string;
  error?: string;
}

const STEP = /^Step \d+\/\d+ : .*/;

export function summarizeBuild(events: readonly ProgressEvent[]): BuildOutcome {
  let lastStep: string | undefined;
  let imageId: string | undefined;
  for (const event of events) {
    const error = eventError(event);
    if (error) return { failedStep: lastStep, error };
    for (const line of typeof event.stream === 'string' ? event.stream.split('\n') : []) {
      const step = STEP.exec(line.trim());
      if (step) lastStep = step[0];
      const built = /^Successfully built ([0-9a-f]+)/.exec(line.trim());
      if (built && !imageId) imageId = built[1];
    }
    if (event.aux?.ID) imageId = event.aux.ID;
  }
  return { imageId };
}

export interface PushOutcome {
  digest?: string;
  error?: string;
}

export function summarizePush(events: readonly ProgressEvent[]): PushOutcome {
  let digest: string | undefined;
  for (const event of events) {
    const error = eventError(event);
    if (error) return { error };
    if (event.aux?.Digest) digest = event.aux.Digest;
    // Older engines only say it in a status line: "<tag>: digest: sha256:… size: 528".
    const fromStatus = event.status && /digest: (sha256:[0-9a-f]{64})/.exec(event.status);
    if (!digest && fromStatus) digest = fromStatus[1];
  }
  return { digest };
}
