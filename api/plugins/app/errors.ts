import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { CodedError, type ErrorCategory, type ErrorDetail } from '../../../core/errors.js';

/**
 * The one place an error becomes an HTTP answer. Every answer has the DESIGN §3 shape
 * `{error: {code, message}}`; a 5xx never carries anything but `internal error` — the stack and the
 * cause go to the log, keyed by the request id that the answer does carry.
 */

export type { ErrorDetail };

/** An error a route throws on purpose: the status, code and message reach the caller as they are. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: readonly ErrorDetail[],
    /** Sent as Retry-After (seconds), e.g. with a 429. */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

export function validationFailed(details: readonly ErrorDetail[]): ApiError {
  return new ApiError(400, 'validation_failed', detailMessage(details) ?? 'invalid request', details);
}

/** The first mistake, with where it is: `body.all.smoke.threshold: Too small`. */
function detailMessage(details: readonly ErrorDetail[]): string | undefined {
  const first = details[0];
  return first ? `${first.in ? `${first.in}.` : ''}${first.path || '(root)'}: ${first.message}` : undefined;
}

/**
 * For a route that hands one part of the request whole to the domain (`PUT /api/rules` its body):
 * the paths in the domain's error details are then paths in that part, and the answer says so.
 */
export function inRequest(part: 'body' | 'querystring', err: unknown): unknown {
  if (!(err instanceof CodedError) || !err.details) return err;
  return new CodedError(err.code, err.category, err.message, { cause: err, details: err.details.map((d) => ({ in: part, ...d })) });
}

/** The one mapping from what a refusal is (core/errors.ts) to the HTTP status that says so. */
export const statusByCategory: Readonly<Record<ErrorCategory, number>> = {
  invalid: 400, not_found: 404, conflict: 409, unprocessable: 422, unavailable: 503,
};

/** Codes for the 4xx fastify itself raises (body parsing, media type, size). */
const codeByStatus: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'header_too_large',
};

interface ZodValidationEntry {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: { keys?: unknown };
}

function zodDetails(error: FastifyError): ErrorDetail[] {
  const where = error.validationContext;
  return ((error.validation ?? []) as unknown as ZodValidationEntry[]).map((v) => {
    let path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
    // A strict object's unknown keys are reported on the object itself: name them instead.
    if (v.keyword === 'unrecognized_keys' && Array.isArray(v.params?.keys)) {
      path = [path, v.params.keys.join(',')].filter(Boolean).join('.');
    }
    return { ...(where ? { in: where } : {}), path, message: v.message ?? 'invalid' };
  });
}

function send(reply: FastifyReply, request: FastifyRequest, status: number, code: string, message: string, details?: readonly ErrorDetail[]) {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ error: { code, message, ...(details ? { details } : {}), requestId: request.id } });
}

export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ApiError) {
    request.log.info({ code: error.code, status: error.statusCode }, error.message);
    if (error.retryAfterS !== undefined) reply.header('retry-after', error.retryAfterS);
    return send(reply, request, error.statusCode, error.code, error.message, error.details);
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const e = validationFailed(zodDetails(error as FastifyError));
    request.log.info({ code: e.code, details: e.details }, 'request refused: validation failed');
    return send(reply, request, 400, e.code, e.message, e.details);
  }
  if (error instanceof CodedError) {
    const status = statusByCategory[error.category];
    if (error.category === 'unavailable') {
      // An outage, not a bug: the client may retry; the cause (which may name internals) stays in the log.
      request.log.warn({ err: error, code: error.code }, 'storage unavailable');
      const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      if (retryAfterMs !== undefined) reply.header('retry-after', Math.max(1, Math.ceil(retryAfterMs / 1000)));
      return send(reply, request, status, 'unavailable', 'storage is unavailable, retry later');
    }
    // A refusal the domain made on purpose: its code and message are for the caller.
    request.log.info({ code: error.code, status }, error.message);
    const details = error.details?.map((d) => ({ ...d }));
    return send(reply, request, status, error.code, (details && detailMessage(details)) ?? error.message, details);
  }
  const status = (error as FastifyError).statusCode;
  // Fastify's own client errors (unparseable JSON, wrong media type, body too large) are safe to
  // show: their messages describe the request, not the server.
  if (status !== undefined && status >= 400 && status < 500) {
    request.log.info({ code: (error as FastifyError).code, status }, error.message);
    return send(reply, request, status, codeByStatus[status] ?? 'bad_request', error.message);
  }
  // Anything else is a bug or an outage: log it whole, answer nothing about it.
  request.log.error({ err: error }, 'unhandled error');
  return send(reply, request, 500, 'internal', 'internal error');
}

/**
 * Errors Fastify raises before a route is chosen (its `frameworkErrors` option): a path that is
 * not valid percent-encoding, a path parameter longer than the router's limit. In the same shape.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_BAD_URL') return send(reply, request, 400, 'bad_url', 'the URL path is not valid percent-encoded UTF-8');
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return send(reply, request, 414, 'uri_too_long', 'a path segment is longer than any id (at most 64 characters)');
  return handleError(error, request, reply);
}

/**
 * Errors Node's HTTP parser raises before there is a request at all (Fastify's `clientErrorHandler`):
 * request line and headers over the 16 KiB limit (431; an over-long URL is one of these), a
 * malformed request, a client too slow to send its headers (408). No route, no reply object: the
 * answer is written to the socket, in the coded shape, and the connection closed.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'header_too_large', 'the request line and headers exceed 16 KiB (is the URL too long?)']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT' ? [408, 'request_timeout', 'the request took too long to arrive']
        : [400, 'bad_request', 'the request is not valid HTTP/1.1'];
  this.log.debug({ code: err.code, status }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ error: { code, message } });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

export async function errorsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`),
  );
}

export default fp(errorsPlugin, { name: 'anju-errors', fastify: '5.x' });
