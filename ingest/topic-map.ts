import { ConfigError } from '../core/config.js';
import { isValidId } from '../core/index.js';
import { createCodecs, isCodecName, codecNames, type Codec, type CodecOptions } from './codecs/index.js';

/**
 * Which topics ingest reads, which device each message belongs to, and which codec decodes it.
 * A pattern is a topic with one `{id}` placeholder, alone in its level or with a literal prefix or
 * suffix (`tele/tasmota_{id}/SENSOR` for Tasmota's default `tasmota_%06X` topic). The MQTT filter
 * replaces that level with `+`. The captured part is the registry id as-is: a Zigbee2MQTT friendly
 * name or a Tasmota topic must equal the device's Anju id (letters, digits, `_`, `.`, `-`).
 */
export interface TopicRoute {
  readonly pattern: string;
  readonly codec: string;
}

export interface TopicMatch {
  readonly device: string;
  readonly codec: Codec;
  readonly pattern: string;
}

export interface TopicMapper {
  /** MQTT subscription filters, one per distinct pattern. */
  readonly filters: readonly string[];
  readonly routes: readonly TopicRoute[];
  /** The first route the topic matches with a valid device id, or undefined. */
  match(topic: string): TopicMatch | undefined;
}

/** Anju's own contract (DESIGN.md §3): what the embedded broker's devices publish. */
export const anjuTelemetryRoute: TopicRoute = { pattern: 'devices/{id}/telemetry', codec: 'json' };

interface Compiled {
  readonly route: TopicRoute;
  readonly levels: readonly string[];
  readonly idLevel: number;
  readonly prefix: string;
  readonly suffix: string;
  readonly filter: string;
  readonly codec: Codec;
}

/** Parses one pattern, or explains what is wrong with it. */
export function compilePattern(pattern: string): { levels: string[]; idLevel: number; prefix: string; suffix: string; filter: string } | string {
  if (pattern.length === 0 || pattern.length > 256) return 'a pattern must be 1–256 characters';
  if (/[+#]/.test(pattern) || pattern.includes('\u0000')) return 'use {id} for the device level; + and # are derived, not written';
  if (pattern.startsWith('$')) return 'topics starting with $ are broker-internal (MQTT 3.1.1 §4.7.2)';
  const levels = pattern.split('/');
  const withId = levels.map((l, i) => [l, i] as const).filter(([l]) => l.includes('{id}'));
  if (withId.length !== 1 || (withId[0]?.[0].split('{id}').length ?? 0) !== 2) return 'a pattern needs exactly one {id}';
  const [level, idLevel] = withId[0] as readonly [string, number];
  const [prefix = '', suffix = ''] = level.split('{id}');
  if (/[{}]/.test(prefix + suffix) || levels.some((l, i) => i !== idLevel && /[{}]/.test(l))) return 'only {id} is a placeholder';
  const filter = levels.map((l, i) => (i === idLevel ? '+' : l)).join('/');
  return { levels, idLevel, prefix, suffix, filter };
}

/** Two `+`-only filters of the same depth overlap when every level is equal or a wildcard. */
function overlaps(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  return x.length === y.length && x.every((l, i) => l === y[i] || l === '+' || y[i] === '+');
}

export interface TopicMapperConfig {
  readonly routes: readonly TopicRoute[];
  readonly codecOptions?: CodecOptions;
  /** Topics whose match is remembered (default 65,536). */
  readonly cacheEntries?: number;
}

export function createTopicMapper(config: TopicMapperConfig): TopicMapper {
  if (config.routes.length === 0) throw new ConfigError('ingest needs at least one topic mapping');
  const codecs = createCodecs(config.codecOptions ?? {});
  const compiled: Compiled[] = config.routes.map((route) => {
    const c = compilePattern(route.pattern);
    if (typeof c === 'string') throw new ConfigError(`topic mapping ${route.pattern}: ${c} (ANJU_MQTT_TOPICS)`);
    if (!isCodecName(route.codec)) throw new ConfigError(`topic mapping ${route.pattern}: unknown codec ${route.codec}; known: ${codecNames.join(', ')} (ANJU_MQTT_TOPICS)`);
    return { route, ...c, codec: codecs[route.codec] };
  });
  const filters: string[] = [];
  for (const c of compiled) {
    if (filters.includes(c.filter)) continue;
    // MQTT 3.1.1 §3.3.5: a broker may deliver a message once per matching subscription, so
    // overlapping filters would store it twice. Same filter (different prefixes) is fine: one subscription.
    const clash = filters.find((f) => overlaps(f, c.filter));
    if (clash) throw new ConfigError(`topic mappings overlap: ${c.filter} and ${clash} match the same topics, so messages would arrive twice (ANJU_MQTT_TOPICS)`);
    filters.push(c.filter);
  }

  // Every message of a device arrives on the same topic: its match is remembered rather than split
  // and checked again per message (a split, a regex and a result object each). Bounded: when full it
  // starts over, so a flood of made-up topics costs misses, never memory.
  const cacheEntries = config.cacheEntries ?? 65_536;
  const cache = new Map<string, TopicMatch | null>();
  const remembered = (topic: string, m: TopicMatch | undefined): TopicMatch | undefined => {
    if (cache.size >= cacheEntries) cache.clear();
    cache.set(topic, m ?? null);
    return m;
  };

  return {
    filters,
    routes: config.routes,
    match(topic) {
      const hit = cache.get(topic);
      if (hit !== undefined) return hit ?? undefined;
      return remembered(topic, matchUncached(topic));
    },
  };

  function matchUncached(topic: string): TopicMatch | undefined {
    const levels = topic.split('/');
    for (const c of compiled) {
      if (levels.length !== c.levels.length) continue;
      if (!c.levels.every((l, i) => i === c.idLevel || l === levels[i])) continue;
      const level = levels[c.idLevel] ?? '';
      if (level.length <= c.prefix.length + c.suffix.length || !level.startsWith(c.prefix) || !level.endsWith(c.suffix)) continue;
      const device = level.slice(c.prefix.length, level.length - c.suffix.length);
      if (!isValidId(device)) continue;
      return { device, codec: c.codec, pattern: c.route.pattern };
    }
    return undefined;
  }
}

/** Ingest of Anju's own devices only: `devices/{id}/telemetry`, JSON or SenML. */
export function createDefaultTopicMapper(): TopicMapper {
  return createTopicMapper({ routes: [anjuTelemetryRoute] });
}
