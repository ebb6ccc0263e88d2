import { alarmKey, isActive, type Alarm } from '../alarms/contract.js';
import { createStoredRecordIndex, type StoredRecordIndex } from './record-index.js';

export { MAX_INDEXED_REVISIONS } from './record-index.js';

/** What the embedded alarm store's checks need to know of `alarms` (storage/embedded/record-index.ts). */
export type StoredAlarmIndex = StoredRecordIndex<Alarm>;

export function createStoredAlarmIndex(config: { maxRevisions?: number } = {}): StoredAlarmIndex {
  return createStoredRecordIndex<Alarm>({
    keyOf: (a) => alarmKey({ originator: a.originator, type: a.type, site: a.site }),
    isActive: (a) => isActive(a.status),
    ...config,
  });
}
