import type { TextNames } from '../../core/alarm-text.js';
import type { PersonNotifier } from './contract.js';
import { createRobotMentionNotifier, type RobotMentionConfig } from './robots.js';
import { createSmsGatewayNotifier, type SmsGatewayConfig } from './sms.js';

export * from './contract.js';
export { createDutyRouter, type DutyCheck, type DutyConfig, type DutyDeps, type DutyRouter } from './router.js';
export { handOver, recordPage, rosterActor, routeState, type RouteState } from './routing.js';
export { createRobotMentionNotifier, mentionBody, type RobotMentionConfig } from './robots.js';
export { createSmsGatewayNotifier, type SmsGatewayConfig } from './sms.js';

/** What a person notifier factory may be given; each takes what it needs. */
export interface PersonNotifierDeps {
  names?: TextNames;
  fetch?: typeof fetch;
}

/** Person notifier name → factory (DESIGN §2: explicit name → factory maps); a voice or app-message channel joins here. */
export const personNotifierFactories = {
  robots: (config: RobotMentionConfig, deps: PersonNotifierDeps): PersonNotifier => createRobotMentionNotifier(config, deps),
  sms: (config: SmsGatewayConfig, deps: PersonNotifierDeps): PersonNotifier => createSmsGatewayNotifier(config, deps),
} as const;
