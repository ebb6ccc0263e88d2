import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { Device, Reading } from '../core/index.js';
import { isKindName, kinds } from '../core/index.js';
import type { DeviceLookup, RawMessage, ReadingConsumer, RejectLog, RejectReason } from './contracts.js';
import { createDeduper } from './dedupe.js';
import { sameTs } from './dedupe.js';
import { createDefaultTopicMapper, type TopicMapper } from './topic-map.js';

export interface PipelineConfig {
  /** Payloads above this many bytes are refused unread. */
  readonly maxPayloadBytes: number;
  /** How far a device clock may run ahead of ours (ms). */
  readonly maxFutureSkewMs: number;
  /** How old a reading may be (ms): devices buffer through outages, but 1970 is a broken clock. */
  readonly maxAgeMs: number;
  readonly dedupe: { readonly ttlMs: number; readonly maxEntries: number };
}

export const defaultPipelineConfig: PipelineConfig = {
  maxPayloadBytes: 64 * 1024,
  maxFutureSkewMs: 5 * 60_000,
  maxAgeMs: 30 * 24 * 3_600_000,
  dedupe: { ttlMs: 15 * 60_000, maxEntries: 200_000 },
};

export interface PipelineDeps {
  readonly devices: DeviceLookup;
  readonly consumers: readonly ReadingConsumer[];
  readonly rejects: RejectLog;
  readonly logger: Logger;
  readonly metrics: Registry;
  /**
   * Which device a topic belongs to and which codec decodes it. Default: Anju's own
   * `devices/{id}/telemetry` with JSON (or SenML). Give the same mapper the source subscribes with.
   */
  readonly topics?: TopicMapper;
}

export interface Pipeline {
  /**
   * Processes one message. A bad message is dead-lettered, not thrown; the promise rejects only
   * when a durable consumer could not take a good reading (the source must not acknowledge it).
   */
  handle(message: RawMessage): Promise<void>;
  /** rejected = dead-lettered; refused = not taken (durable consumer failed), to be resent. */
  stats(): { received: number; accepted: number; duplicates: number; rejected: number; refused: number };
}

const SAMPLE_BYTES = 256;

/** The outcome of a message settled at once (refused and dead-lettered, or taken by a synchronous consumer). */
const TAKEN: Promise<void> = Promise.resolve();

/** ECMAScript Date range, ±8.64e15 ms (±275,760 years): beyond it `toISOString` throws. */
const MAX_DATE_MS = 8.64e15;

/** An instant for a message: ISO 8601 when a Date can hold it, else the raw number. */
function describeInstant(ts: number): string {
  return Math.abs(ts) <= MAX_DATE_MS ? new Date(ts).toISOString() : `${ts} ms, beyond any date (±8.64e15 ms)`;
}

/** The first bytes of a payload, printable, for the dead-letter log. */
function sampleOf(payload: Buffer): string {
  const text = payload.subarray(0, SAMPLE_BYTES).toString('utf8');
  // eslint-disable-next-line no-control-regex
  const printable = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return payload.length > SAMPLE_BYTES ? `${printable}…` : printable;
}

/**
 * decode ▶ validate ▶ enrich ▶ dedupe ▶ consumers. Each refusal names its reason and what the
 * device should do differently; good messages around a bad one are unaffected.
 */
/** Each kind's field names, listed once rather than per message. */
const fieldNames = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, Object.keys(v.fields)])) as Record<keyof typeof kinds, string[]>;

/**
 * A reading, its keys always in this order (the spool stores it as JSON): one literal per shape
 * rather than spreads of optional parts, which built and copied two throwaway objects per message.
 */
function readingOf(device: Device, ts: number, receivedAt: number, seq: number | undefined, fields: Reading['fields']): Reading {
  const { id, kind, site, building, category } = device;
  if (category) {
    return seq === undefined
      ? { device: id, kind, site, building, category, ts, receivedAt, fields }
      : { device: id, kind, site, building, category, ts, receivedAt, seq, fields };
  }
  return seq === undefined
    ? { device: id, kind, site, building, ts, receivedAt, fields }
    : { device: id, kind, site, building, ts, receivedAt, seq, fields };
}

