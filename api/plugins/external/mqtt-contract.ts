import { describeCodes, kinds, topics } from '../../../core/index.js';
import { rejectReasons } from '../../../ingest/contracts.js';

/**
 * The MQTT side of the contract (DESIGN §3), as Markdown for the OpenAPI description, so that
 * `/docs` documents what devices publish next to what the API serves. The per-kind field table
 * comes from core/kinds, so it cannot drift from what ingest validates.
 */
export function mqttContractMarkdown(): string {
  const kindRows = Object.values(kinds).map((k) => {
    const required = new Set(k.requiredOneOf ?? [k.mainField]);
    const fields = Object.entries(k.fields).map(([name, f]) => {
      const text = `\`${name}\`${f.unit ? ` (${f.unit})` : f.codes ? ` (state code: ${describeCodes(f.codes)})` : f.type === 'bool' ? ' (bool)' : ''}`;
      return required.has(name) ? `**${text}**` : text;
    });
    const cumulative = k.cumulative.length ? `; cumulative: ${k.cumulative.map((c) => `\`${c}\``).join(', ')}` : '';
    return `| \`${k.name}\` ${k.label.zh} | ${fields.join(', ')}${cumulative} |`;
  });
  return [
    '## MQTT contract',
    '',
    'MQTT 3.1.1 on the broker\'s TCP port (default 1883) and over WebSocket (`ws://host:8083/mqtt`, subprotocol `mqtt`). ' +
      'A device connects with **username = its device id, password = its secret** (the `secret` in the answer of `POST /api/devices`, ' +
      'shown once; `POST /api/devices/{id}/secret` makes a new one) and client id = its id, or its id, `:` and a suffix. Anonymous clients are refused.',
    '',
    '| topic | who | QoS | payload |',
    '|---|---|---|---|',
    `| \`${topics.telemetry('{id}')}\` | the device | 0 or 1 (PUBACK = stored durably) | one JSON reading, or SenML (RFC 8428) |`,
    `| \`${topics.status('{id}')}\` | the device's Will, the broker (retained) | 0 or 1 | \`online\` / \`offline\` |`,
    `| \`${topics.command('{id}', '{name}')}\` | the platform; the device subscribes to \`${topics.commands('{id}')}/#\` | 1, not retained | \`{id, name, params?, expiresAt}\` (see \`POST /api/devices/{id}/commands\`) |`,
    `| \`${topics.replies('{id}')}\` | the device, answering a command | 1 (PUBACK = recorded) | \`{id, outcome: succeeded\\|failed, message? (or detail?), state?}\` |`,
    '| `anju/alerts/{site}/incident/{hazard}` | the platform | 1 | incident events as JSON |',
    '',
    'A reading is one JSON object: the kind\'s fields, optional `ts` (epoch ms or ISO 8601 with a zone; server time if absent), ' +
      '`seq` (per-device counter, drops QoS 1 redeliveries) and `battery` (%). **Bold** fields: at least one is required. Example: ' +
      '`{"smoke":0.03,"temperature":23.5,"alarm":false,"battery":91,"seq":42,"ts":"2026-11-25T08:00:00+08:00"}`',
    '',
    '| kind | fields (unit) |',
    '|---|---|',
    ...kindRows,
    '',
    '**What is refused.** A publish or subscribe outside the device\'s own topics closes the connection without a PUBACK ' +
      '(a forbidden SUBSCRIBE gets return code 0x80); retained telemetry too. A message that arrives but cannot be stored is ' +
      `dead-lettered with a reason, counted (\`anju_ingest_rejected_total{reason}\`) and listed by \`GET /api/ingest/rejects\`: ${rejectReasons.map((r) => `\`${r}\``).join(', ')}. ` +
      'When the spool cannot take a QoS 1 reading, there is no PUBACK and the device sends it again. ' +
      'Integrations (ingest workers, gateways, bridges) connect as service accounts with their own topic filters (`/api/service-accounts`).',
  ].join('\n');
}
