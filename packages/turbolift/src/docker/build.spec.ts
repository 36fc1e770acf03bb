/**
 * The rules of `buildServiceImage`, run in milliseconds. `FakeEngine` below is a fake: it stands for the
 * Docker engine only, so these rules run without one, and it records every call so the tests can say what
 * the build asked of it. `fakeRegistry` likewise stands for the registry where a rule pushes. Everything
 * else is real: the bundle is a folder on disk, the options go through `normalizeBuildImageOptions`, the
 * build context and content tag are computed, the image record is written and read back. The real engine
 * and registry are tested in `src/executors/build-image/executor.spec.ts`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeBuildImageOptions } from '../executors/build-image/normalize-options';
import type { BuildImageExecutorOptions } from '../executors/build-image/schema';
import type { ImageRecord } from '../service/image-record';
import { buildServiceImage } from './build';
import type { RegistryAuth } from './docker-config';
import { SERVICE_LABEL, type BuildRequest, type ImageEngine, type ImageInfo } from './engine';
import { ImageError } from './errors';
import type { ManifestState, RegistryClient } from './registry';

const SERVICE = '@acme/greet-service';
const ROOT = 'apps/lifted/greet-service';
const REGISTRY = '127.0.0.1:5999';

/** A stand-in for the Docker engine: images in memory, every call recorded as one line. */
class FakeEngine implements ImageEngine {
  readonly calls: string[] = [];
  readonly pushAuths: Array<RegistryAuth | undefined> = [];
  readonly images: ImageInfo[] = [];
  /** What a push does: return a digest, or throw. */
  pushOutcome: (repository: string, tag: string) => string = () => `sha256:${'d'.repeat(64)}`;
  /** When set, a build gives back this image (the engine's layer cache returning an image it already has). */
  reuseImageId?: string;
  private clock = 1000;

  async ping(): Promise<void> {
    this.calls.push('ping');
  }

  async build(request: BuildRequest): Promise<string> {
    this.calls.push(`build ${request.tags.join(' ')}`);
    // A reference names one image: tagging this one takes the tags from any other.
    for (const other of this.images) other.repoTags = other.repoTags.filter((tag) => !request.tags.includes(tag));
    const reused = this.images.find((image) => image.id === this.reuseImageId);
    if (reused) {
      reused.repoTags.push(...request.tags);
      return reused.id;
    }
    const created = ++this.clock;
    this.images.push({ id: fakeId(created), size: 5_000_000 + created, created, repoTags: [...request.tags], labels: { ...request.labels } });
    return fakeId(created);
  }

  async inspectImage(reference: string): Promise<ImageInfo | null> {
    this.calls.push(`inspect ${reference}`);
    const image = this.find(reference);
    return image ? { ...image, repoTags: [...image.repoTags] } : null;
  }

  async push(repository: string, tag: string, auth: RegistryAuth | undefined): Promise<string | null> {
    this.calls.push(`push ${repository}:${tag}`);
    this.pushAuths.push(auth);
    return this.pushOutcome(repository, tag);
  }

  async listServiceImages(service: string): Promise<ImageInfo[]> {
    this.calls.push(`list ${service}`);
    return this.images.filter((image) => image.labels[SERVICE_LABEL] === service).sort((a, b) => b.created - a.created);
  }

  async removeImage(reference: string): Promise<void> {
    this.calls.push(`remove ${reference}`);
    const image = this.find(reference);
    if (image) this.images.splice(this.images.indexOf(image), 1);
  }

  /** An image of the service built by an earlier run, `created` as the engine reports it. */
  seed(created: number, service = SERVICE): string {
    this.images.push({ id: fakeId(created), size: 1, created, repoTags: [`acme/greet-service:old-${created}`], labels: { [SERVICE_LABEL]: service } });
    return fakeId(created);
  }

  /** The image is removed behind the build's back (`docker rmi`). */
  forget(reference: string): void {
    const image = this.find(reference);
    if (!image) throw new Error(`the fake engine has no image ${reference}`);
    this.images.splice(this.images.indexOf(image), 1);
  }

  private find(reference: string): ImageInfo | undefined {
    return this.images.find((image) => image.id === reference || image.repoTags.includes(reference));
  }
}

const fakeId = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

/** A stand-in for the registry: it answers, hands out the given credentials and holds every manifest. */
function fakeRegistry(source: string, auth?: RegistryAuth): RegistryClient & { reached: string[] } {
  const reached: string[] = [];
  return {
    reached,
    assertReachable: async (registry) => void reached.push(registry),
    credentials: () => ({ auth, source }),
    manifestState: async (): Promise<ManifestState> => ({ state: 'present', digest: `sha256:${'d'.repeat(64)}` }),
  };
}

