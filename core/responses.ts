import { z } from 'zod';
import { alarmTypes, severities, severityRank, type Severity } from './alarms.js';
import { commandNames, commandRefusal, commandStatuses, TTL_MAX_SECONDS, type Capability, type CommandName, type CommandStatus } from './commands.js';
import { CodedError, type ErrorCategory } from './errors.js';
import { interlock, type InterlockRefusal } from './interlocks.js';
import type { KindName } from './kinds/index.js';
import { idSchema, meterPurposes, type MeterPurpose } from './registry.js';

/**
 * Responses tied to incidents: per site, which alarm of an incident proposes which command to the
 * device that raised it, and whether the platform may carry it out by itself after a while. No I/O
 * here; alerts/responses/ proposes and carries out, the API validates policies with these schemas.
 *
 * A proposal waits for a person (`propose`) unless its rule says `auto_after` AND the site allows
 * automatic actions (`allowAuto`) AND no interlock stands in the way (core/interlocks.ts: circuits
 * feeding an elevator, fire pump, smoke extraction or emergency lighting are never opened
 * automatically — GB 50016-2014 §10.1.6, GB 51348-2019). An interlocked proposal is still made,
 * flagged with the interlock, and waits for a person whatever the rule says.
 */

export const responseModes = ['propose', 'auto_after'] as const;
export type ResponseMode = (typeof responseModes)[number];

/** Longest wait before an automatic action: a day (a leak nobody looked at for longer is not one to act on blind). */
export const AUTO_AFTER_MAX_MINUTES = 24 * 60;

export const responseRuleSchema = z.object({
  /** The alarm type that proposes (core/alarms.ts alarmTypes), e.g. `water_burst`, `residual_current`. */
  alarm: z.enum(alarmTypes),
  /** Only at or above this severity (residual current: `critical`, the level the rule raises at once above 500 mA). */
  minSeverity: z.enum(severities).optional(),
  /** Only devices of these purposes (a burst on a `household` meter: its own valve; a riser's valve cuts a whole building). */
  purposes: z.array(z.enum(meterPurposes)).min(1).optional(),
  command: z.enum(commandNames),
  mode: z.enum(responseModes).default('propose'),
  /** With `auto_after`: minutes after the proposal that it is carried out if nobody confirmed or rejected it. */
  autoAfterMinutes: z.number().int().min(1).max(AUTO_AFTER_MAX_MINUTES).optional(),
  /** The command's time to live once sent (core/commands.ts bounds); the dispatcher's default when absent. */
  ttlSeconds: z.number().int().min(1).max(TTL_MAX_SECONDS).optional(),
}).strict().refine((r) => r.mode !== 'auto_after' || r.autoAfterMinutes !== undefined, {
  message: 'mode auto_after needs autoAfterMinutes', path: ['autoAfterMinutes'],
});
export type ResponseRule = z.infer<typeof responseRuleSchema>;

/** One site's policy: the body of `PUT /api/responses/sites/{site}`. */
export const responsePolicySchema = z.object({
  /** Whether `auto_after` rules may act without a person at this site. Off unless the site says so. */
  allowAuto: z.boolean().default(false),
  rules: z.array(responseRuleSchema).max(32).default([]),
}).strict();
export type ResponsePolicy = z.infer<typeof responsePolicySchema>;
export type ResponsePolicyInput = z.input<typeof responsePolicySchema>;

export const responseSiteParams = z.object({ site: idSchema });

/**
 * The policy of a site with none of its own: propose only, never automatic. A burst on a household
 * meter proposes closing that meter's valve; residual current at the critical level (≥ 500 mA,
 * alerts/rules/residual-current.ts, GB 50116-2013 §9.2.3 / GB 14287.2) proposes opening the
 * circuit's breaker.
 */
export const defaultResponsePolicy: ResponsePolicy = {
  allowAuto: false,
  rules: [
    { alarm: 'water_burst', purposes: ['household'], command: 'close', mode: 'propose' },
    { alarm: 'residual_current', minSeverity: 'critical', command: 'open', mode: 'propose' },
  ],
};

export const proposalStatuses = ['proposed', 'confirmed', 'performed', 'rejected', 'withdrawn'] as const;
/**
 * proposed: waiting for a person (or for its automatic time); confirmed: a person said yes and the
 * command went to the dispatcher; performed: carried out automatically; rejected: a person said no;
 * withdrawn: the incident cleared before anyone decided.
 */
