import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { canSeeSite, deploymentPrincipal, principalOf, requireRoleAt, roleAt, roleOverAllSites, siteFilter, siteVisibility } from '../../api/plugins/app/scope.js';

/** The site-scope helpers on their own (every route's use of them: test/api/site-scope.test.ts). */
describe('site scope helpers', () => {
  const as = (p: ReturnType<typeof principalOf>) => ({ principal: p ?? null }) as unknown as FastifyRequest;
  const mixed = principalOf('account:li', 'li', [{ role: 'maintenance', sites: ['a'] }, { role: 'viewer', sites: ['b', 'a'] }]);

  it('derives the highest role anywhere, the sites seen, and the role over every site', () => {
    expect(mixed).toMatchObject({ role: 'maintenance', sites: new Set(['a', 'b']) });
    expect(roleOverAllSites(mixed!.grants)).toBeUndefined();
    const boss = principalOf('account:wu', 'wu', [{ role: 'viewer', sites: '*' }, { role: 'admin', sites: ['a'] }]);
    expect(boss).toMatchObject({ role: 'admin', sites: '*' });
    expect(roleOverAllSites(boss!.grants)).toBe('viewer');
    expect(principalOf('account:x', 'x', [])).toBeUndefined();
    expect(deploymentPrincipal('t1', 'grafana', 'viewer')).toMatchObject({ sites: '*', grants: [{ role: 'viewer', sites: '*' }] });
  });

  it('answers visibility, the role at a site and the refusal of too low a one', () => {
    const r = as(mixed);
    expect([canSeeSite(r, 'a'), canSeeSite(r, 'b'), canSeeSite(r, 'c')]).toEqual([true, true, false]);
    expect([roleAt(r, 'a'), roleAt(r, 'b'), roleAt(r, 'c')]).toEqual(['maintenance', 'viewer', undefined]);
    expect(() => requireRoleAt(r, 'a', 'maintenance')).not.toThrow();
    expect(() => requireRoleAt(r, 'b', 'maintenance')).toThrow(/maintenance role at site b/);
    expect(() => requireRoleAt(r, 'c', 'viewer')).toThrow(/no role there/);
    const visible = siteVisibility(r);
    expect([visible('a'), visible('c'), visible(undefined)]).toEqual([true, false, false]);
    expect(siteVisibility(as(deploymentPrincipal('t', 't', 'viewer')))(undefined)).toBe(true);
  });

  it('narrows a list filter to the caller\'s sites; another site asked for matches nothing', () => {
    const r = as(mixed);
    expect(siteFilter(r)).toEqual({ sites: ['a', 'b'] });
    expect(siteFilter(r, 'b')).toEqual({ site: 'b' });
    expect(siteFilter(r, 'c')).toEqual({ sites: [] });
    const all = as(deploymentPrincipal('t', 't', 'admin'));
    expect(siteFilter(all)).toEqual({});
    expect(siteFilter(all, 'c')).toEqual({ site: 'c' });
  });

  it('refuses a request without a caller', () => {
    expect(() => canSeeSite(as(undefined), 'a')).toThrow(/bearer token is required/);
  });
});
