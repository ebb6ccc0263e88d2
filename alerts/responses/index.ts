/**
 * Responses tied to incidents (README "Acting on devices"): per-site policies say which alarm
 * proposes which command; the incidents add the proposals as they decide; the responder carries
 * them out through the command dispatcher when a person confirms, or by itself when allowed.
 */
export { createResponsePolicies, type ResponsePolicies } from './policies.js';
export { createResponder, type Responder, type ResponderConfig, type ResponderDeps, type ResponseCommands } from './responder.js';
export { AUTO_ACTOR } from './transitions.js';
