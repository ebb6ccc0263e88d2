import type { Logger } from 'pino';
import type { Device, PresenceCause, Reading } from '../core/index.js';
import type { ClearRequest, DeviceView, RaiseRequest, Rule, RuleContext, RuleParams, RuleSignal } from './contracts.js';
import type { AlertMetrics } from './metrics.js';
import type { RuleStateTable } from './rule-state.js';

/**
 * Runs the rules over one reading, presence change or tick, synchronously and in the rule map's
 * order, and returns what they decided as actions for the engine's queue. Rules never touch the
 * store or the clock: they see `now` (the reading's time), their params and their state.
 * Decisions on device fire criteria are passed on as signals to rules that combine them.
 */
export interface PendingAction {
  readonly op: 'raise' | 'clear';
  readonly rule: string;
  readonly device: Device;
  readonly ts: number;
  readonly request: RaiseRequest | ClearRequest;
}

export interface EvaluatorDeps {
  rules: Readonly<Record<string, Rule>>;
  paramsFor(rule: string, device: Device): RuleParams;
  state: RuleStateTable;
  devices: DeviceView;
  logger: Logger;
  metrics: AlertMetrics;
}

type Hook = 'onReading' | 'onTick' | 'onPresence' | 'onSignal';

export function createEvaluator(deps: EvaluatorDeps) {
  const entries = Object.entries(deps.rules);
  const log = deps.logger;

  function context(name: string, rule: Rule, device: Device, now: number, params: RuleParams, out: PendingAction[]): RuleContext<RuleParams, unknown> {
    let own: unknown;
    const ruleLog = log.child({ rule: name });
    return {
      now, device, params, devices: deps.devices, log: ruleLog,
      get state() {
        own ??= deps.state.get(`${name}/device/${device.id}`, () => rule.initialState());
        return own;
      },
      stateOf: <T>(scope: string, init: () => T) => deps.state.get(`${name}/scope/${scope}`, init),
      raise: (request) => out.push({ op: 'raise', rule: name, device, ts: now, request }),
      clear: (request) => out.push({ op: 'clear', rule: name, device, ts: now, request }),
    };
  }

  function run(hook: Hook, device: Device, now: number, out: PendingAction[], call: (rule: Rule, ctx: RuleContext<RuleParams, unknown>) => void): void {
    for (const [name, rule] of entries) {
      if (!rule[hook] || !rule.kinds.includes(device.kind)) continue;
      try {
        const params = deps.paramsFor(name, device);
        if (!params.enabled) continue;
        call(rule, context(name, rule, device, now, params, out));
      } catch (err) {
        // One broken rule (or a bad override) must not starve the others of the reading.
        deps.metrics.ruleError(name);
        log.error({ err, rule: name, device: device.id }, 'alert rule failed');
      }
    }
  }

  /** Device-level decisions become signals for combining rules; their own decisions are not re-signalled. */
  function signal(out: PendingAction[]): void {
    const decided = out.filter((a) => a.request.originator === undefined || a.request.originator.kind === 'device');
    for (const a of decided) {
      const sig: RuleSignal = {
        action: a.op, type: a.request.type, device: a.device, ts: a.ts,
        ...(a.op === 'raise' ? { severity: (a.request as RaiseRequest).severity } : {}),
      };
      run('onSignal', a.device, a.ts, out, (rule, ctx) => rule.onSignal?.(ctx, sig));
    }
  }

  return {
    reading(device: Device, r: Reading): PendingAction[] {
      const out: PendingAction[] = [];
      run('onReading', device, r.ts, out, (rule, ctx) => rule.onReading?.(ctx, r));
      signal(out);
      return out;
    },
    presence(device: Device, status: 'online' | 'offline', ts: number, cause: PresenceCause): PendingAction[] {
      const out: PendingAction[] = [];
      run('onPresence', device, ts, out, (rule, ctx) => rule.onPresence?.(ctx, status, cause));
      signal(out);
      return out;
    },
    tick(devices: readonly Device[], now: number): PendingAction[] {
      const out: PendingAction[] = [];
      for (const d of devices) run('onTick', d, now, out, (rule, ctx) => rule.onTick?.(ctx));
      signal(out);
      return out;
    },
  };
}
