/**
 * The HTTP service around one function: `POST /v1/call` (body: the encoded array of arguments),
 * `POST /v1/map` (an encoded array of argument arrays), `GET /healthz` and `GET /readyz`. Built as a
 * fastify instance so tests can `inject` into it. The function itself runs in the executor (a pool of
 * worker threads, or inline): this module only moves bytes and answers.
 */
import type * as FastifyPackage from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JSON_CONTENT_TYPE, MSGPACK_CONTENT_TYPE } from '../codec';
import { releasePacked } from '../codec/msgpack';
import { AUTH } from '../contract';
import { CallerCheck } from './auth';
import { clientErrorHandler, connectionOptions, watchConnections } from './connections';
import { ServiceError, fromFastifyError } from './errors';
import { createExecutor, type Executor } from './executor';
import type { Answer, Route, ServedFunction } from './invoke';
import { Lifecycle } from './lifecycle';
import type { NormalizedServeOptions } from './options';
import { CALL_PATH, HEALTH_PATH, MAP_PATH, READY_PATH } from './paths';

export type { ServedFunction } from './invoke';

export interface BuiltService {
  app: FastifyInstance;
  lifecycle: Lifecycle;
  executor: Executor;
}

export function buildService(fn: ServedFunction, options: NormalizedServeOptions): BuiltService {
  const lifecycle = new Lifecycle();
  const executor = createExecutor(fn, options);
  // Loaded here, not at import: a process that imports the runtime for a stub never loads the server.
  const { fastify } = require('fastify') as typeof FastifyPackage;
  const app = fastify({
    logger: options.logger as boolean,
    bodyLimit: options.bodyLimit,
    // Calls that arrive after close() get 503 + connection: close; those in flight finish.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Headers, body, whole-request and keep-alive timeouts: connections.ts.
    ...connectionOptions(options),
    clientErrorHandler: clientErrorHandler(options),
  });
  watchConnections(app, options);

  // Only our two media types are arguments; anything else (fastify also reads text/plain) is a 415.
  // Bodies stay bytes here: they are decoded where the function runs, off the main thread in a pool.
  app.removeAllContentTypeParsers();
  const keepBytes = (_request: FastifyRequest, body: Buffer, done: (error: null, body: Buffer) => void) => done(null, body);
  app.addContentTypeParser([JSON_CONTENT_TYPE, MSGPACK_CONTENT_TYPE], { parseAs: 'buffer' }, keepBytes as never);

  const sendAnswer = (reply: FastifyReply, answer: Answer) => {
    if (answer.log) process.stderr.write(`${answer.log}\n`);
    if (lifecycle.draining) reply.header('connection', 'close');
    if (answer.retryAfterSeconds !== undefined) {
      // Overloaded: a new connection may land on another replica behind the Service.
      reply.header('retry-after', String(answer.retryAfterSeconds)).header('connection', 'close');
    }
    if (answer.runMs !== undefined) reply.header('server-timing', `run;dur=${answer.runMs.toFixed(2)}`);
    const { lease } = answer;
    // Back to the pool once the whole response is handed to the OS; a broken connection just drops it.
    if (lease) reply.raw.once('finish', () => releasePacked(lease));
    const body =
      typeof answer.body === 'string' || Buffer.isBuffer(answer.body)
        ? answer.body
        : Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength);
    reply.code(answer.status).header('content-type', answer.contentType).send(body);
  };

  // Not async: an inline synchronous function answers without an extra promise.
  const route = (kind: Route) => (request: FastifyRequest, reply: FastifyReply) => {
    if (lifecycle.draining) lifecycle.lastCallAt = Date.now();
    const answer = executor.run({ route: kind, contentType: request.headers['content-type'], body: request.body as Buffer });
    if (answer instanceof Promise)
      answer.then(
        (settled) => sendAnswer(reply, settled),
        (error: Error) => reply.send(error),
      );
    else sendAnswer(reply, answer);
  };
  // Answered before its body is in (415, 404…): close the connection after the answer, rather than read
  // the rest of the body to reuse it (and never answer a second time when that body stalls).
  const closeIfUnread = (request: FastifyRequest, reply: FastifyReply) => {
    if (lifecycle.draining || !request.raw.complete) reply.header('connection', 'close');
  };

  // Checked before the body is read: a caller without the token never gets its body buffered, let alone decoded.
  const callers = options.auth.enabled ? new CallerCheck(options.auth) : undefined;
  const checkCaller = callers
    ? (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
        const refusal = callers.refusal(request.headers[AUTH.header]);
        if (!refusal) return done();
        closeIfUnread(request, reply);
        reply.code(401).header('www-authenticate', `${AUTH.scheme} realm="turbolift"`).header('content-type', JSON_CONTENT_TYPE);
        reply.send(JSON.stringify(refusal.toBody()));
      }
    : undefined;
  // No hook at all without authentication: nothing is added to a call's path.
  const callRoute = checkCaller ? { onRequest: checkCaller } : {};
  app.post(CALL_PATH, callRoute, route('call'));
  app.post(MAP_PATH, callRoute, route('map'));

  app.get(HEALTH_PATH, (_request, reply) => {
    reply.send({ status: 'ok' });
  });

  app.get(READY_PATH, (_request, reply) => {
    if (lifecycle.ready) reply.send({ status: 'ready' });
    else reply.code(503).send({ status: lifecycle.draining ? 'draining' : 'starting' });
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new ServiceError('TL_NOT_FOUND', 404, `no route ${request.method} ${request.url}; calls go to POST ${CALL_PATH}`);
    closeIfUnread(request, reply);
    reply.code(404).send(error.toBody());
  });

  app.setErrorHandler((error, request, reply) => {
    const failure = error instanceof ServiceError ? error : fromFastifyError(error as Error & { code?: string; statusCode?: number }, options.bodyLimit);
    closeIfUnread(request, reply);
    reply.code(failure.statusCode).header('content-type', JSON_CONTENT_TYPE).send(JSON.stringify(failure.toBody()));
  });

  app.addHook('onReady', async () => {
    // Ready once the function can be called: a pool's threads have loaded the service's module.
    await executor.ready();
    if (!lifecycle.draining) lifecycle.ready = true;
  });

  app.addHook('onClose', async () => {
    await executor.close();
  });

  return { app, lifecycle, executor };
}
