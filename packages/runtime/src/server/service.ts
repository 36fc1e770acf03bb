/**
 * The HTTP service around one function: `POST /v1/call` (body: the encoded array of arguments),
 * `GET /healthz` and `GET /readyz`. Built as a fastify instance so tests can `inject` into it.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { JSON_CONTENT_TYPE, MSGPACK_CONTENT_TYPE, encodePooled, type Encoded } from '../codec';
import { releasePacked, unpackMsgpack, type PackedLease } from '../codec/msgpack';
import { ServiceError, argumentCount, fromFastifyError, malformedBody, thrownBody } from './errors';
import { Lifecycle } from './lifecycle';
import type { NormalizedServeOptions } from './options';
import { CALL_PATH, HEALTH_PATH, READY_PATH } from './paths';


// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServedFunction = (...args: any[]) => unknown;

export interface BuiltService {
  app: FastifyInstance;
  lifecycle: Lifecycle;
}

export function buildService(fn: ServedFunction, options: NormalizedServeOptions): BuiltService {
  const lifecycle = new Lifecycle();
  const app = Fastify({
    logger: options.logger as boolean,
    bodyLimit: options.bodyLimit,
    // Calls that arrive after close() get 503 + connection: close; those in flight finish.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const { name, arity, remoteStack } = options;

  // Only our two media types are arguments; anything else (fastify also reads text/plain) is a 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(MSGPACK_CONTENT_TYPE, { parseAs: 'buffer' }, (_request, body, done) => {
    let value: unknown;
    try {
      value = unpackMsgpack(body as Buffer);
    } catch (error) {
      return done(malformedBody(`body is not valid msgpack: ${(error as Error).message}`), undefined);
    }
    done(null, value);
  });

  const sendResult = (reply: FastifyReply, result: unknown) => {
    if (lifecycle.draining) reply.header('connection', 'close');
    let encoded: Encoded & { lease?: PackedLease };
    try {
      encoded = encodePooled(result);
    } catch (error) {
      const failure = new ServiceError('TL_RESULT_NOT_ENCODABLE', 500, `${name} returned a value that cannot be encoded: ${(error as Error).message}`);
      reply.code(500).header('content-type', JSON_CONTENT_TYPE).send(JSON.stringify(failure.toBody()));
      return;
    }
    const { lease } = encoded;
    // Back to the pool once the whole response is handed to the OS; a broken connection just drops it.
    if (lease) reply.raw.once('finish', () => releasePacked(lease));
    reply.header('content-type', encoded.contentType).send(encoded.body);
  };

  const sendThrown = (reply: FastifyReply, thrown: unknown) => {
    if (lifecycle.draining) reply.header('connection', 'close');
    const body = thrownBody(thrown, remoteStack);
    process.stderr.write(`${name} threw ${body.error.name}: ${firstLine(body.error.message)}\n`);
    reply.code(500).header('content-type', JSON_CONTENT_TYPE).send(JSON.stringify(body));
  };

  // Not async: the common synchronous function answers without an extra promise.
  app.post(CALL_PATH, (request: FastifyRequest, reply: FastifyReply) => {
    if (lifecycle.draining) lifecycle.lastCallAt = Date.now();
    const args = request.body;
    if (!Array.isArray(args)) {
      throw malformedBody(`body must be an encoded array of arguments, got ${describe(args)}`);
    }
    if (args.length < arity.min || args.length > arity.max) throw argumentCount(name, args.length, arity.min, arity.max);
    let result: unknown;
    try {
      result = fn(...args);
    } catch (thrown) {
      sendThrown(reply, thrown);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => sendResult(reply, value),
        (thrown) => sendThrown(reply, thrown),
      );
    } else {
      sendResult(reply, result);
    }
  });

  app.get(HEALTH_PATH, (_request, reply) => {
    reply.send({ status: 'ok' });
  });

  app.get(READY_PATH, (_request, reply) => {
    if (lifecycle.ready) reply.send({ status: 'ready' });
    else reply.code(503).send({ status: lifecycle.draining ? 'draining' : 'starting' });
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new ServiceError('TL_NOT_FOUND', 404, `no route ${request.method} ${request.url}; calls go to POST ${CALL_PATH}`);
    reply.code(404).send(error.toBody());
  });

  app.setErrorHandler((error, _request, reply) => {
    const failure = error instanceof ServiceError ? error : fromFastifyError(error as Error & { code?: string; statusCode?: number }, options.bodyLimit);
    if (lifecycle.draining) reply.header('connection', 'close');
    reply.code(failure.statusCode).header('content-type', JSON_CONTENT_TYPE).send(JSON.stringify(failure.toBody()));
  });

  app.addHook('onReady', async () => {
    if (!lifecycle.draining) lifecycle.ready = true;
  });

  return { app, lifecycle };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'no body';
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}

function firstLine(text: string): string {
  const newline = text.indexOf('\n');
  return newline === -1 ? text : `${text.slice(0, newline)} …`;
}