export type ProposalStatus = (typeof proposalStatuses)[number];

/** A proposal as its incident keeps it. Times are epoch ms. */
export interface Proposal {
  readonly id: string;
  /** The alarm whose rule proposed it, and its type. */
  readonly alarmId: string;
  readonly alarmType: string;
  readonly device: string;
  readonly command: CommandName;
  readonly ttlSeconds?: number;
  readonly mode: ResponseMode;
  /** When it is carried out if still proposed (auto_after, allowed, no interlock). */
  readonly autoAt?: number;
  /** Why it may never be carried out automatically (shown with the proposal). */
  readonly interlock?: InterlockRefusal;
  readonly status: ProposalStatus;
  readonly createdAt: number;
  readonly decidedAt?: number;
  /** Who confirmed or rejected it, or `auto:response` for an automatic action. */
  readonly decidedBy?: string;
  /** Who the command is sent as (`token:<name>` for a person, as `POST /api/devices/{id}/commands` records it). */
  readonly sentBy?: string;
  /** A person's reason for a rejection. */
  readonly reason?: string;
  /** The command sent for it (its id is chosen before it is sent, so a restart in between sends it once). */
  readonly commandId?: string;
  readonly commandStatus?: CommandStatus;
  readonly commandMessage?: string;
  readonly commandState?: string;
}

/** What happened to a proposal, as an incident event says (and its timeline entry `response`). */
export const responseSteps = ['proposed', 'confirmed', 'rejected', 'performed', 'withdrawn', 'command', 'succeeded', 'failed', 'expired'] as const;
export type ResponseStep = (typeof responseSteps)[number];

export interface ResponseChange {
  readonly proposalId: string;
  readonly step: ResponseStep;
}

export const isOpenProposal = (p: Pick<Proposal, 'status'>): boolean => p.status === 'proposed';
export const commandStatusSchema = z.enum(commandStatuses);

/** The device as a policy needs it. */
export interface ResponseDevice {
  readonly id: string;
  readonly kind: KindName;
  readonly purpose?: MeterPurpose;
  readonly capabilities?: readonly Capability[];
}

/** What a matching rule proposes; the incidents turn it into a Proposal with an id and a time. */
export type ProposalDraft = Pick<Proposal, 'alarmId' | 'alarmType' | 'device' | 'command' | 'ttlSeconds' | 'mode' | 'interlock'> & {
  readonly autoAfterMs?: number;
};

/**
 * What the policy proposes for an active alarm on this device: one draft per matching rule, each
 * command once. A rule whose command the device cannot take (no valve declared) proposes nothing.
 * Automatic only with `auto_after`, `allowAuto` and no interlock.
 */
export function proposalsFor(
  policy: ResponsePolicy,
  alarm: { id: string; type: string; severity: Severity },
  device: ResponseDevice,
): ProposalDraft[] {
  const drafts: ProposalDraft[] = [];
  for (const rule of policy.rules) {
    if (rule.alarm !== alarm.type) continue;
    if (rule.minSeverity && severityRank[alarm.severity] < severityRank[rule.minSeverity]) continue;
    if (rule.purposes && (device.purpose === undefined || !rule.purposes.includes(device.purpose))) continue;
    if (commandRefusal(device, rule.command)) continue;
    if (drafts.some((d) => d.command === rule.command)) continue;
    const lock = interlock(device, rule.command, 'automatic');
    const auto = rule.mode === 'auto_after' && policy.allowAuto && !lock && rule.autoAfterMinutes !== undefined;
    drafts.push({
      alarmId: alarm.id, alarmType: alarm.type, device: device.id, command: rule.command, mode: auto ? 'auto_after' : 'propose',
      ...(auto ? { autoAfterMs: rule.autoAfterMinutes! * 60_000 } : {}), ...(lock ? { interlock: lock } : {}),
      ...(rule.ttlSeconds !== undefined ? { ttlSeconds: rule.ttlSeconds } : {}),
    });
  }
  return drafts;
}

/**
 * Why a proposal cannot be confirmed or rejected: `proposal_not_found` (404), `proposal_decided`
 * (409: confirmed, rejected, performed or withdrawn already), `incident_not_active` (409).
 */
export class ResponseError extends CodedError {
  override name = 'ResponseError';
  constructor(code: string, category: ErrorCategory, message: string) {
    super(code, category, message);
  }
}
