/** The calendar helpers moved to core (storage's daily rollups need them too); re-exported for reports. */
export * from '../core/time.js';
