import type { BinCategory, FieldValue, KindName } from './kinds/index.js';

/**
 * One validated, enriched measurement of one device at one instant — what ingest hands to the
 * store, the alerts engine and the live bus. Storage maps it to: measurement = `kind`; tags =
 * `site`, `building`, `device` (+ `category` for bins); fields = `fields`; time = `ts` (ms).
 */
export interface Reading {
  readonly device: string;
  readonly kind: KindName;
  readonly site: string;
  readonly building: string;
  readonly category?: BinCategory;
  /** Measurement time, epoch ms (the device's `ts`, or the receive time when it sent none). */
  readonly ts: number;
  /**
   * When the platform received it (epoch ms, server clock). Device clocks drift — minutes, for
   * cheap NB-IoT modules — so liveness (alerts' offline rule) is judged on this, never on `ts`.
   * Set by ingest; absent for readings that never crossed it (backfill).
   */
  readonly receivedAt?: number;
  /** The device's message counter, when it sends one. */
  readonly seq?: number;
  readonly fields: Readonly<Record<string, FieldValue>>;
}

/** The tags a reading is stored under, in their canonical order. */
export const readingTags = ['site', 'building', 'device', 'category'] as const;
