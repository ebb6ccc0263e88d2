import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { Counter, Gauge } from 'prom-client';
import { z } from 'zod';
import { getOrCreateMetric } from '../../../../core/util/index.js';
import type { FastifyInstance } from 'fastify';
import type { AlarmEvent } from '../../../../alerts/contracts.js';
import { eventToJson } from '../../../../alerts/index.js';
import { createTokenAuthenticator } from '../../../plugins/app/auth.js';
import { ApiError } from '../../../plugins/app/errors.js';
import { siteVisibility } from '../../../plugins/app/scope.js';
import { errorSchema } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';
import type { AlertRouteOptions } from './schemas.js';

/**
 * `GET /api/alerts/stream` (and `GET /api/incidents/stream`, through `eventStreamRoute`): events as
 * Server-Sent Events (WHATWG HTML §9.2): `id: <seq>`, `event: <type>`, `data: <event JSON>` — the
 * JSON of MQTT and webhooks. Alarm events and incident events each have their own seq.
 *
 * Resuming: with `Last-Event-ID` (the header EventSource sends on reconnect, or `?lastEventId=`)
 * the stored events after it are replayed before live ones, with no gap and no duplicate at the
 * switch: the client subscribes first and holds live events while the replay reads the store,
 * then sends the held ones it has not already sent (seq > the last sent), and marks the switch with
 * the comment `: replayed up to <seq>` (the last event sent to this client: events of sites the
 * caller does not serve are skipped silently, their seqs neither sent nor reported). Without it, live only:
 * load `GET /api/alerts` first, then pass the highest seq seen, or resume from a previous stream.
 *
 * Auth: a bearer token as everywhere, the control room's session cookie, or — because a browser's EventSource cannot send headers —
 * `?access_token=<token>` on this route only (every other route ignores it). The route logs at warn
 * and above only, and every logged URL has the token's value redacted (app.ts), so it never
 * reaches the log.
 *
 * Limits: a comment line every `heartbeatMs` keeps proxies from closing an idle stream; a client
 * that leaves more than `maxClientBufferBytes` unread, or whose replay outruns `maxPendingEvents`
 * held live events, is disconnected (counted) — it reconnects with Last-Event-ID and catches up.
 */

const seqText = z.string().regex(/^\d{1,15}$/, 'expected an event id (a non-negative integer)');
const bearerQuery = /^[A-Za-z0-9\-._~+/]+=*$/;

/** What a stream serves: stored events with a seq, live ones, and how each is written. */
export interface EventSource<E extends { readonly seq: number; readonly type: string }> {
  subscribe(listener: (e: E) => void): () => void;
  eventsSince(seq: number, limit?: number): Promise<E[]>;
  /** The `data:` JSON of an event. */
  toJson(e: E): unknown;
  /** What the OpenAPI summary says it streams. */
  readonly what: string;
  /** The site an event is about (its alarm's, incident's, device's): a site-limited caller is sent only its sites' events. */
  siteOf(e: E): string | undefined;
}

