import { createRobotMentionNotifier } from '../../../alerts/duty/robots.js';
import { createSmsGatewayNotifier } from '../../../alerts/duty/sms.js';
import { personNotifierContract } from './person-notifier.contract.js';
import { startReceiver } from './receiver.js';
import { createRecordingPersonNotifier } from './recording-notifier.js';

const fast = { attempts: 3, baseDelayMs: 5, timeoutMs: 2_000 };

personNotifierContract('recording double', async () => {
  const double = createRecordingPersonNotifier();
  return { notifier: double, received: () => double.pages.map((p) => `${p.incident.id}:duty:${p.step}`), cleanup: async () => undefined };
});

for (const format of ['wecom', 'dingtalk'] as const) {
  personNotifierContract(`${format} robot @mention (local HTTP receiver)`, async () => {
    const r = await startReceiver();
    const notifier = createRobotMentionNotifier({ targets: [{ url: r.url, format, ...(format === 'dingtalk' ? { dingtalkSecret: 'SECtest' } : {}) }], ...fast });
    return { notifier, received: () => r.requests.map((q) => String(q.headers['idempotency-key'])), refuse: (n) => r.refuse(n), cleanup: () => r.close() };
  }, { refuses: true });
}

personNotifierContract('SMS gateway (local HTTP receiver)', async () => {
  const r = await startReceiver('/sms');
  const notifier = createSmsGatewayNotifier({ url: r.url, token: 'gw-token', ...fast });
  return { notifier, received: () => r.requests.map((q) => String(q.body.key)), refuse: (n) => r.refuse(n), cleanup: () => r.close() };
}, { refuses: true });
