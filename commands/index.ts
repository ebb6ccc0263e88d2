/**
 * Commands to devices: the one part that acts instead of watching. Its own folder rather than a
 * corner of alerts/ or ingest/: the flow runs the other way (platform → device → reply), it needs
 * the broker's publish and acknowledgements, which neither of those parts may touch, and the
 * incident responses that will propose commands use it as a client, not the reverse.
 * May import core, storage and broker types.
 */
export { createCommandService, EVENTS_KEPT, type CommandBroker, type CommandEvent, type CommandListener, type CommandService, type CommandServiceConfig } from './dispatcher.js';
