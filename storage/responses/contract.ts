import type { ResponsePolicy } from '../../core/responses.js';

/**
 * What storage keeps of response policies (core/responses.ts): one per site, replaced whole by
 * `PUT /api/responses/sites/{site}`, read whole at start-up (a handful of sites, a few rules each).
 * Validation is the caller's (the zod schema in core); a store persists what it is given.
 */

export interface StoredResponsePolicy {
  readonly site: string;
  readonly policy: ResponsePolicy;
  readonly updatedAt: number;
  /** Who replaced it: `account:<id>` or `token:<name>`. */
  readonly updatedBy: string;
}

export interface ResponsePolicyStore {
  all(): Promise<StoredResponsePolicy[]>;
  /** Replaces the site's policy. */
  put(p: StoredResponsePolicy): Promise<void>;
  /** Removes it (the site falls back to the default policy); answers whether there was one. */
  remove(site: string): Promise<boolean>;
  close(): Promise<void>;
}