export function createPipeline(config: PipelineConfig, deps: PipelineDeps): Pipeline {
  const dedupe = createDeduper(config.dedupe);
  const mapper = deps.topics ?? createDefaultTopicMapper();
  const topicHint = mapper.routes.map((r) => r.pattern).join(', ');
  // The two per-message counters are kept as plain numbers and handed to prom-client at scrape
  // time (collect), so a message costs no label hashing; the exposed series are the same.
  const receivedBy = new Map<string, number>();
  const acceptedBy = new Map<string, number>();
  const reported = { received: new Map<string, number>(), accepted: new Map<string, number>() };
  const sync = (counter: Counter<string>, label: string, counts: Map<string, number>, done: Map<string, number>) => {
    for (const [value, n] of counts) {
      const delta = n - (done.get(value) ?? 0);
      if (delta > 0) counter.inc({ [label]: value }, delta);
      done.set(value, n);
    }
  };
  new Counter({
    name: 'anju_ingest_messages_total', help: 'Messages received by ingest.', labelNames: ['source'], registers: [deps.metrics],
    collect() { sync(this, 'source', receivedBy, reported.received); },
  });
  new Counter({
    name: 'anju_ingest_accepted_total', help: 'Readings accepted and handed to consumers.', labelNames: ['kind'], registers: [deps.metrics],
    collect() { sync(this, 'kind', acceptedBy, reported.accepted); },
  });
  const duplicates = new Counter({ name: 'anju_ingest_duplicates_total', help: 'Repeated messages (same device, seq, ts) dropped by dedupe.', registers: [deps.metrics] });
  const refused = new Counter({ name: 'anju_ingest_refused_total', help: 'Valid readings a durable consumer could not take (not acknowledged; the device resends).', registers: [deps.metrics] });
  const consumerErrors = new Counter({ name: 'anju_ingest_consumer_errors_total', help: 'Errors thrown by reading consumers.', labelNames: ['consumer'], registers: [deps.metrics] });
  const counts = { received: 0, accepted: 0, duplicates: 0, rejected: 0, refused: 0 };
  const durable = deps.consumers.filter((c) => c.durable);
  const others = deps.consumers.filter((c) => !c.durable);

  function reject(message: RawMessage, reason: RejectReason, detail: string, device?: string): void {
    counts.rejected += 1;
    deps.rejects.record({
      at: message.receivedAt, reason, topic: message.topic, device, source: message.source, detail,
      size: message.payload.length, sample: sampleOf(message.payload),
    });
    deps.logger.debug({ reason, topic: message.topic, device }, `ingest refused a message: ${detail}`);
  }

  const failed = (consumer: ReadingConsumer) => (err: unknown) => {
    consumerErrors.inc({ consumer: consumer.name });
    deps.logger.error({ err, consumer: consumer.name }, 'a reading consumer failed; the others still got the reading');
  };
  // Non-durable consumers are called in arrival order but not awaited, so alert evaluation never
  // delays a PUBACK. They take readings in batches: every reading whose durable consumers finished
  // in the same turn (one spool group commit resolves many at once) goes to each of them in one
  // call, on a microtask, so the alert engine pays its per-call work once per group, not per
  // reading. Each may have this many batches in flight before ingest waits for it.
  const inFlight = new Map<string, number>();
  const MAX_IN_FLIGHT = 1_000;
  let forOthers: Reading[] = [];
  let flushScheduled = false;
  /** Settles when the batch handed over last has settled with every congested consumer. */
  let congestion: Promise<void> | undefined;

  function flushOthers(): void {
    flushScheduled = false;
    const batch = forOthers;
    forOthers = [];
    const waits: Promise<unknown>[] = [];
    for (const consumer of others) {
      let result: void | Promise<void>;
      try {
        result = consumer.accept(batch);
      } catch (err) {
        failed(consumer)(err);
        continue;
      }
      if (!result) continue;
      const n = (inFlight.get(consumer.name) ?? 0) + 1;
      inFlight.set(consumer.name, n);
      const settled = result.catch(failed(consumer)).finally(() => inFlight.set(consumer.name, (inFlight.get(consumer.name) ?? 1) - 1));
      if (n >= MAX_IN_FLIGHT) waits.push(settled);
    }
    congestion = waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined;
  }

  /**
   * The durable consumers' verdict on these readings: the spool's promise itself when it is the only
   * one (every append of a group commit shares it), else their verdicts in turn.
   */
  function takeDurably(readings: Reading[]): Promise<void> {
    if (durable.length === 1) {
      try {
        return durable[0]!.accept(readings) ?? TAKEN;
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return (async () => {
      for (const consumer of durable) await consumer.accept(readings);
    })();
  }

  /**
   * Readings whose durable consumers answer with one promise (one spool group commit): they settle
   * together, so they share one continuation and one outcome instead of an async function, a promise
   * and a closure per message each (thousands of messages wait on an fsync at once, and all of that
   * was garbage the young generation copied; bench:ratio --alloc-profile).
   */
  interface Delivery {
    readonly taken: Promise<void>;
    readonly readings: Reading[];
    /** Each reading's device ts, as dedupe keys it (NaN: none; the reading's own ts may be the receive time). */
    readonly deviceTs: number[];
    done: Promise<void>;
  }
  /** The delivery new readings join while its durable promise is the one they get. */
  let open: Delivery | undefined;
  /** Deliveries not settled yet: a few groups, however many messages they hold. */
  const unsettled = new Set<Delivery>();

  /**
   * The outcome of this message if it is still on its way to the spool (a QoS 1 resend after a
   * reconnect arrives while the original waits for its group): a scan of what is in flight, which
   * only a repeat pays for, instead of an index every message would maintain.
   */
  function onItsWay(device: string, seq: number, deviceTs: number | undefined): Promise<void> | undefined {
    const t = deviceTs ?? NaN;
    for (const d of unsettled) {
      for (let i = 0; i < d.readings.length; i += 1) {
        const r = d.readings[i]!;
        if (r.seq === seq && r.device === device && sameTs(d.deviceTs[i]!, t)) return d.done;
      }
    }
    return undefined;
  }

  function deliver(reading: Reading, deviceTs: number | undefined): Delivery {
    // Durable consumers first: a reading the spool refused must not reach alerts or the live view
    // as if it had been taken — the device will send it again.
    const taken = takeDurably([reading]);
    const joined = open?.taken === taken ? open : undefined;
    if (joined) {
      joined.readings.push(reading);
      joined.deviceTs.push(deviceTs ?? NaN);
      return joined;
    }
    const d: Delivery = { taken, readings: [reading], deviceTs: [deviceTs ?? NaN], done: TAKEN };
    d.done = taken.then(() => delivered(d), (err: unknown) => notTaken(d, err));
    open = d;
    unsettled.add(d);
    return d;
  }

  function settle(d: Delivery): void {
    if (open === d) open = undefined;
    unsettled.delete(d);
  }

  function delivered(d: Delivery): Promise<void> | undefined {
    settle(d);
    for (const r of d.readings) {
      counts.accepted += 1;
      acceptedBy.set(r.kind, (acceptedBy.get(r.kind) ?? 0) + 1);
    }
    if (others.length === 0) return undefined;
    for (const r of d.readings) forOthers.push(r);
    if (!flushScheduled) {
      flushScheduled = true;
      queueMicrotask(flushOthers);
    }
    // A consumer this far behind holds ingest (and so the PUBACKs) back until it catches up.
    return congestion;
  }

  function notTaken(d: Delivery, err: unknown): never {
    settle(d);
    // Not taken: forgotten by dedupe so the resends are not mistaken for repeats.
    for (let i = 0; i < d.readings.length; i += 1) {
      const r = d.readings[i]!;
      if (r.seq !== undefined) dedupe.forget(r.device, r.seq, Number.isNaN(d.deviceTs[i]) ? undefined : d.deviceTs[i]);
    }
    counts.refused += d.readings.length;
    refused.inc(d.readings.length);
    throw err;
  }

  function toReading(message: RawMessage): { reading: Reading; deviceTs: number | undefined } | undefined {
    if (message.payload.length > config.maxPayloadBytes) {
      reject(message, 'payload_too_large', `payload is ${message.payload.length} bytes, the limit is ${config.maxPayloadBytes}`);
      return undefined;
    }
    const topic = mapper.match(message.topic);
    if (!topic) {
      reject(message, 'bad_topic', `telemetry must be published to ${topicHint}, where {id} is a registered device id (letters, digits, _ . -)`);
      return undefined;
    }
    const device = deps.devices.get(topic.device);
    if (!device) {
      reject(message, 'unknown_device', `device ${topic.device} is not registered; provision it with POST /api/devices`, topic.device);
      return undefined;
    }
    if (!isKindName(device.kind)) {
      reject(message, 'unknown_kind', `device ${device.id} has kind ${device.kind}, which this version does not know`, device.id);
      return undefined;
    }
    const decoded = topic.codec.decode(message.payload, { device: device.id, kind: device.kind, receivedAt: message.receivedAt });
    if (!decoded.ok) {
      reject(message, decoded.reason, decoded.detail, device.id);
      return undefined;
    }
    const declared = (decoded.value as { kind?: unknown }).kind;
    if (declared !== undefined && declared !== device.kind) {
      reject(message, 'unknown_kind', `payload says kind ${String(declared)} but ${device.id} is registered as ${device.kind}`, device.id);
      return undefined;
    }
    const kind = kinds[device.kind];
    let payload = kind.accepts(decoded.value);
    if (!payload) {
      const parsed = kind.payload.safeParse(decoded.value);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
        reject(message, 'schema_violation', `not a valid ${device.kind} reading: ${issues.join('; ')}`, device.id);
        return undefined;
      }
      payload = parsed.data;
    }
    const ts = payload.ts ?? message.receivedAt;
    if (ts > message.receivedAt + config.maxFutureSkewMs || ts < message.receivedAt - config.maxAgeMs) {
      const hint = ts >= 0 && ts < 1e11 ? ' (it looks like seconds; send epoch milliseconds or ISO 8601)' : '';
      reject(message, 'timestamp_out_of_range', `ts ${describeInstant(ts)} is outside the accepted window${hint}; check the device clock`, device.id);
      return undefined;
    }
    const fields: Record<string, number | boolean> = {};
    for (const name of fieldNames[device.kind]) {
      const value = payload[name];
      // -0 is a valid JSON number that equals 0 but prints and sorts apart from it: stored as 0.
      if (value !== undefined) fields[name] = value === 0 ? 0 : value;
    }
    const seq = payload.seq === undefined ? undefined : payload.seq === 0 ? 0 : payload.seq;
    return { reading: readingOf(device, ts, message.receivedAt, seq, fields), deviceTs: payload.ts };
  }

  function refuse(err: unknown): never {
    counts.refused += 1;
    refused.inc();
    throw err;
  }

  /** A repeat: acknowledged once its original is taken, refused if that is refused. */
  async function repeat(original: Promise<void> | undefined): Promise<void> {
    if (original) await original.catch(refuse);
    counts.duplicates += 1;
    duplicates.inc();
  }

  return {
    handle(message) {
      counts.received += 1;
      receivedBy.set(message.source, (receivedBy.get(message.source) ?? 0) + 1);
      let result: ReturnType<typeof toReading>;
      try {
        result = toReading(message);
      } catch (err) {
        // A bug in a stage must cost one message, not the process: dead-lettered under its own
        // reason (never passed off as the device's schema violation), with the device when known.
        deps.logger.error({ err, topic: message.topic }, 'ingest stage failed unexpectedly');
        let device: string | undefined;
        try {
          device = mapper.match(message.topic)?.device;
        } catch {
          device = undefined;
        }
        reject(message, 'internal_error', 'an ingest stage failed on this message (a bug in Anju, not the device: report it with this entry); the message is kept here', device);
        return TAKEN;
      }
      if (!result) return TAKEN;
      const { reading, deviceTs } = result;
      // A repeat carries the device's own ts (or none), never our receive time.
      const seq = reading.seq;
      if (seq !== undefined) {
        // The original may still be on its way to the spool (a QoS 1 resend after a reconnect):
        // this copy is acknowledged only once that one is taken, and refused if it is refused.
        if (dedupe.seen(reading.device, seq, deviceTs, message.receivedAt)) return repeat(onItsWay(reading.device, seq, deviceTs));
      }
      return deliver(reading, deviceTs).done;
    },
    stats: () => ({ ...counts }),
  };
}
