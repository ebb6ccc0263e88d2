import type { CommandName } from './commands.js';
import type { KindName } from './kinds/index.js';
import type { MeterPurpose } from './registry.js';

/**
 * Safety interlocks: what the platform must never do on its own, whatever a rule or an incident
 * response proposes. A person may still decide (manual commands pass); an automatic action is refused
 * with the reason and the standard behind it.
 *
 * Circuits that must keep power (opening their breaker automatically is refused):
 * - fire pump, smoke extraction, emergency lighting: fire loads. GB 50016-2014 (2018 ed.) §10.1.6:
 *   fire equipment is fed by dedicated circuits that must keep their supply when the building's
 *   other power is cut — cutting it on a leakage reading would disable the fire systems exactly when
 *   a fire may be starting. GB 51348-2019 (civil building electrical design, fire power supply)
 *   follows the same principle: on fire loads, electrical-fire monitoring alarms, it does not trip;
 * - elevator: a car may hold passengers, who would be trapped between floors; a fire elevator is a
 *   fire load in its own right (GB 50016-2014 §7.3 and §10.1).
 */

export const powerContinuityPurposes: readonly MeterPurpose[] = ['elevator', 'fire_pump', 'smoke_extraction', 'emergency_lighting'];

export interface InterlockRefusal {
  readonly code: 'interlock_power_continuity';
  /** Why, in words an operator can act on. */
  readonly reason: string;
  readonly standard: string;
}

/**
 * Whether a command may be carried out `automatically` (no person confirmed it) on this device;
 * undefined when nothing stands in the way, else the refusal. Manual commands are never refused here.
 */
export function interlock(
  device: { kind: KindName; purpose?: MeterPurpose },
  command: CommandName,
  mode: 'automatic' | 'manual',
): InterlockRefusal | undefined {
  if (mode === 'manual') return undefined;
  if (device.kind === 'power_meter' && command === 'open' && device.purpose !== undefined && powerContinuityPurposes.includes(device.purpose)) {
    return {
      code: 'interlock_power_continuity',
      reason: `the circuit feeds ${device.purpose.replace('_', ' ')}: its breaker is opened only by a person, never automatically`,
      standard: device.purpose === 'elevator' ? 'GB 50016-2014 §7.3, §10.1' : 'GB 50016-2014 §10.1.6; GB 51348-2019',
    };
  }
  return undefined;
}
