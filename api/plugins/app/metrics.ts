import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../../../core/util/index.js';

/**
 * HTTP metrics, recorded for every answer (401s and 404s included: a burst of them is what an
 * operator wants to see). The `route` label is the route pattern (`/api/devices/:id`), never the
 * raw URL, so the label set stays bounded whatever callers send; unmatched URLs share one label.
 */

function counter(registry: Registry): Counter<'route' | 'method' | 'status'> {
  // One registry may serve several app instances (tests, a restart in-process): reuse the metric.
  return getOrCreateMetric(registry, 'anju_http_requests_total', () => new Counter({
    name: 'anju_http_requests_total',
    help: 'HTTP requests answered by the API, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  }));
}

function histogram(registry: Registry): Histogram<'route' | 'method'> {
  return getOrCreateMetric(registry, 'anju_http_request_duration_seconds', () => new Histogram({
    name: 'anju_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer.',
    labelNames: ['route', 'method'],
    // From a cached /latest (sub-ms) to a year of aggregated telemetry (seconds).
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }));
}

async function httpMetricsPlugin(app: FastifyInstance, opts: { metrics: Registry }): Promise<void> {
  const requests = counter(opts.metrics);
  const duration = histogram(opts.metrics);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    duration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
}

export default fp(httpMetricsPlugin, { name: 'anju-http-metrics', fastify: '5.x' });
