import type { PersonDelivery, PersonNotifier, PersonPage } from '../../../alerts/duty/contract.js';

/**
 * The test double of a PersonNotifier: records every page it is given and answers one delivery
 * per page on its channel (`sent`, or `failed` while `failNext` counts down); people without a
 * phone are not reachable by it, like an SMS gateway.
 */
export interface RecordingPersonNotifier extends PersonNotifier {
  readonly pages: PersonPage[];
  failNext: number;
  closed: boolean;
}

export function createRecordingPersonNotifier(channel = 'test'): RecordingPersonNotifier {
  const self: RecordingPersonNotifier = {
    name: `recording-${channel}`,
    pages: [],
    failNext: 0,
    closed: false,
    async notify(page): Promise<PersonDelivery[]> {
      if (self.closed || !page.person.phone) return [];
      self.pages.push(page);
      const failed = self.failNext > 0;
      if (failed) self.failNext -= 1;
      return [{ channel, target: 'double', outcome: failed ? 'failed' : 'sent', ...(failed ? { detail: 'refused by the double' } : {}) }];
    },
    async close() {
      self.closed = true;
    },
  };
  return self;
}