const workspaces: string[] = [];
afterEach(() => {
  for (const dir of workspaces.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A workspace with the service's bundle on disk, as the build target leaves it (unless `withBundle` is false). */
function workspace(withBundle = true): string {
  const root = mkdtempSync(join(tmpdir(), 'tl-build-'));
  workspaces.push(root);
  mkdirSync(join(root, ROOT), { recursive: true });
  if (withBundle) writeBundle(root, 'hello');
  return root;
}

function writeBundle(root: string, greeting: string): void {
  const dir = join(root, 'dist', ROOT, 'bundle');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'main.js'), `console.log(${JSON.stringify(greeting)});\n`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'greet-service', private: true, main: 'main.js', dependencies: {} }));
}

/** Runs the build as the executor does, with the fakes; returns the record (or the error) and the lines logged. */
async function build(root: string, engine: FakeEngine, options: BuildImageExecutorOptions = {}, registry?: RegistryClient) {
  const lines: string[] = [];
  const normalized = normalizeBuildImageOptions({ baseImage: 'node:20-slim', ...options }, { name: SERVICE, root: ROOT, workspaceRoot: root });
  const outcome = await buildServiceImage(normalized, engine, (line) => lines.push(line), registry).then(
    (record) => ({ record, error: undefined }),
    (error: unknown) => ({ record: undefined, error }),
  );
  return { ...outcome, lines, recordFile: normalized.recordFile };
}

/** A build that must succeed: its failure fails the test with the build's own error. */
async function buildOk(root: string, engine: FakeEngine, options: BuildImageExecutorOptions = {}, registry?: RegistryClient) {
  const { record, error, lines, recordFile } = await build(root, engine, options, registry);
  if (!record) throw error;
  return { record, lines, recordFile };
}

const readRecord = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as ImageRecord;
const builds = (engine: FakeEngine) => engine.calls.filter((call) => call.startsWith('build '));

describe('buildServiceImage: trusting a previous record', () => {
  it('a record naming this content tag, whose image the engine has, is returned without a build', async () => {
    const root = workspace();
    const engine = new FakeEngine();
    const first = await buildOk(root, engine);
    expect(builds(engine)).toHaveLength(1);
    const record = first.record;
    expect(readRecord(first.recordFile)).toEqual(record);

    engine.calls.length = 0;
    const again = await buildOk(root, engine);
    expect(again.record).toEqual(record);
    expect(engine.calls).toEqual(['ping', `inspect acme/greet-service:${record.tag}`]);
    expect(again.lines).toEqual([`image acme/greet-service:${record.tag} is up to date (verified in the engine)`]);
  });

  it('a pushed record is verified in the registry too, with the credentials found for it', async () => {
    const root = workspace();
    const engine = new FakeEngine();
    const auth = { username: 'dev', password: 'pw', serveraddress: REGISTRY };
    const registry = fakeRegistry('auths in /home/dev/.docker/config.json', auth);
    const first = await buildOk(root, engine, { registry: REGISTRY }, registry);
    expect(first.record).toMatchObject({ pushed: true, digest: `sha256:${'d'.repeat(64)}` });
    expect(engine.pushAuths).toEqual([auth]);

    engine.calls.length = 0;
    const again = await buildOk(root, engine, { registry: REGISTRY }, registry);
    expect(again.record).toEqual(first.record);
    expect(builds(engine)).toEqual([]);
    expect(again.lines).toEqual([`image ${REGISTRY}/acme/greet-service:${first.record.tag} is up to date (verified in the engine and the registry)`]);
    expect(registry.reached).toEqual([REGISTRY, REGISTRY]);
  });

  it('a record whose image is gone from the engine is rebuilt, and says so', async () => {
    const root = workspace();
    const engine = new FakeEngine();
    const first = await buildOk(root, engine);
    const reference = `acme/greet-service:${first.record.tag}`;
    engine.forget(reference);

    const again = await buildOk(root, engine);
    expect(again.lines.slice(0, 2)).toEqual([`image ${reference} is gone from the engine, rebuilding`, `building ${reference}`]);
    expect(builds(engine)).toEqual([`build ${reference}`, `build ${reference}`]);
    expect(again.record.tag).toBe(first.record.tag);
    expect(await engine.inspectImage(reference)).not.toBeNull();
    expect(readRecord(again.recordFile)).toEqual(again.record);
  });

  it('a changed bundle gets a new content tag and a build', async () => {
    const root = workspace();
    const engine = new FakeEngine();
    const first = await buildOk(root, engine);
    writeBundle(root, 'hello again');
    const second = await buildOk(root, engine);
    expect(second.record.tag).not.toBe(first.record.tag);
    expect(builds(engine)).toHaveLength(2);
  });
});

