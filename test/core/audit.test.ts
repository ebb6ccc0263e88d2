import { describe, expect, it } from 'vitest';
import { auditAction, auditQuerySchema } from '../../core/audit.js';

describe('auditAction', () => {
  it('names an action by its resource and the route’s own words, else by the method', () => {
    expect(auditAction('POST', '/api/alerts/:id/ack')).toBe('alarm.ack');
    expect(auditAction('POST', '/api/alerts/:id/assign')).toBe('alarm.assign');
    expect(auditAction('POST', '/api/incidents/:id/comment')).toBe('incident.comment');
    expect(auditAction('POST', '/api/tokens')).toBe('token.create');
    expect(auditAction('DELETE', '/api/tokens/:id')).toBe('token.delete');
    expect(auditAction('PUT', '/api/rules')).toBe('rule.change');
    expect(auditAction('PUT', '/api/rules/sites/:site')).toBe('rule.sites_change');
    expect(auditAction('PATCH', '/api/accounts/:id')).toBe('account.change');
    expect(auditAction('PUT', '/api/accounts/:id/password')).toBe('account.password_change');
    expect(auditAction('POST', '/api/accounts/:id/password/reset')).toBe('account.password_reset');
    expect(auditAction('POST', '/api/service-accounts')).toBe('service_account.create');
  });
});

describe('auditQuerySchema', () => {
  it('takes ISO times or epoch ms and refuses a range that ends before it starts', () => {
    expect(auditQuerySchema.parse({ from: '2026-01-01T08:00:00+08:00', to: '1767225600001' })).toEqual({ from: 1767225600000, to: 1767225600001 });
    expect(auditQuerySchema.safeParse({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }).success).toBe(false);
    expect(auditQuerySchema.safeParse({ action: 'DROP TABLE' }).success).toBe(false);
  });
});
