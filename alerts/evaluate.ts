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

  // One child logger per rule, made once: pino's child() serialises its bindings, too dear per reading.
  const ruleLogs = new Map(entries.map(([name]) => [name, log.child({ rule: name })]));

  // Each rule's per-device state key (`<rule>/device/<id>`), built once per device, not per reading.
  const stateKeys = new Map<string, Map<string, string>>();
  function stateKey(name: string, device: Device): string {
    let keys = stateKeys.get(device.id);
    if (!keys) stateKeys.set(device.id, (keys = new Map()));
    let key = keys.get(name);
    if (key === undefined) keys.set(name, (key = `${name}/device/${device.id}`));
    return key;
  }

  // One context per rule, reset for each evaluation (evaluations never overlap: all of this is
  // synchronous); one per rule per reading was the engine's largest allocation.
  const contexts = new Map(entries.map(([name, rule]) => [name, new Context(name, rule, ruleLogs.get(name) ?? log, deps, stateKey)]));

  // Per hook and device kind, the rules that have the hook and take the kind, in the rule map's order:
  // a reading visits the rules of its kind only, not all of them with a test each (the rule map is fixed).
  type Step = { name: string; rule: Rule; ctx: Context };
  const plans: Record<Hook, Map<string, Step[]>> = { onReading: new Map(), onTick: new Map(), onPresence: new Map(), onSignal: new Map() };
  function plan(hook: Hook, kind: string): Step[] {
    let steps = plans[hook].get(kind);
    if (!steps) {
      steps = entries.filter(([, rule]) => rule[hook] && (rule.kinds as readonly string[]).includes(kind))
        .map(([name, rule]) => ({ name, rule, ctx: contexts.get(name)! }));
      plans[hook].set(kind, steps);
    }
    return steps;
  }

  function run(hook: Hook, device: Device, now: number, out: PendingAction[], call: (rule: Rule, ctx: RuleContext<RuleParams, unknown>) => void): void {
    for (const { name, rule, ctx } of plan(hook, device.kind)) {
      try {
        const params = deps.paramsFor(name, device);
        if (!params.enabled) continue;
        call(rule, ctx.reset(device, now, params, out));
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

/**
 * What a rule sees for one evaluation: one per rule, reset before each call (`reset`), its methods on
 * the prototype. Outside a call it holds the last evaluation's values; rules must not keep it.
 */
class Context implements RuleContext<RuleParams, unknown> {
  private own: unknown;
  readonly devices: DeviceView;
  device!: Device;
  now = 0;
  params!: RuleParams;
  private out: PendingAction[] = [];
  constructor(
    private readonly name: string,
    private readonly rule: Rule,
    readonly log: Logger,
    private readonly deps: Pick<EvaluatorDeps, 'state' | 'devices'>,
    private readonly stateKey: (name: string, device: Device) => string,
  ) {
    this.devices = deps.devices;
  }

  reset(device: Device, now: number, params: RuleParams, out: PendingAction[]): this {
    this.device = device;
    this.now = now;
    this.params = params;
    this.out = out;
    this.own = undefined;
    return this;
  }

  get state(): unknown {
    this.own ??= this.deps.state.get(this.stateKey(this.name, this.device), () => this.rule.initialState());
    return this.own;
  }

  stateOf<T>(scope: string, init: () => T): T {
    return this.deps.state.get(`${this.name}/scope/${scope}`, init);
  }

  raise(request: RaiseRequest): void {
    this.out.push({ op: 'raise', rule: this.name, device: this.device, ts: this.now, request });
  }

  clear(request: ClearRequest): void {
    this.out.push({ op: 'clear', rule: this.name, device: this.device, ts: this.now, request });
  }
}
