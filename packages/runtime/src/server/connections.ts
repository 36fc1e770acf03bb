/**
 * Timeouts on every connection of a service. They bound receiving a request and idling between requests,
 * never the time the function computes (`callTimeoutMs` bounds that), so each is off from the moment a
 * request's body is in until its answer is sent.
 *
 * - Headers (`headersTimeoutMs`) and the whole request (`requestTimeoutMs`): Node's `headersTimeout` and
 *   `requestTimeout`, counted from a request's first byte to its last, checked every
 *   `connectionsCheckingInterval`. Past either, Node raises `clientError` and the connection gets 408.
 * - Body (`bodyTimeoutMs`): no byte of a body for that long. The socket's inactivity timeout, armed when a
 *   request's head is in and its body is not yet, answered like Node's own timeouts. A body that keeps
 *   arriving is bounded by the request timeout only.
 * - Keep-alive (`keepAliveTimeoutMs`): Node's `keepAliveTimeout`, advertised in `keep-alive: timeout=`
 *   (undici's pool uses that value less two seconds, see client/pools.ts).
 * - A new connection that sends nothing: Node counts its headers timeout from the moment it opens.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { JSON_CONTENT_TYPE } from '../codec';
import { requestTimedOut, ServiceError } from './errors';
import type { NormalizedServeOptions } from './options';

type Timeouts = Pick<NormalizedServeOptions, 'headersTimeoutMs' | 'bodyTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>;

/**
 * How often Node looks for requests past their headers or request timeout: every second, so a bound fires
 * at most a second late (Node's default, 30 s, would let a stalled head hold its connection for 40 s), or a
 * quarter of the shorter bound when that is under 4 s.
 */
export function connectionsCheckingInterval({ headersTimeoutMs, requestTimeoutMs }: Timeouts): number {
  const bounds = [headersTimeoutMs, requestTimeoutMs].filter((ms) => ms > 0);
  return bounds.length === 0 ? 1000 : Math.max(25, Math.min(1000, Math.floor(Math.min(...bounds) / 4)));
}

/** The options fastify passes on to `http.createServer` and sets on the server. */
export function connectionOptions(options: Timeouts) {
  return {
    keepAliveTimeout: options.keepAliveTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    // fastify sets no headers timeout of its own; Node checks it against the request timeout at creation.
    http: {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingInterval(options),
      // Node answers an HTTP/1.1 request without a Host header with a bare 400 of its own, before fastify sees it.
      // A service routes by path alone, so such a request is served (or refused) in the service's own error shape.
      requireHostHeader: false,
    },
  };
}

const CLIENT_ERRORS: Record<string, { status: number; reason: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'the request headers are larger than the server accepts' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, reason: 'the chunk extensions are larger than the server accepts' },
};

/** Whether an answer has started on this socket: then nothing more may be written to it. */
function answerStarted(socket: Duplex): boolean {
  // The same test Node makes before it writes its own 408 or 400 (`_httpMessage` is the response in progress).
  const response = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  return response?.headersSent === true;
}

function answerAndClose(socket: Duplex, failure: ServiceError, answered = answerStarted(socket)): void {
  if (socket.writable && !answered) {
    const body = JSON.stringify(failure.toBody());
    socket.write(
      `HTTP/1.1 ${failure.statusCode} ${statusText(failure.statusCode)}\r\nconnection: close\r\ncontent-type: ${JSON_CONTENT_TYPE}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function statusText(status: number): string {
  return ({ 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' } as Record<number, string>)[status];
}

/**
 * fastify's `clientErrorHandler`: what Node raises for a connection before or instead of a request (a
 * timeout, a malformed or oversized head). Answered in the service's error shape, and only when no answer is
 * under way on the connection (fastify's default handler writes its 408 regardless); an answer given before
 * its request's body was in closes the connection instead (service.ts), so none can follow it.
 */
export function clientErrorHandler(options: Timeouts) {
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const known = error.code ? CLIENT_ERRORS[error.code] : undefined;
    const failure =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? requestTimedOut('late', options)
        : new ServiceError('TL_BAD_REQUEST', known?.status ?? 400, known?.reason ?? `malformed request: ${error.message}`);
    answerAndClose(socket, failure);
  };
}

/** Arms the body timeout described above. */
export function watchConnections(app: FastifyInstance, options: Timeouts): void {
  const { bodyTimeoutMs } = options;
  if (bodyTimeoutMs === 0) return;
  // Node emits 'timeout' on the request only while it is incomplete: its body stalled.
  const stalled = (raw: IncomingMessage, reply: FastifyReply) =>
    answerAndClose(raw.socket, requestTimedOut('stalled', options), reply.sent || answerStarted(raw.socket));
  app.addHook('onRequest', (request, reply, done) => {
    const { raw } = request;
    // Node leaves the socket without a timeout of its own while a request is in progress. Once the body is
    // read to its end, computing the answer is not bounded here.
    if (!raw.complete) raw.setTimeout(bodyTimeoutMs, () => stalled(raw, reply)).once('end', () => raw.socket.setTimeout(0));
    done();
  });
}
