import { describe, expect, it } from 'vitest';
import { formatProgressEvent, summarizeBuild, summarizePush, type ProgressEvent } from './progress';

// Recorded from dockerd 20.10 (legacy builder) through dockerode's followProgress.
const buildOk: ProgressEvent[] = [
  { stream: 'Step 1/3 : FROM turbolift-test/node:20' },
  { stream: '\n' },
  { stream: ' ---> ca99743603c1\n' },
  { stream: 'Step 2/3 : WORKDIR /app' },
  { stream: '\n' },
  { stream: ' ---> Running in 829240015e7f\n' },
  { stream: 'Removing intermediate container 829240015e7f\n' },
  { stream: ' ---> 2605d20d2994\n' },
  { stream: 'Step 3/3 : COPY bundle/ ./' },
  { stream: '\n' },
  { stream: ' ---> c27866feeb81\n' },
  { aux: { ID: 'sha256:c27866feeb8122078bfd08666f0c1d42e2266d2dedfdcb4c08f34305709788b2' } },
  { stream: 'Successfully built c27866feeb81\n' },
  { stream: 'Successfully tagged 127.0.0.1:5000/rec:one\n' },
];
const buildCopyFail: ProgressEvent[] = [
  { stream: 'Step 1/2 : FROM turbolift-test/node:20' },
  { stream: '\n' },
  { stream: ' ---> ca99743603c1\n' },
  { stream: 'Step 2/2 : COPY nothing-here /x' },
  { stream: '\n' },
  {
    errorDetail: { message: 'COPY failed: file not found in build context or excluded by .dockerignore: stat nothing-here: file does not exist' },
    error: 'COPY failed: file not found in build context or excluded by .dockerignore: stat nothing-here: file does not exist',
  },
];
const digest = 'sha256:5ed00010fbc3bd20f0d98b1f5abd6bbeda41f2870822ecc790c58d9385ddbb78';
const push: ProgressEvent[] = [
  { status: 'The push refers to repository [127.0.0.1:5000/rec]' },
  { status: 'Preparing', progressDetail: {}, id: '2b874c796a16' },
  { status: 'Mounted from turbolift-test/node', progressDetail: {}, id: 'e7f1acbcd40c' },
  { status: 'Pushing', progressDetail: { current: 512, total: 15 }, progress: '[=====>]  512B', id: '2b874c796a16' },
  { status: 'Pushed', progressDetail: {}, id: '2b874c796a16' },
  { status: `one: digest: ${digest} size: 736` },
  { progressDetail: {}, aux: { Tag: 'one', Digest: digest, Size: 736 } },
];
const pushRefused: ProgressEvent[] = [
  { status: 'The push refers to repository [127.0.0.1:1/rec]' },
  {
    errorDetail: { message: 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused' },
    error: 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
  },
];

describe('progress formatting', () => {
  it('turns a build stream into step and layer lines, without blank lines', () => {
    const lines = buildOk.flatMap(formatProgressEvent);
    expect(lines.slice(0, 5)).toEqual([
      'Step 1/3 : FROM turbolift-test/node:20',
      ' ---> ca99743603c1',
      'Step 2/3 : WORKDIR /app',
      ' ---> 2605d20d2994',
      'Step 3/3 : COPY bundle/ ./',
    ]);
    expect(lines).toContain('Successfully tagged 127.0.0.1:5000/rec:one');
    expect(lines.every((line) => line.trim() !== '')).toBe(true);
  });

  it('shows push status changes and the digest but not every chunk', () => {
    const lines = push.flatMap(formatProgressEvent);
    expect(lines).toEqual([
      'The push refers to repository [127.0.0.1:5000/rec]',
      'e7f1acbcd40c: Mounted from turbolift-test/node',
      '2b874c796a16: Pushed',
      `one: digest: ${digest} size: 736`,
      `pushed one ${digest}`,
    ]);
  });

  it('prints errors as error lines', () => {
    expect(formatProgressEvent(pushRefused[1])).toEqual(['error: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused']);
  });
});

describe('summaries', () => {
  it('finds the built image id', () => {
    expect(summarizeBuild(buildOk)).toEqual({ imageId: 'sha256:c27866feeb8122078bfd08666f0c1d42e2266d2dedfdcb4c08f34305709788b2' });
  });

  it('names the step that failed and the engine message', () => {
    expect(summarizeBuild(buildCopyFail)).toEqual({
      failedStep: 'Step 2/2 : COPY nothing-here /x',
      error: 'COPY failed: file not found in build context or excluded by .dockerignore: stat nothing-here: file does not exist',
    });
  });

  it('takes the pushed digest from the aux object, or from the status line of older engines', () => {
    expect(summarizePush(push)).toEqual({ digest });
    expect(summarizePush(push.filter((event) => !event.aux))).toEqual({ digest });
    expect(summarizePush(pushRefused).error).toContain('connection refused');
  });
});
