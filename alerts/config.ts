import { z } from 'zod';
import { idSchema, kindNames, type Device, type KindName } from '../core/index.js';
import { RulesConfigError, type Rule, type RuleParams } from './contracts.js';

/**
 * Rule configuration: every number has a default in its rule file, citing its source. Operators
 * override per site, per kind and per device (most specific wins: code defaults ← code per-kind
 * defaults ← `all` ← `kinds[kind]` ← `sites[site]` ← `devices[id]`). Overrides are partial
 * parameter objects keyed by rule name; each value is validated when the config is parsed, and each
 * merged result by the rule's own schema when a device's parameters are resolved (a combination
 * that breaks a cross-field rule, e.g. clearBelow ≥ threshold, is logged and the rule skipped).
 * This is also the body of `GET|PUT /api/rules`.
 */

const overrides = z.record(z.string(), z.record(z.string(), z.unknown()));

export const rulesConfigSchema = z
  .object({
    all: overrides.default({}),
    kinds: z.partialRecord(z.enum(kindNames as [KindName, ...KindName[]]), overrides).default({}),
    sites: z.record(idSchema, overrides).default({}),
    devices: z.record(idSchema, overrides).default({}),
  })
  .strict();
export type RulesConfig = z.infer<typeof rulesConfigSchema>;
export type RulesConfigInput = z.input<typeof rulesConfigSchema>;

export interface AlertEngineConfig {
  rules: RulesConfig;
  /** How long dirty rule state may wait before it is written (it is always written on close). */
  stateFlushMs: number;
}

export const defaultAlertEngineConfig: AlertEngineConfig = { rules: { all: {}, kinds: {}, sites: {}, devices: {} }, stateFlushMs: 1_000 };

type RuleMap = Readonly<Record<string, Rule>>;

/**
 * Parses a rules config and checks every override against its rule (unknown rule names and
 * out-of-range values are refused with a RulesConfigError naming their path), so a bad config
 * stops start-up or a PUT.
 */
export function parseRulesConfig(input: unknown, rules: RuleMap): RulesConfig {
  const parsed = rulesConfigSchema.safeParse(input);
  if (!parsed.success) throw new RulesConfigError(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  const config = parsed.data;
  const refuse = (path: string, message: string) => new RulesConfigError([{ path, message }]);
  const check = (where: string, o: Record<string, Record<string, unknown>>) => {
    for (const [name, partial] of Object.entries(o)) {
      const rule = rules[name];
      if (!rule) throw refuse(where, `unknown rule "${name}" (known: ${Object.keys(rules).join(', ')})`);
      // Each value is checked on its own here; cross-field constraints (clearBelow < threshold)
      // depend on the layers beneath, so they are checked when a device's parameters are resolved.
      const shape = (rule.params as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
      for (const [param, value] of Object.entries(partial)) {
        const field = shape[param];
        if (!field) throw refuse(`${where}.${name}`, `unknown parameter "${param}" (known: ${Object.keys(shape).join(', ')})`);
        const r = field.safeParse(value);
        if (!r.success) throw refuse(`${where}.${name}.${param}`, z.prettifyError(r.error));
      }
    }
  };
  check('all', config.all);
  for (const [k, o] of Object.entries(config.kinds)) if (o) check(`kinds.${k}`, o);
  for (const [s, o] of Object.entries(config.sites)) check(`sites.${s}`, o);
  for (const [d, o] of Object.entries(config.devices)) check(`devices.${d}`, o);
  return config;
}

/** Resolves and memoises each rule's parameters per device (keyed on what they depend on). */
export function createParamResolver(config: RulesConfig, rules: RuleMap) {
  // By device id, then rule: no key string is built per reading. A device moved to another site or
  // re-registered as another kind resolves afresh (its params depend on both).
  const memo = new Map<string, { site: string; kind: string; byRule: Map<string, RuleParams> }>();
  return function paramsFor(ruleName: string, device: Device): RuleParams {
    let entry = memo.get(device.id);
    if (!entry || entry.site !== device.site || entry.kind !== device.kind) {
      entry = { site: device.site, kind: device.kind, byRule: new Map() };
      memo.set(device.id, entry);
    }
    const hit = entry.byRule.get(ruleName);
    if (hit) return hit;
    const rule = rules[ruleName];
    if (!rule) throw new Error(`unknown rule ${ruleName}`);
    const merged = {
      ...rule.defaults,
      ...rule.kindDefaults?.[device.kind],
      ...config.all[ruleName],
      ...config.kinds[device.kind]?.[ruleName],
      ...config.sites[device.site]?.[ruleName],
      ...config.devices[device.id]?.[ruleName],
    };
    const params = rule.params.parse(merged);
    entry.byRule.set(ruleName, params);
    return params;
  };
}
