// The package's entries as Node loads them: importing `@turbolift/runtime` for a stub loads none of the
// heavy dependencies; undici comes with the first distributed call, fastify and piscina with `serve`.
// Measured in a fresh node process on the built package, by its name, from its module cache.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import * as browserEntry from './browser';
import * as nodeEntry from './index';
import { appWithRuntime, type App } from '../test/built-package';

const run = promisify(execFile);

const CHILD = `
const { isMainThread } = require('node:worker_threads');
const { createServer } = require('node:http');
const runtime = require('@turbolift/runtime');
const server = require('@turbolift/runtime/server');

const HEAVY = ['fastify', 'piscina', 'undici', 'msgpackr'];
const loaded = () => HEAVY.filter((name) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/')));
const add = (a, b) => a + b;
const serveOptions = { name: 'add', host: '127.0.0.1', port: 0, manageProcess: false, workers: 1, entry: __filename };

if (!isMainThread) {
  // A pool worker loads this module again to get the function.
  void runtime.serve(add, serveOptions);
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

async function main() {
  const stages = { import: loaded() };
  const stub = runtime.liftedStub('add', add, { service: 'add-service', retries: 0 });
  const results = { local: [await stub(1, 2), await stub.starmap([[1, 2]])] };
  stages.local = loaded();

  // A stand-in service on loopback (node:http) answering plain JSON, as a lifted service does.
  const fake = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const args = JSON.parse(body);
      const result = request.url === '/v1/map' ? args.map(([a, b]) => ({ v: a + b })) : add(...args);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    });
  });
  await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
  process.env.TURBOLIFT_MODE = 'distributed';
  process.env.TURBOLIFT_ADD_URL = 'http://127.0.0.1:' + fake.address().port;
  results.distributed = [await stub(2, 3), await stub.starmap([[1, 1], [2, 2]])];
  stages.distributed = loaded();
  await runtime.closeConnections();
  fake.close();

  const running = await runtime.serve(add, serveOptions);
  process.env.TURBOLIFT_ADD_URL = running.url;
  results.served = await stub(20, 22);
  stages.serve = loaded();
  await runtime.closeConnections();
  await running.shutdown();
  console.log(JSON.stringify({ stages, results, sameServe: server.serve === runtime.serve, serverExports: Object.keys(server).sort() }));
}
`;

describe('the Node entry', () => {
  let app: App | undefined;
  afterEach(() => app?.dispose());

  it('loads undici with the first distributed call and fastify and piscina with serve, not at import', async () => {
    app = appWithRuntime({ 'main.js': CHILD });
    const { stdout } = await run(process.execPath, ['main.js'], { cwd: app.dir, env: { ...process.env, TURBOLIFT_MODE: '' }, timeout: 25_000 });
    const report = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(report.stages).toEqual({
      import: [],
      local: [],
      // Plain JSON went over the wire: msgpackr is still not needed.
      distributed: ['undici'],
      serve: ['fastify', 'piscina', 'undici'],
    });
    expect(report.results).toEqual({ local: [3, [3]], distributed: [5, [2, 4]], served: 42 });
    expect(report.sameServe).toBe(true);
    expect(report.serverExports).toEqual(['createService', 'serve']);
  });

  it('has every name of the browser entry, of the same kind', () => {
    const names = Object.keys(browserEntry).sort();
    expect(names).toEqual(['RemoteError', 'TurboliftCallError', 'closeConnections', 'currentMode', 'liftedStub']);
    for (const name of names)
      expect([name, typeof (nodeEntry as Record<string, unknown>)[name]]).toEqual([name, typeof (browserEntry as Record<string, unknown>)[name]]);
    // The errors and the mode are the same code in both builds.
    expect(browserEntry.TurboliftCallError).toBe(nodeEntry.TurboliftCallError);
    expect(browserEntry.RemoteError).toBe(nodeEntry.RemoteError);
    expect(browserEntry.currentMode).toBe(nodeEntry.currentMode);
  });
});