describe('buildServiceImage: a refused push', () => {
  /** What `DockerEngine.push` throws when the push stream ends with the registry's error. */
  const pushFailure = (text: string) => (repository: string, tag: string) => {
    throw new ImageError('TL_DOCKER_PUSH_FAILED', `push of ${repository}:${tag} failed: ${text}`, text);
  };

  it.each([
    ['denied: requested access to the resource is denied', 'auths in /home/dev/.docker/config.json'],
    ['unauthorized: authentication required', `none for ${REGISTRY} in /home/dev/.docker/config.json`],
  ])('"%s" is TL_REGISTRY_REFUSED, naming registry, reference and where the credentials came from', async (text, source) => {
    const root = workspace();
    const engine = new FakeEngine();
    engine.pushOutcome = pushFailure(text);
    const { error, recordFile } = await build(root, engine, { registry: REGISTRY }, fakeRegistry(source));
    const tag = builds(engine)[0].split(':').pop();
    expect(error).toBeInstanceOf(ImageError);
    expect(error).toMatchObject({
      code: 'TL_REGISTRY_REFUSED',
      message: `registry ${REGISTRY} refused the push of ${REGISTRY}/acme/greet-service:${tag}: ${text} (credentials: ${source}; run docker login ${REGISTRY})`,
      detail: text,
    });
    expect((error as Error).message).not.toContain('\n');
    expect(existsSync(recordFile)).toBe(false);
  });

  it('a push failing for another reason keeps TL_DOCKER_PUSH_FAILED and the engine words', async () => {
    const root = workspace();
    const engine = new FakeEngine();
    engine.pushOutcome = pushFailure('blob upload unknown to registry');
    const { error, recordFile } = await build(root, engine, { registry: REGISTRY }, fakeRegistry('auths in /home/dev/.docker/config.json'));
    const tag = builds(engine)[0].split(':').pop();
    expect(error).toBeInstanceOf(ImageError);
    expect(error).toMatchObject({
      code: 'TL_DOCKER_PUSH_FAILED',
      message: `push of ${REGISTRY}/acme/greet-service:${tag} failed: blob upload unknown to registry`,
    });
    expect(existsSync(recordFile)).toBe(false);
  });
});

describe('buildServiceImage: pruning', () => {
  const removed = (engine: FakeEngine) => engine.calls.filter((call) => call.startsWith('remove ')).map((call) => call.slice('remove '.length));

  it('keeps the `keep` newest images of the service, the one just built among them', async () => {
    const root = workspace();
    const engine = new FakeEngine();
    const [oldest, older, old] = [engine.seed(10), engine.seed(20), engine.seed(30)];
    const other = engine.seed(5, '@acme/other-service');
    const { record, lines } = await buildOk(root, engine, { keep: 2 });
    const built = (await engine.inspectImage(`acme/greet-service:${record.tag}`))?.id;
    expect(removed(engine)).toEqual([older, oldest]);
    expect(engine.images.map((image) => image.id).sort()).toEqual([old, other, built].sort());
    expect(lines).toContain(`removing old image acme/greet-service:old-20 of ${SERVICE} (keeping 2)`);
    expect(lines).toContain(`removing old image acme/greet-service:old-10 of ${SERVICE} (keeping 2)`);
  });

  it('never removes the image just built, even when the engine gives back an older one', async () => {
    const root = workspace();
    const engine = new FakeEngine();
    const [oldest, older, old] = [engine.seed(10), engine.seed(20), engine.seed(30)];
    engine.reuseImageId = oldest;
    const { record } = await buildOk(root, engine, { keep: 1 });
    expect(removed(engine)).toEqual([old, older]);
    expect(engine.images.map((image) => image.id)).toEqual([oldest]);
    expect(engine.images[0].repoTags).toContain(`acme/greet-service:${record.tag}`);
  });
});

describe('buildServiceImage: no bundle', () => {
  it('is TL_BUNDLE_MISSING, naming the file and the build command, before anything is built', async () => {
    const root = workspace(false);
    const engine = new FakeEngine();
    const { error } = await build(root, engine);
    expect(error).toBeInstanceOf(ImageError);
    expect(error).toMatchObject({ code: 'TL_BUNDLE_MISSING', message: `bundle dist/${ROOT}/bundle/main.js is missing: run "nx run ${SERVICE}:build" first` });
    expect(engine.calls).toEqual(['ping']);
  });
});