/** Registers `GET <prefix>/stream` for `source` on `app`. */
export function eventStreamRoute<E extends { readonly seq: number; readonly type: string }>(app: FastifyInstance, { config, deps }: RouteOptions,
  source: EventSource<E>, tag: string): void {
  const engine = source;
  const { heartbeatMs, maxClientBufferBytes, maxPendingEvents } = config.alerts;
  const reg = deps.metrics;
  const clientsGauge = getOrCreateMetric(reg, 'anju_sse_clients', () => new Gauge({ name: 'anju_sse_clients', help: 'Connected alarm SSE clients', registers: [reg] }));
  const disconnects = getOrCreateMetric(reg, 'anju_sse_disconnects_total', () => new Counter({
    name: 'anju_sse_disconnects_total', help: 'Alarm SSE streams ended, by reason: client (went away), slow (left too much unread), shutdown, error (replay failed)', labelNames: ['reason'], registers: [reg],
  }));
  // Its own authenticator, without a cache: a stream is opened rarely, and a revoked token must not
  // be able to open one.
  const authenticator = createTokenAuthenticator({ cacheTtlMs: 0 }, { state: deps.state, ...(deps.now ? { now: deps.now } : {}) });
  const open = new Set<(reason: 'shutdown') => void>();

  app.addHook('preClose', async () => {
    for (const end of [...open]) end('shutdown');
  });

  (app.withTypeProvider<ZodTypeProvider>()).get(
    '/stream',
    {
      // Authenticated by the route's own hook below (header, ?access_token= or the session cookie); events filtered by site.
      config: { public: true, siteScoped: true },
      logLevel: 'warn',
      onRequest: async (request) => {
        const q = request.query as Record<string, unknown>;
        const token = typeof q.access_token === 'string' && bearerQuery.test(q.access_token) ? q.access_token : undefined;
        const header = request.headers.authorization ?? (token ? `Bearer ${token}` : undefined);
        // The control room's EventSource sends its session cookie (same origin) when it logged in with a name and password.
        const session = header === undefined ? await app.auth.fromSession(request) : undefined;
        request.principal = session ?? await app.auth.throttled(request, () => authenticator.authenticate(header));
      },
      schema: {
        tags: [tag],
        summary: `${source.what} as Server-Sent Events, resumable with Last-Event-ID`,
        description: 'EventSource cannot send headers: pass the token as `?access_token=` (this route only). Reconnects send `Last-Event-ID`; `?lastEventId=` does the same.',
        querystring: z.object({ access_token: z.string().optional(), lastEventId: seqText.optional() }),
        headers: z.object({ 'last-event-id': seqText.optional() }).loose(),
        response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, 400: errorSchema, 401: errorSchema },
      },
    },
    async (request, reply) => {
      const given = request.headers['last-event-id'] ?? request.query.lastEventId;
      const resumeFrom = given === undefined ? undefined : Number(given);
      if (resumeFrom !== undefined && !Number.isSafeInteger(resumeFrom)) throw new ApiError(400, 'validation_failed', 'Last-Event-ID is not an event id');

      reply.hijack();
      const res: ServerResponse = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // nginx buffers proxied responses by default, which would hold events back.
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      res.write(`retry: 3000\n: anju alarm stream\n\n`);

      let lastSent = resumeFrom ?? -1;
      // The last seq this client was sent (or resumed from): what the replay marker reports, so a
      // technician's stream never shows the seq of another site's event it skipped.
      let lastShown = lastSent;
      let live = false;
      let ended = false;
      const held: E[] = [];

      const end = (reason: 'client' | 'slow' | 'shutdown' | 'error') => {
        if (ended) return;
        ended = true;
        unsubscribe();
        clearInterval(heartbeat);
        open.delete(end);
        clientsGauge.dec();
        disconnects.inc({ reason });
        if (reason === 'slow') request.log.warn({ unread: res.writableLength }, 'alarm stream client too slow: disconnected');
        if (reason === 'client') return;
        if (reason === 'slow') res.destroy();
        else res.end();
      };
      const write = (text: string) => {
        if (ended) return;
        res.write(text);
        if (res.writableLength > maxClientBufferBytes) end('slow');
      };
      const visible = siteVisibility(request);
      const send = (e: E) => {
        if (e.seq <= lastSent) return;
        lastSent = e.seq;
        // Another site's event is skipped, not sent: its seq still counts as seen, so a resume never asks for it again.
        if (!visible(source.siteOf(e))) return;
        lastShown = e.seq;
        write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(source.toJson(e))}\n\n`);
      };
      const unsubscribe = engine.subscribe((e) => {
        if (live) return send(e);
        held.push(e);
        if (held.length > maxPendingEvents) end('slow');
      });
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
      heartbeat.unref();
      open.add(end);
      clientsGauge.inc();
      res.on('close', () => end('client'));

      try {
        if (resumeFrom !== undefined) {
          const page = 1_000;
          for (;;) {
            const events = await engine.eventsSince(lastSent, page);
            if (ended) return;
            for (const e of events) send(e);
            if (events.length < page) break;
          }
        }
        for (const e of held.splice(0)) send(e);
        live = true;
        // A comment (EventSource ignores it; scripts and tests read it): the replay is complete, every
        // stored event up to this id was sent, what follows is live.
        if (resumeFrom !== undefined) write(`: replayed up to ${lastShown}\n\n`);
      } catch (err) {
        request.log.error({ err }, 'event stream replay failed');
        end('error');
      }
    },
  );
}

export const alertStreamRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (app, opts) => {
  // Cluster: the shared log's feed (every node's events); otherwise this node's engine.
  const events = opts.alerts.feeds?.alarms ?? opts.alerts.engine;
  eventStreamRoute<AlarmEvent>(app, opts, {
    what: 'Alarm events', subscribe: (l) => events.subscribe(l), eventsSince: (seq, limit) => events.eventsSince(seq, limit), toJson: (e) => eventToJson(e),
    siteOf: (e) => e.alarm.site,
  }, 'alerts');
};
