import { z } from 'zod';
import { idSchema } from './registry.js';
import { isValidTopicFilter, topics } from './topics.js';

/**
 * Service accounts: MQTT principals that are not devices — ingest workers, bridges, a BMS or
 * fire-panel gateway, a conformance suite. Each has its own topic filters: what it may publish to,
 * what it may subscribe within, and what it may never touch (deny wins over both). Ids share the
 * registry's alphabet and namespace: no service account has a device's id, and the other way round.
 */

export const topicFilterSchema = z
  .string()
  .refine(isValidTopicFilter, 'an MQTT topic filter (MQTT 3.1.1 §4.7): 1–256 characters, + and # only as whole levels, # last, no U+0000');

const filters = z.array(topicFilterSchema).max(64, 'at most 64 filters');

export const serviceAccountInputSchema = z
  .object({
    id: idSchema.describe('the MQTT username; client ids are this id or `<id>:<suffix>`'),
    publish: filters.default([]).describe('topic filters it may publish to'),
    subscribe: filters.default([]).describe('topic filters it may subscribe within'),
    deny: filters.default([]).describe('topic filters it may neither publish to nor receive from; wins over publish and subscribe'),
  })
  .strict();
export type ServiceAccountInput = z.infer<typeof serviceAccountInputSchema>;

/** The rights the ingest account (`ANJU_INGEST_USER`) is created with: what a hub consumes and publishes. */
export const ingestAccountRights = {
  publish: ['anju/#'],
  subscribe: [topics.allTelemetry, topics.allStatus, 'anju/alerts/#', '$SYS/#'],
  deny: [],
} as const satisfies Omit<ServiceAccountInput, 'id'>;
