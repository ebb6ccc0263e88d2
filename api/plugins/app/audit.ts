import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { auditAction, type AuditEntry } from '../../../core/audit.js';
import { getOrCreateMetric } from '../../../core/util/index.js';
import type { AuditStore } from '../../../storage/audit/contract.js';

/**
 * Writes the audit trail: every request that changed something (POST, PUT, PATCH, DELETE answered
 * below 400) by an authenticated caller becomes one entry — who (the person's account, or the
 * token of an integration), what (core/audit auditAction, from the route), on which id (for a
 * creation, the new one's id from the answer), from which address, when. One hook for every route, so no route can forget it. Written after the answer
 * went out, so it never delays one; an entry that cannot be written is logged in full and counted
 * in `anju_audit_write_failures_total` (never silently lost).
 */

const unsafe = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const loginRoute = '/api/session/login';
const loginRefusals = new Set([401, 403, 429]);

/** The id of what a POST created (201), read from the answer: the route's params have none yet. */
function createdId(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || !payload.startsWith('{')) return undefined;
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

export function createAuditHooks(deps: { store: AuditStore; metrics: Registry; now?: () => number }) {
  const failures = getOrCreateMetric(deps.metrics, 'anju_audit_write_failures_total', () =>
    new Counter({ name: 'anju_audit_write_failures_total', help: 'Audit entries that could not be written (each is logged with its content)', registers: [deps.metrics] }));
  const now = deps.now ?? Date.now;
  const created = new WeakMap<FastifyRequest, string>();
  return {
    // Only the id is kept from the answer (a created token's secret is in the same answer, and is never written).
    onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
      if (request.method === 'POST' && reply.statusCode === 201 && request.principal) {
        const id = createdId(payload);
        if (id !== undefined) created.set(request, id);
      }
      return payload;
    },
    onResponse: async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const p = request.principal;
      const route = request.routeOptions.url;
      if (route === undefined) return;
      const path = request.url.split('?')[0] ?? request.url;
      const base = { ts: now(), ip: request.ip, method: request.method, path, status: reply.statusCode };
      let entry: AuditEntry;
      const loginName = route === loginRoute ? (request.body as { login?: unknown } | undefined)?.login : undefined;
      // Only refusals of a validated body (a 400 carries whatever was sent, of any length).
      if (typeof loginName === 'string' && loginRefusals.has(reply.statusCode)) {
        // A refused log-in has no principal, but guessing is exactly what the trail must show: the
        // name as typed (validated by the route, never the password) and the refusal's status.
        entry = { ...base, actor: `login:${loginName}`, actorName: loginName, role: 'none', action: 'session.login_failed' };
      } else {
        if (!p || !unsafe.has(request.method) || reply.statusCode >= 400) return;
        const params = (request.params ?? {}) as Record<string, unknown>;
        const target = params.id ?? params.site ?? created.get(request);
        entry = { ...base, actor: p.tokenId, actorName: p.name, role: p.role, action: auditAction(request.method, route), ...(typeof target === 'string' ? { target } : {}) };
      }
      try {
        await deps.store.record(entry);
      } catch (err) {
        failures.inc();
        request.log.error({ err, auditEntry: entry }, 'audit entry not written');
      }
    },
  };
}
