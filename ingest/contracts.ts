import type { Device, Reading } from '../core/index.js';

/**
 * Ingest contracts. Sources produce raw messages; the pipeline (decode ▶ validate ▶ enrich ▶
 * dedupe) turns them into Readings and hands them to the consumers it was given — the store
 * writer, the alerts engine, the live bus — without importing any of them.
 */

export interface RawMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** Receive time, epoch ms: the reading's time when the device sent none. */
  readonly receivedAt: number;
  /** Name of the source it came through (`in-process`, `mqtt:<url>`). */
  readonly source: string;
}

/**
 * A message handler: resolves once the message is accepted (durably) or refused and dead-lettered;
 * rejects only when it could not be taken at all — the source must then not acknowledge it.
 */
export type MessageSink = (message: RawMessage) => Promise<void>;

export interface IngestSource {
  readonly name: string;
  start(sink: MessageSink): Promise<void>;
  stop(): Promise<void>;
}

export interface ReadingConsumer {
  readonly name: string;
  /**
   * A durable consumer (the spool) must take the reading for the message to be acknowledged: its
   * failure makes `Pipeline.handle` reject, so the source refuses the message (no PUBACK) instead
   * of losing it. Failures of other consumers are logged and counted; the reading still counts.
   */
  readonly durable?: boolean;
  /** Called with every batch of accepted readings, in arrival order. */
  accept(readings: readonly Reading[]): void | Promise<void>;
}

/** What ingest needs from the registry: a synchronous lookup, served from memory. */
export interface DeviceLookup {
  get(id: string): Device | undefined;
}

export const rejectReasons = [
  'malformed_json',
  'schema_violation',
  'unknown_device',
  'unknown_kind',
  'timestamp_out_of_range',
  'payload_too_large',
  'bad_topic',
  // A stage failed on this message (a bug, not the device's fault): dead-lettered, counted, logged with its stack.
  'internal_error',
] as const;
export type RejectReason = (typeof rejectReasons)[number];

/** One dead-lettered message, as `GET /api/ingest/rejects` lists it. */
export interface Reject {
  readonly at: number;
  readonly reason: RejectReason;
  readonly topic: string;
  readonly device?: string;
  readonly source: string;
  /** What was wrong, in words an integrator can act on. */
  readonly detail: string;
  readonly size: number;
  /** The first bytes of the payload (UTF-8, control characters escaped), for diagnosis. */
  readonly sample: string;
}

export interface RejectQuery {
  readonly reason?: RejectReason;
  readonly device?: string;
  readonly limit: number;
  readonly offset: number;
}

/** The bounded dead-letter log: the newest N refusals, and running totals by reason. */
export interface RejectLog {
  record(reject: Reject): void;
  /** Newest first. */
  list(query: RejectQuery): { items: Reject[]; total: number };
  /** Refusals since start, by reason (including those the bounded log no longer holds). */
  counts(): Record<RejectReason, number>;
}
