/**
 * API roles, highest first: a role may do whatever the roles below it may. The server checks them
 * on every route (api/plugins/app/auth.ts); the control room (dashboards/web) uses the same rank
 * only to hide actions a role cannot take.
 */
export const roles = ['admin', 'operator', 'maintenance', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const roleRank: Readonly<Record<Role, number>> = { admin: 3, operator: 2, maintenance: 1, viewer: 0 };

export function roleAtLeast(role: Role, min: Role): boolean {
  return roleRank[role] >= roleRank[min];
}
