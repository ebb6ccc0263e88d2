/**
 * The MQTT topic contract (DESIGN.md §3). Devices live under `devices/{id}/`; the platform
 * publishes alarm events under `anju/alerts/{site}/{type}`.
 */

/** Device, site and building ids: safe in a topic level, a URL segment and an InfluxDB tag. */
export const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isValidId(id: string): boolean {
  return idPattern.test(id);
}

export const topics = {
  telemetry: (device: string) => `devices/${device}/telemetry`,
  status: (device: string) => `devices/${device}/status`,
  commands: (device: string) => `devices/${device}/commands`,
  command: (device: string, name: string) => `devices/${device}/commands/${name}`,
  /** Where a device answers the platform's commands (core/commands.ts): its own namespace, like its readings. */
  replies: (device: string) => `devices/${device}/replies`,
  alert: (site: string, type: string) => `anju/alerts/${site}/${type}`,
  /** What an ingest worker subscribes to. */
  allTelemetry: 'devices/+/telemetry',
  allStatus: 'devices/+/status',
  /** What the command dispatcher takes before the broker acknowledges a reply. */
  allReplies: 'devices/+/replies',
} as const;

export type DeviceTopicKind = 'telemetry' | 'status' | 'commands';

/**
 * The channels a device itself publishes on: its readings, its presence (its Will, or a birth
 * message), and its replies to commands. Exact names, case-sensitive (MQTT 3.1.1 §4.7.3: topics are compared byte by byte).
 */
export const devicePublishChannels = ['telemetry', 'status', 'replies'] as const;

/** What a device says on its status channel (DESIGN §3), the broker's own presence vocabulary. */
export const presenceStates = ['online', 'offline'] as const;

/**
 * Whether `filter` is a well-formed MQTT topic filter (§4.7.1): non-empty, no U+0000 (§4.7.3),
 * `#` only as the whole last level, `+` only as a whole level. Bounded to 256 characters, which is
 * far above any topic Anju or a bridge uses.
 */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 256 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) =>
    level === '#' ? i === levels.length - 1 : level === '+' || (!level.includes('#') && !level.includes('+')));
}

/** `devices/{id}/{telemetry|status|commands...}` → its parts, or undefined for any other topic. */
export function parseDeviceTopic(topic: string): { device: string; channel: DeviceTopicKind; rest: string[] } | undefined {
  const parts = topic.split('/');
  if (parts.length < 3 || parts[0] !== 'devices') return undefined;
  const device = parts[1] ?? '';
  const channel = parts[2];
  if (!isValidId(device)) return undefined;
  if (channel !== 'telemetry' && channel !== 'status' && channel !== 'commands') return undefined;
  if (channel !== 'commands' && parts.length !== 3) return undefined;
  return { device, channel, rest: parts.slice(3) };
}

/**
 * MQTT 3.1.1 §4.7 topic matching of a concrete topic name against a filter with `+` and `#`.
 * Per §4.7.2, a filter starting with a wildcard does not match topics starting with `$`.
 */
export function topicMatches(filter: string, topic: string): boolean {
  // Level by level with indexOf and char codes, not split: it runs on every publish (ACL, admission),
  // where the arrays split made were ~1 % of the hub's allocations at saturation (BENCHMARKS.md).
  const PLUS = 43; // '+'
  const HASH = 35; // '#'
  if (topic.charCodeAt(0) === 36 /* '$' */ && (filter.charCodeAt(0) === PLUS || filter.charCodeAt(0) === HASH)) return false;
  let fi = 0; // start of the filter's level
  let ti = 0; // start of the topic's level; past topic.length once the topic has no more levels
  for (;;) {
    let fe = filter.indexOf('/', fi);
    if (fe === -1) fe = filter.length;
    const last = fe === filter.length;
    const width = fe - fi;
    // §4.7.1.2: '#' is the last level and matches the parent level too ("sport/#" matches "sport").
    if (width === 1 && filter.charCodeAt(fi) === HASH) return last;
    if (ti > topic.length) return false;
    let te = topic.indexOf('/', ti);
    if (te === -1) te = topic.length;
    if (!(width === 1 && filter.charCodeAt(fi) === PLUS)) {
      if (te - ti !== width) return false;
      for (let k = 0; k < width; k++) if (filter.charCodeAt(fi + k) !== topic.charCodeAt(ti + k)) return false;
    }
    if (last) return te === topic.length;
    fi = fe + 1;
    ti = te + 1;
  }
}

/**
 * Whether every topic a subscription `filter` can match is also matched by `allowed`.
 * Used by the ACL: a service account allowed `devices/+/telemetry` may subscribe to exactly that
 * or narrower (`devices/a1/telemetry`), never `devices/#`.
 */
export function filterWithin(filter: string, allowed: string): boolean {
  // §4.7.2: wildcards never match `$` topics, so only a literal `$...` first level grants them.
  if (filter.startsWith('$') && (allowed.startsWith('+') || allowed.startsWith('#'))) return false;
  const f = filter.split('/');
  const a = allowed.split('/');
  for (let i = 0; i < f.length; i++) {
    const al = a[i];
    if (al === '#') return true;
    if (al === undefined) return false;
    const fl = f[i];
    if (fl === '#') return false;
    if (al === '+') continue;
    if (fl === '+' || fl !== al) return false;
  }
  // §4.7.1.2: "a/#" also matches the parent level "a".
  return f.length === a.length || (a.length === f.length + 1 && a[f.length] === '#');
}
