import { batteryField, defineKind } from './define.js';

/**
 * Manual fire alarm call point (手动火灾报警按钮, GB 19880-2005 / EN 54-11): a person who sees a
 * fire presses it. `alarm` is its state — `true` from the press until it is reset with its key
 * (the element latches), `false` in a heartbeat; `test` is a maintenance test.
 *
 * Its own kind, not an input of a smoke detector: a call point is installed where people pass
 * (GB 50116-2013 §6.3.1: in every fire compartment, no point more than 30 m walking distance
 * from one, usually beside the stairs and exits), has its own identity, location, battery and
 * supervision, and counts as an alarm signal *independent* of the detectors around it
 * (GB 50116-2013 §4.1.6: "two independent alarm signals — two detectors, or a detector and a
 * manual call point"). As an input of a detector it would make one device id stand for two
 * devices and defeat exactly that independence. Wireless units report a heartbeat about hourly
 * (NB-IoT ones set the device's `report_interval_s`) and report at once when pressed.
 */
export const manualCallPoint = defineKind({
  name: 'manual_call_point',
  label: { en: 'Manual call point', zh: '手动报警按钮' },
  mainField: 'alarm',
  fields: {
    alarm: { type: 'bool', description: 'pressed (latched until reset with its key)' },
    test: { type: 'bool', description: 'maintenance test: log, never notify' },
    battery: batteryField,
  },
  cumulative: [],
  reportingIntervalS: 3600,
});
