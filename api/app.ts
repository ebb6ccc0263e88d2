import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { createSessions, defaultSessionConfig } from './plugins/app/sessions.js';
import authPlugin, { createTokenAuthenticator } from './plugins/app/auth.js';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/app/errors.js';
import httpMetricsPlugin from './plugins/app/metrics.js';
import swaggerPlugin from './plugins/external/swagger.js';
import { routes } from './routes/index.js';
import { defaultWebRoot } from './web-root.js';
import type { ApiConfig, ApiDeps, ResolvedApiConfig } from './types.js';

export type { AlertsApiDeps, ApiConfig, ApiDeps, HealthReport, HealthStatus, ReportsApiDeps } from './types.js';

/**
 * The Fastify app (DESIGN §3 REST contract). Built, not started: the CLI calls `listen`, tests
 * call `inject`, and neither `ready` is called here so the composition root can still register
 * more (alerts SSE, the web UI). Plugin order matters and is the order below — errors first (every later failure
 * must answer in the coded shape), then auth (a hook on every route), metrics, the OpenAPI
 * collector (it must see routes as they are added), then the routes.
 */

export function resolveApiConfig(config: ApiConfig = {}): ResolvedApiConfig {
  return {
    // 64 KiB: the largest body the API takes is a device or token description of a few hundred bytes.
    bodyLimit: config.http?.bodyLimit ?? 64 * 1024,
    trustProxy: config.http?.trustProxy ?? false,
    maxListLimit: config.maxListLimit ?? 500,
    maxPoints: config.maxPoints ?? 10_000,
    maxWindowDays: config.maxWindowDays ?? 400,
    tokenCacheTtlMs: config.tokenCacheTtlMs ?? 10_000,
    authFailuresPerMinute: config.authFailuresPerMinute ?? 30,
    version: config.version ?? '0.1.0',
    webRoot: config.webRoot ?? defaultWebRoot(),
    alerts: {
      heartbeatMs: config.alerts?.heartbeatMs ?? 15_000,
      maxClientBufferBytes: config.alerts?.maxClientBufferBytes ?? 1024 * 1024,
      maxPendingEvents: config.alerts?.maxPendingEvents ?? 10_000,
      maxExportRows: config.alerts?.maxExportRows ?? 50_000,
    },
  };
}

// A caller-supplied request id is kept (so a proxy's id threads through our logs) only when it
// is short and plain; anything else could forge or garble log lines.
const safeRequestId = /^[A-Za-z0-9._:-]{1,64}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && safeRequestId.test(given) ? given : randomUUID();
}

/**
 * A URL as it may be logged: the value of `access_token` (EventSource's way to send a token, see
 * routes/api/alerts/stream.ts) replaced, wherever the parameter appears and however it is cased.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  return url.slice(0, q) + url.slice(q).replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]');
}

/** Fastify's own request serializer, with the URL redacted: what `incoming request` lines carry. */
function loggedRequest(req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

/**
 * Fastify logs every request at info, which buries what an operator reads (the start-up banner,
 * warnings) under a line per control-room poll: requests are logged at debug
 * (ANJU_LOG_LEVEL=debug shows them); a request that errored stays at error.
 */
class QuietRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export async function createApp(config: ApiConfig, deps: ApiDeps): Promise<FastifyInstance> {
  const resolved = resolveApiConfig(config);
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; widening it keeps the instance type the plain one.
    // A child serializer for `req` takes precedence over Fastify's (lib/logger-pino.js).
    loggerInstance: deps.logger.child({}, { serializers: { req: loggedRequest } }) as FastifyBaseLogger,
    // Errors raised before a route exists answer in the coded shape too.
    frameworkErrors,
    clientErrorHandler,
    bodyLimit: resolved.bodyLimit,
    trustProxy: resolved.trustProxy,
    genReqId: requestId,
    logController: new QuietRequestLog(),
    // The router is strict about `/api/devices/` vs `/api/devices`; answering both is friendlier.
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(errorsPlugin);
  await app.register(authPlugin, {
    authenticator: createTokenAuthenticator({ cacheTtlMs: resolved.tokenCacheTtlMs }, { state: deps.state, now: deps.now }),
    failuresPerMinute: resolved.authFailuresPerMinute,
    now: deps.now,
    ...(deps.accounts ? { sessions: createSessions(defaultSessionConfig, { accounts: deps.accounts, metrics: deps.metrics, now: deps.now }) } : {}),
  });
  await app.register(httpMetricsPlugin, { metrics: deps.metrics });
  await app.register(swaggerPlugin, { version: resolved.version });
  await app.register(routes, { config: resolved, deps });
  return app;
}
