/**
 * build-image as a user runs it: a fresh workspace, two lifted functions (one uses a workspace library, one
 * does not), options in nx.json targetDefaults, the real Docker engine and the loopback registry.
 * Every container started here is removed again; the images of these services are removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecord } from '../../packages/turbolift/src/service/image-record';
import { bundleApp, runApp } from '../support/app';
import { ensureDocker, testBaseImage, testRegistry } from '../support/infra';
import { nx, run, waitFor, type RunResult } from '../support/run';
import { commitAll, copyWorkspace, writeFiles } from '../support/workspace';
import { freePort } from '../../tools/test-support/free-port';

const services = {
  greet: { fn: 'imgGreet', project: '@acme/img-greet-service', root: 'apps/lifted/img-greet-service', env: 'TURBOLIFT_IMG_GREET_URL' },
  count: { fn: 'imgWordCount', project: '@acme/img-word-count-service', root: 'apps/lifted/img-word-count-service', env: 'TURBOLIFT_IMG_WORD_COUNT_URL' },
};

const functionsSource = `import { shout } from '@acme/img-shared-text';

/** Uses a workspace library. */
/** @lift */
export function imgGreet(name: string): string {
  return shout(\`hello \${name}\`);
}

/** Uses nothing outside this file. */
/** @lift */
export function imgWordCount(text: string): number {
  return text.split(/\\s+/).filter(Boolean).length;
}
`;

const mainSource = `import { imgGreet, imgWordCount } from './functions.js';

async function main(): Promise<void> {
  const results = { greet: await imgGreet('images'), count: await imgWordCount('one two  three four') };
  console.log(\`RESULT \${JSON.stringify(results)}\`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

const docker = (args: string[]) => run('docker', args, { cwd: '/', timeoutMs: 120_000 });

/** Lines like `> nx run @acme/x:build-image  [local cache]`: which tasks ran and how. */
function taskLines(outcome: RunResult): string[] {
  return outcome.stdout
    .split('\n')
    .filter((line) => /^\s*> nx run \S+/.test(line))
    .map((line) => line.trim());
}

const noStackDump = (outcome: RunResult) => expect(outcome.output).not.toMatch(/^ {4}at /m);

describe('build-image in a fresh workspace with a real engine and registry', () => {
  let ws: string;
  let registry: string;
  let baseImage: string;
  const containers: string[] = [];

  const record = (service: { root: string }): ImageRecord => JSON.parse(readFileSync(join(ws, 'dist', service.root, 'image.json'), 'utf8'));

  /** Runs an image the way a user would try it and returns its origin once it answers /readyz. */
  async function runContainer(reference: string): Promise<string> {
    const port = await freePort();
    const id = docker(['run', '-d', '--network', 'host', '-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1', reference]).stdout.trim();
    containers.push(id);
    const origin = `http://127.0.0.1:${port}`;
    await waitFor(`${reference} to answer ${origin}/readyz`, async () => (await fetch(`${origin}/readyz`)).ok || undefined, 60_000);
    return origin;
  }

  beforeAll(() => {
    ensureDocker();
    registry = testRegistry();
    baseImage = testBaseImage();

    ws = copyWorkspace('build-image');
    const lib = ['--bundler=tsc', '--unitTestRunner=none', '--linter=none', '--no-interactive'];
    nx(ws, ['g', '@nx/js:lib', 'packages/img-shared-text', ...lib]);
    nx(ws, ['g', '@nx/js:lib', 'packages/img-app', ...lib]);
    writeFiles(ws, {
      'packages/img-shared-text/src/index.ts': 'export function shout(text: string): string {\n  return `${text.toUpperCase()}!`;\n}\n',
      'packages/img-app/src/functions.ts': functionsSource,
      'packages/img-app/src/main.ts': mainSource,
      'packages/img-app/src/index.ts': "export * from './functions.js';\n",
    });
    const appPackage = JSON.parse(readFileSync(join(ws, 'packages/img-app/package.json'), 'utf8'));
    appPackage.dependencies = { ...appPackage.dependencies, '@acme/img-shared-text': '*' };
    writeFiles(ws, { 'packages/img-app/package.json': JSON.stringify(appPackage, null, 2) + '\n' });
    for (const { fn } of Object.values(services)) nx(ws, ['g', 'turbolift:lift', fn, '--project=@acme/img-app', '--no-interactive']);
    run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });

    // Configured as a user would: once for every service, in nx.json.
    const nxJson = JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8'));
    nxJson.targetDefaults = { ...nxJson.targetDefaults, 'build-image': { options: { registry, push: true, baseImage } } };
    writeFiles(ws, { 'nx.json': JSON.stringify(nxJson, null, 2) + '\n' });
    commitAll(ws, 'two lifted functions, images pushed to the test registry');
  }, 10 * 60_000);

  /** Best effort: cleanup must not hide the failure that ended a test. */
  function removeContainers(): void {
    if (containers.length) spawnSync('docker', ['rm', '-f', ...containers.splice(0)], { stdio: 'ignore' });
  }

  afterAll(() => {
    removeContainers();
    for (const { project } of Object.values(services)) {
      const listed = spawnSync('docker', ['images', '-q', '--filter', `label=dev.turbolift.service=${project}`], { encoding: 'utf8' });
      const ids = [...new Set((listed.stdout ?? '').split('\n').filter(Boolean))];
      if (ids.length) spawnSync('docker', ['rmi', '-f', ...ids], { stdio: 'ignore' });
    }
  });

  it('builds and pushes each image; the containers serve, and distributed mode equals local mode', async () => {
    const endpoints: Record<string, string> = {};
    for (const service of Object.values(services)) {
      nx(ws, ['run', `${service.project}:build-image`]);
      const rec = record(service);
      expect(rec).toMatchObject({ service: service.project, image: `${registry}/${service.project.slice(1)}`, pushed: true, baseImage });
      expect(rec.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      // By digest, as a deploy would pull it.
      endpoints[service.env] = await runContainer(`${rec.image}@${rec.digest}`);
    }
    try {
      const app = bundleApp(ws, 'packages/img-app/src/main.ts', 'img-app');
      const local = runApp(ws, app, 'local').result;
      expect(JSON.parse(local)).toEqual({ greet: 'HELLO IMAGES!', count: 4 });
      const distributed = runApp(ws, app, 'distributed', endpoints).result;
      expect(distributed).toEqual(local);
    } finally {
      removeContainers();
    }
  });

  it('`nx run-many -t build-image` a second time is all cache hits', () => {
    nx(ws, ['run-many', '-t', 'build-image', '--output-style=static']);
    const second = nx(ws, ['run-many', '-t', 'build-image', '--output-style=static']);
    const imageTasks = taskLines(second).filter((line) => line.includes(':build-image'));
    expect(imageTasks).toHaveLength(2);
    for (const line of taskLines(second)) expect(line).toMatch(/\[(local cache|existing outputs match the cache, left as is)\]/);
  });

  it('a change to the shared library rebuilds only the image of the function that uses it', () => {
    const before = record(services.count);
    writeFiles(ws, { 'packages/img-shared-text/src/index.ts': 'export function shout(text: string): string {\n  return `${text.toUpperCase()}!!`;\n}\n' });
    const outcome = nx(ws, ['affected', '-t', 'build-image', '--base=HEAD', '--output-style=static']);
    const ran = taskLines(outcome).filter((line) => line.includes(':build-image'));
    expect(ran).toEqual([expect.stringContaining(`${services.greet.project}:build-image`)]);
    expect(ran[0]).not.toMatch(/cache/);
    expect(outcome.output).toContain(`building ${registry}/${services.greet.project.slice(1)}:`);
    expect(record(services.count)).toEqual(before);
    commitAll(ws, 'louder greeting');
  });

  it('a broken Dockerfile in the service root fails with the reason in one line', () => {
    const dockerfile = join(ws, services.count.root, 'Dockerfile');
    writeFiles(ws, { [join(services.count.root, 'Dockerfile')]: `FROM ${baseImage}\nCOPPY bundle/ ./\n` });
    try {
      const outcome = nx(ws, ['run', `${services.count.project}:build-image`], { expectFailure: true });
      expect(outcome.output).toContain(`Dockerfile ${services.count.root}/Dockerfile`);
      expect(outcome.output).toMatch(/build-image: .*line 2.*COPPY/);
      noStackDump(outcome);
    } finally {
      rmSync(dockerfile, { force: true });
    }
  });

  it('an unreachable registry fails with the registry named, in one line', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const outcome = nx(ws, ['run', `${services.count.project}:build-image`, `--registry=${closed}`], { expectFailure: true });
    expect(outcome.output).toMatch(new RegExp(`build-image: .*${closed.replace(/\./g, '\\.')}`));
    noStackDump(outcome);
  });

  it('a missing engine fails with where it looked, in one line', () => {
    const outcome = nx(ws, ['run', `${services.count.project}:build-image`], {
      expectFailure: true,
      env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    expect(outcome.output).toMatch(/build-image: .*\/nonexistent\.sock/);
    noStackDump(outcome);
  });

  it('a cached record whose image was removed from the engine is not trusted: the next run says so and rebuilds', () => {
    const before = record(services.count);
    docker(['rmi', '-f', `${before.image}:${before.tag}`]);
    const outcome = nx(ws, ['run', `${services.count.project}:build-image`, '--output-style=static']);
    expect(outcome.output).toMatch(/is gone from the engine/);
    expect(taskLines(outcome).find((line) => line.includes(':build-image'))).not.toMatch(/cache/);
    const after = record(services.count);
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', `${after.image}:${after.tag}`]).stdout.trim()).toMatch(/^sha256:/);
  });

  it('after that rebuild, the next run leaves a record on disk that names images really there', () => {
    // Nx may restore the record it cached before the image was removed: it names the content tag (rebuilt) and a
    // digest the registry still holds, so it is still true.
    nx(ws, ['run', `${services.count.project}:build-image`]);
    const consistency = run('node', ['-e', "require('turbolift/record-consistency')", join('dist', services.count.root, 'image.json')], { cwd: ws });
    expect(consistency.stdout.trim()).toBe('consistent');
  });
});
