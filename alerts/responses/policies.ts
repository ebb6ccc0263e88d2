import type { Logger } from 'pino';
import type { Alarm } from '../../core/alarms.js';
import { defaultResponsePolicy, proposalsFor, responsePolicySchema, type ProposalDraft, type ResponseDevice, type ResponsePolicy } from '../../core/responses.js';
import type { ResponsePolicyStore, StoredResponsePolicy } from '../../storage/responses/contract.js';

/**
 * The response policies in force: each site's own (stored, `PUT /api/responses/sites/{site}`) or
 * the default one (core/responses.ts: propose only). Kept in memory, so the incidents can ask what
 * an alarm proposes synchronously, as they decide.
 */

export interface ResponsePolicies {
  load(): Promise<void>;
  /** The policy in force at a site. */
  policyFor(site: string): ResponsePolicy;
  /** The site's own policy, when it has one. */
  own(site: string): StoredResponsePolicy | undefined;
  /** Replaces a site's policy (validated with core's schema; a ZodError for what does not parse). */
  put(site: string, input: unknown, by: string): Promise<StoredResponsePolicy>;
  /** Back to the default policy; whether the site had one of its own. */
  remove(site: string): Promise<boolean>;
  /** What the policy proposes for an active alarm of a device (nothing for a building's alarm or an unknown device). */
  propose(site: string, alarm: Pick<Alarm, 'id' | 'type' | 'severity' | 'originator'>): ProposalDraft[];
}

export function createResponsePolicies(deps: {
  store: ResponsePolicyStore; devices: { get(id: string): ResponseDevice | undefined }; clock: () => number; logger: Logger;
}): ResponsePolicies {
  const bySite = new Map<string, StoredResponsePolicy>();
  const log = deps.logger.child({ part: 'responses' });
  const api: ResponsePolicies = {
    async load() {
      bySite.clear();
      for (const p of await deps.store.all()) {
        // A stored policy that no longer parses (an alarm type renamed by an upgrade) must not stop
        // the incidents: the site runs on the default policy until a PUT replaces it.
        const parsed = responsePolicySchema.safeParse(p.policy);
        if (parsed.success) bySite.set(p.site, { ...p, policy: parsed.data });
        else log.error({ site: p.site, issues: parsed.error.issues }, 'stored response policy is invalid; the site runs on the default policy');
      }
    },
    policyFor: (site) => bySite.get(site)?.policy ?? defaultResponsePolicy,
    own: (site) => bySite.get(site),
    async put(site, input, by) {
      const policy = responsePolicySchema.parse(input);
      const stored: StoredResponsePolicy = { site, policy, updatedAt: deps.clock(), updatedBy: by };
      await deps.store.put(stored);
      bySite.set(site, stored);
      log.info({ site, rules: policy.rules.length, allowAuto: policy.allowAuto, by }, 'response policy replaced');
      return stored;
    },
    async remove(site) {
      const had = await deps.store.remove(site);
      bySite.delete(site);
      return had;
    },
    propose(site, alarm) {
      if (alarm.originator.kind !== 'device') return [];
      const device = deps.devices.get(alarm.originator.id);
      return device ? proposalsFor(api.policyFor(site), alarm, device) : [];
    },
  };
  return api;
}
