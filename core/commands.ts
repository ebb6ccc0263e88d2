import { z } from 'zod';
import { CodedError, type ErrorCategory, type ErrorDetail } from './errors.js';
import { switchCodes, valveCodes, type SwitchState, type ValveState } from './kinds/codes.js';
import type { KindName } from './kinds/index.js';

/**
 * Commands to devices: the vocabulary, the wire format and the lifecycle. No I/O here; the
 * dispatcher (commands/) publishes and tracks, the broker withholds an expired one, the API
 * validates with these schemas.
 *
 * Wire format (MQTT 3.1.1, README "Acting on devices"):
 * - the platform publishes QoS 1, not retained, on `devices/{id}/commands/{name}` the JSON
 *   `{id, name, params?, expiresAt}` (`expiresAt` ISO 8601);
 * - the device answers QoS 1 on its own `devices/{id}/replies` with `{id, outcome, message?, state?}`
 *   (`detail` is taken for `message`).
 *   The reply lives under the device's own namespace because a device publishes only there
 *   (broker/acl.ts): a `…/commands/{name}/reply` topic would sit inside the subtree it may only
 *   subscribe to, and let it answer for another command channel's subscribers.
 */

/** What a device can do, declared per device in the registry (`capabilities`). */
export const capabilityNames = ['valve', 'switch', 'hush', 'self_test'] as const;
export type Capability = (typeof capabilityNames)[number];

/** Which kind may declare which capability: a valve on a smoke detector is a registry mistake. */
export const kindCapabilities: Readonly<Partial<Record<KindName, readonly Capability[]>>> = {
  // 阀控水表: a motorised ball valve on the household or riser meter.
  water_meter: ['valve'],
  // 智慧用电: a meter with a motorised breaker (switch) on the circuit it measures.
  power_meter: ['switch'],
  // Hush and remote test: GB 20517-2006 / UL 217 detectors with a silence button and a test function.
  smoke_detector: ['hush', 'self_test'],
};

export const commandNames = ['open', 'close', 'reset', 'hush', 'test'] as const;
export type CommandName = (typeof commandNames)[number];

/**
 * Which commands a capability carries. For a valve `open` lets water through and `close` stops it;
 * for a switch (breaker) `open` breaks the circuit (power off) and `close` makes it, the electrical
 * sense of the words; `reset` re-arms a tripped breaker.
 */
export const capabilityCommands: Readonly<Record<Capability, readonly CommandName[]>> = {
  valve: ['open', 'close'],
  switch: ['open', 'close', 'reset'],
  hush: ['hush'],
  self_test: ['test'],
};

/**
 * States a device reports for what it controls — `valve` on a water meter, `switch` on a power
 * meter — by name in a command reply's `state`, by code in its readings (core/kinds/codes.ts).
 */
export const valveStates = Object.keys(valveCodes) as readonly ValveState[];
export const switchStates = Object.keys(switchCodes) as readonly SwitchState[];

/**
 * Hush bounds. A hushed detector must re-arm by itself: EN 14604:2005 §5.9 (alarm silence) allows
 * at most 15 minutes of reduced sensitivity; UL 217 (8th ed.) §43 lets hush last at most 10 minutes
 * before the detector re-arms. We take the stricter 10 min as the ceiling, 5 min as the default.
 */
export const HUSH_MAX_SECONDS = 600;
export const HUSH_DEFAULT_SECONDS = 300;

export const commandStatuses = ['queued', 'sent', 'delivered', 'succeeded', 'failed', 'expired'] as const;
export type CommandStatus = (typeof commandStatuses)[number];
export const finalCommandStatuses: readonly CommandStatus[] = ['succeeded', 'failed', 'expired'];

export function isFinalStatus(s: CommandStatus): boolean {
  return finalCommandStatuses.includes(s);
}

/** Time-to-live bounds: a minute is enough for a connected device; a day covers an NB-IoT meter that wakes every few hours. */
export const TTL_DEFAULT_SECONDS = 300;
export const TTL_MAX_SECONDS = 86_400;

