/**
 * Worked examples for the operations a newcomer tries first in `/docs` ("Try it out" fills the
 * request body from them). Kept beside the description instead of in the route schemas so the
 * routes stay about validation; an example for an operation that does not exist is ignored.
 */
type Example = { request?: unknown; response?: { status: string; body: unknown } };

const smokeDetector = { id: 'chundu-b3-sd-301', kind: 'smoke_detector', site: 'chundu', building: 'b3', name: '3号楼301烟感', location: '3号楼3层301室厨房外' };

export const operationExamples: Record<string, Example> = {
  'get /api/devices': {
    response: { status: '200', body: { items: [{ ...smokeDetector, createdAt: '2026-11-25T08:00:00.000Z' }], total: 1 } },
  },
  'post /api/devices': {
    request: smokeDetector,
    response: { status: '201', body: { ...smokeDetector, createdAt: '2026-11-25T08:00:00.000Z', secret: 'q8Vt…(random, shown this once)' } },
  },
  'get /api/devices/{id}/latest': {
    response: {
      status: '200',
      body: { device: 'chundu-b3-sd-301', kind: 'smoke_detector', site: 'chundu', building: 'b3', ts: '2026-11-25T08:00:00.000Z', seq: 42, fields: { smoke: 0.03, temperature: 23.5, alarm: false, battery: 91 } },
    },
  },
  'get /api/devices/{id}/telemetry': {
    response: {
      status: '200',
      body: {
        device: 'chundu-pm-pump', kind: 'power_meter', from: '2026-11-24T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z', every: 3_600_000, agg: 'last',
        items: [{ ts: '2026-11-24T00:00:00.000Z', values: { energy: 9327.4, power: 3650 } }, { ts: '2026-11-24T01:00:00.000Z', values: { energy: 9331.1, power: 3580 } }],
        total: 2,
      },
    },
  },
  'post /api/tokens': {
    request: { name: 'grafana', role: 'viewer' },
    response: { status: '201', body: { id: '6f1c…', name: 'grafana', role: 'viewer', createdAt: '2026-11-25T08:00:00.000Z', token: 'anju_…(shown once)' } },
  },
  'post /api/alerts/{id}/assign': { request: { assignee: '王师傅 (3号楼维修)' } },
  'post /api/alerts/{id}/comment': { request: { text: '现场确认为厨房油烟，已通风' } },
  'post /api/demo/scenarios': {
    request: { scenario: 'fire:b3' },
    response: { status: '202', body: { scenario: 'fire', startsAt: '2026-11-25T08:00:00.000Z', devices: 6 } },
  },
  'post /api/devices/{id}/commands': {
    request: { name: 'close', ttlSeconds: 600 },
    response: {
      status: '202',
      body: {
        id: '5f0c2a9e-…', device: 'chundu-b3-wm-301', name: 'close', status: 'sent', sentBy: 'token:control-room',
        createdAt: '2026-11-25T08:00:00.000Z', expiresAt: '2026-11-25T08:10:00.000Z', sentAt: '2026-11-25T08:00:00.004Z',
      },
    },
  },
  'post /api/service-accounts': {
    request: { id: 'bms-gateway', publish: ['devices/+/telemetry'], subscribe: ['anju/alerts/#'], deny: [] },
  },
};

type Operation = { requestBody?: { content?: Record<string, { example?: unknown }> };
  responses?: Record<string, { content?: Record<string, { example?: unknown }> }> };

/** Puts `operationExamples` into an OpenAPI 3 document's operations (as media-type `example`). */
export function withExamples<T extends object>(openapi: T): T {
  const paths = (openapi as { paths?: Record<string, Record<string, Operation>> }).paths ?? {};
  for (const [key, example] of Object.entries(operationExamples)) {
    const [method, path] = key.split(' ') as [string, string];
    const op = paths[path]?.[method];
    if (!op) continue;
    const json = op.requestBody?.content?.['application/json'];
    if (json && example.request !== undefined) json.example = example.request;
    const res = example.response && op.responses?.[example.response.status]?.content?.['application/json'];
    if (res && example.response) res.example = example.response.body;
  }
  return openapi;
}