const hushParams = z.object({ durationSeconds: z.number().int().min(1).max(HUSH_MAX_SECONDS).default(HUSH_DEFAULT_SECONDS) }).strict();
const noParams = z.object({}).strict();

/** Per command, what `params` may hold. */
export const commandParamSchemas: Readonly<Record<CommandName, z.ZodType<Record<string, unknown>>>> = {
  open: noParams, close: noParams, reset: noParams, test: noParams, hush: hushParams,
};

/** Body of `POST /api/devices/{id}/commands`. */
export const commandInputSchema = z.object({
  name: z.enum(commandNames),
  params: z.record(z.string(), z.unknown()).optional(),
  ttlSeconds: z.number().int().min(1).max(TTL_MAX_SECONDS).optional(),
}).strict();
export type CommandInput = z.infer<typeof commandInputSchema>;

/** What the device gets on `devices/{id}/commands/{name}`. */
export const commandMessageSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.enum(commandNames),
  params: z.record(z.string(), z.unknown()).optional(),
  expiresAt: z.string(),
});
export type CommandMessage = z.infer<typeof commandMessageSchema>;

export const commandOutcomes = ['succeeded', 'failed'] as const;
export type CommandOutcome = (typeof commandOutcomes)[number];

/** What the device says on `devices/{id}/replies`. */
export const commandReplySchema = z.object({
  id: z.string().min(1).max(64),
  outcome: z.enum(commandOutcomes),
  message: z.string().max(500).optional(),
  /** Another name for `message` that device firmware written to other platforms' RPC replies uses; `message` wins when both come. */
  detail: z.string().max(500).optional(),
  /** The state after the command, e.g. `closed` for a valve. */
  state: z.string().max(32).optional(),
});
export type CommandReply = z.infer<typeof commandReplySchema>;

/** A command as the platform keeps it. Times are epoch ms; undefined until it happens. */
export interface Command {
  readonly id: string;
  readonly device: string;
  readonly name: CommandName;
  readonly params?: Record<string, unknown>;
  readonly status: CommandStatus;
  /** Who sent it: `token:<name>` or `service:<id>`. */
  readonly sentBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly sentAt?: number;
  readonly deliveredAt?: number;
  readonly completedAt?: number;
  /** The device's message, or why the platform gave up. */
  readonly message?: string;
  /** The state the device reported with its reply. */
  readonly state?: string;
}

/** The capability a command needs on this kind, or undefined when the kind has no such command. */
export function capabilityFor(kind: KindName, name: CommandName): Capability | undefined {
  return (kindCapabilities[kind] ?? []).find((c) => capabilityCommands[c].includes(name));
}

/** Why a device cannot take a command, or undefined when it can. */
export function commandRefusal(device: { kind: KindName; capabilities?: readonly Capability[] }, name: CommandName): string | undefined {
  const capability = capabilityFor(device.kind, name);
  if (!capability) return `a ${device.kind} has no "${name}" command`;
  if (!(device.capabilities ?? []).includes(capability)) {
    return `this ${device.kind} does not declare the "${capability}" capability that "${name}" needs (registry: capabilities)`;
  }
  return undefined;
}

/** A command message past its `expiresAt` (or unreadable as one) must not reach the device. */
export function commandMessageExpired(payload: Uint8Array | string, now: number): boolean {
  try {
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
    const parsed = commandMessageSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return false;
    const at = Date.parse(parsed.data.expiresAt);
    return Number.isFinite(at) && at <= now;
  } catch {
    return false;
  }
}

export function encodeCommandMessage(c: Pick<Command, 'id' | 'name' | 'params' | 'expiresAt'>): string {
  return JSON.stringify({ id: c.id, name: c.name, ...(c.params ? { params: c.params } : {}), expiresAt: new Date(c.expiresAt).toISOString() });
}

/**
 * Why a command was refused before it was sent: `device_not_found` (404), `command_not_supported`
 * (409: the device exists but does not declare the capability), `invalid_command_params` (400).
 */
export class CommandError extends CodedError {
  override name = 'CommandError';
  constructor(code: string, category: ErrorCategory, message: string, options?: { cause?: unknown; details?: readonly ErrorDetail[] }) {
    super(code, category, message, options);
  }
}
