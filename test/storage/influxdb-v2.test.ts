import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { InvalidBatchError, StoreUnavailableError, type TelemetryStore } from '../../storage/index.js';
import { createInfluxStore, parseRetryAfter } from '../../storage/influxdb/index.js';

/**
 * The 2.x/3.x path, checked without a 2.x server: a local HTTP listener records what the store sends
 * (path, headers, decompressed body) and answers what each test tells it to.
 */

interface Recorded { method: string; url: string; headers: IncomingHttpHeaders; body: string }
type Responder = (req: Recorded, res: ServerResponse) => void;

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 1);
const ok204: Responder = (_req, res) => { res.writeHead(204).end(); };
/** One line protocol point: measurement+tags, fields, integer timestamp (line protocol reference). */
const linePattern = /^[a-z_]+(,[a-z_]+=(?:[^,= \\]|\\[,= ])+)+ [a-z_]+=(?:T|F|-?[\d.e+-]+i?)(,[a-z_]+=(?:T|F|-?[\d.e+-]+i?))* \d+$/;

let server: Server;
let url: string;
let requests: Recorded[];
let responders: Responder[];
/** The daily register rollups' own traffic (storage/influxdb/rollups.ts), kept apart from `requests`. */
let rollupRequests: Recorded[];
let rollupResponder: Responder | undefined;

/** Rollup statements: reads of `anju_register_day`, and one register field of one device-day. */
function isRollupTraffic(rec: Recorded): boolean {
  if (rec.body.startsWith('anju_register_day') || rec.body.startsWith('anju_rollup_state')) return true;
  const q = new URL(rec.url, 'http://x').searchParams.get('q') ?? '';
  return /anju_register_day|anju_rollup_state/.test(q) || /^SELECT "(energy|volume)" FROM "\w+" WHERE "device" = /.test(q) || /^SELECT first\("(energy|volume)"\)/.test(q);
}
const emptyResults: Responder = (req, res) => {
  if (req.method === 'POST') return void res.writeHead(204).end();
  const n = (new URL(req.url, 'http://x').searchParams.get('q') ?? '').split(';\n').length;
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ results: Array.from({ length: n }, (_, i) => ({ statement_id: i })) }));
};

beforeEach(async () => {
  requests = [];
  responders = [];
  rollupRequests = [];
  rollupResponder = undefined;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const rec = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw.toString('utf8') };
      if (isRollupTraffic(rec)) {
        rollupRequests.push(rec);
        return (rollupResponder ?? emptyResults)(rec, res);
      }
      requests.push(rec);
      (responders.shift() ?? ok204)(rec, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const v2 = (extra: object = {}) => createInfluxStore({ url, token: 'tok-123', org: 'acme org', bucket: 'telemetry', ...extra }, { logger });
const reading = (i: number): Reading => ({ device: `wm-${i % 10}`, kind: 'water_meter', site: 's1', building: 'b1', ts: T0 + i, seq: i, fields: { volume: i + 0.5, flow: 3 } });
const many = (n: number) => Array.from({ length: n }, (_, i) => reading(i));
const reject = (status: number, headers: Record<string, string> = {}, body = ''): Responder => (_req, res) => { res.writeHead(status, headers).end(body); };

describe('InfluxDB 2.x/3.x write path', () => {
  let store: TelemetryStore;
  beforeEach(() => { store = v2(); });
  afterEach(() => store.close());

  it('posts line protocol to /api/v2/write with org, bucket, precision=ms and a Token header', async () => {
    await store.write([reading(1), { device: 'bin-1', kind: 'smart_bin', site: 's1', building: 'b1', category: 'kitchen', ts: T0, fields: { fill: 80, tilt: false } }]);
    expect(requests).toHaveLength(1);
    const [r] = requests as [Recorded];
    expect(r.method).toBe('POST');
    const u = new URL(r.url, url);
    expect(u.pathname).toBe('/api/v2/write');
    expect(Object.fromEntries(u.searchParams)).toEqual({ org: 'acme org', bucket: 'telemetry', precision: 'ms' });
    expect(r.headers.authorization).toBe('Token tok-123');
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.headers['content-encoding']).toBeUndefined();
    const lines = r.body.split('\n');
    expect(lines).toEqual([
      `water_meter,building=b1,device=wm-1,site=s1 flow=3,seq=1i,volume=1.5 ${T0 + 1}`,
      `smart_bin,building=b1,category=kitchen,device=bin-1,site=s1 fill=80,tilt=F ${T0}`,
    ]);
    for (const l of lines) expect(l).toMatch(linePattern);
  });

  it('gzips large bodies and splits a big batch into 5,000-line bodies sent in order', async () => {
    await store.write(many(12_000));
    expect(requests.map((r) => r.body.split('\n').length)).toEqual([5_000, 5_000, 2_000]);
    expect(requests.map((r) => r.headers['content-encoding'])).toEqual(['gzip', 'gzip', 'gzip']);
    expect(requests[0]?.body.split('\n')[0]).toBe(`water_meter,building=b1,device=wm-0,site=s1 flow=3,seq=0i,volume=0.5 ${T0}`);
    expect(requests[2]?.body.split('\n').at(-1)).toMatch(new RegExp(` ${T0 + 11_999}$`));
  });

  it('concurrent writes send their own bodies, never each other\'s', async () => {
    await Promise.all([store.write([reading(1)]), store.write([reading(2)])]);
    expect(requests.map((r) => r.body.split('\n').length)).toEqual([1, 1]);
    expect(requests.map((r) => r.body).sort()).toEqual([reading(1), reading(2)].map((x) => `water_meter,building=b1,device=${x.device},site=s1 flow=3,seq=${x.seq}i,volume=${x.fields.volume} ${x.ts}`).sort());
  });

  for (const status of [429, 503]) {
    it(`${status} with Retry-After: 7 rejects as StoreUnavailableError(retryAfterMs 7000), with no retry of its own`, async () => {
      responders.push(reject(status, { 'Retry-After': '7', 'Content-Type': 'application/json' }, '{"code":"unavailable","message":"try later"}'));
      const err = await store.write([reading(1)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).retryAfterMs).toBe(7000);
      expect((err as Error).message).toMatch(new RegExp(`${status}`));
      // A marker write instead of a pause: the server records requests as they come, so a retry of
      // the refused batch, had the store made one, would be recorded before (or in place of) the marker.
      await store.write([reading(2)]);
      expect(requests.map((r) => r.body)).toEqual([reading(1), reading(2)]
        .map((x) => `water_meter,building=b1,device=${x.device},site=s1 flow=3,seq=${x.seq}i,volume=${x.fields.volume} ${x.ts}`));
    });
  }

  it('5xx without Retry-After, 401 and 404 keep the batch (unavailable); 400 and 422 refuse it (invalid)', async () => {
    responders.push(reject(500), reject(401), reject(404, { 'Content-Type': 'application/json' }, '{"code":"not found","message":"bucket \\"telemetry\\" not found"}'));
    for (let i = 0; i < 3; i++) {
      const err = await store.write([reading(1)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).retryAfterMs).toBeUndefined();
    }
    responders.push(reject(400, { 'Content-Type': 'application/json' }, '{"code":"invalid","message":"partial write: field type conflict"}'), reject(422));
    await expect(store.write([reading(1)])).rejects.toThrow(InvalidBatchError);
    await expect(store.write([reading(1)])).rejects.toThrow(/field type conflict|422/);
  });

  it('only a 204 acknowledges: a 200 from something in between is not a write', async () => {
    responders.push(reject(200, {}, 'ok'));
    await expect(store.write([reading(1)])).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('a 413 body is split in halves and retried', async () => {
    responders.push(reject(413));
    await store.write(many(10));
    expect(requests.map((r) => r.body.split('\n').length)).toEqual([10, 5, 5]);
  });

  it('the days a batch touched are rolled up after it is acknowledged; a rollup failure rejects it as retryable', async () => {
    // No rows stored yet: each touched device-day is recomputed from the store's readings, which
    // this server answers with the reading just written (wm-k: one read at T0 + k, volume k + 0.5).
    rollupResponder = (req, res) => {
      if (req.method === 'POST') return void res.writeHead(204).end();
      const statements = (new URL(req.url, 'http://x').searchParams.get('q') ?? '').split(';\n');
      const results = statements.map((q, i) => {
        const k = Number(/"device" = 'wm-(\d+)'/.exec(q)?.[1]);
        return /^SELECT "volume"/.test(q) ? { statement_id: i, series: [{ name: 'water_meter', columns: ['time', 'volume'], values: [[T0 + k, k + 0.5]] }] } : { statement_id: i };
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ results }));
    };
    await store.write(many(10));
    // The raw write first, then the rollups: read stored rows, recompute, write rows.
    expect(requests).toHaveLength(1);
    // The first write of the process marked the (empty) database as rolled up from the start.
    expect(rollupRequests.filter((r) => r.body.startsWith('anju_rollup_state'))).toHaveLength(1);
    const posts = rollupRequests.filter((r) => r.method === 'POST' && r.body.startsWith('anju_register_day'));
    expect(posts).toHaveLength(1);
    const rows = (posts[0] as Recorded).body.split('\n');
    expect(rows).toHaveLength(10);
    // 2025-01-01 is the local date of T0 in Asia/Shanghai; the point's time is that date's UTC midnight (a label).
    // `day`: [firstTs, firstValue, lastTs, lastValue, advance, coveredMs, reads, timezone, resets], one JSON string field.
    expect(rows[1]).toBe(`anju_register_day,building=b1,device=wm-1,kind=water_meter,register=volume,site=s1 advance=0,day="[${T0 + 1},1.5,${T0 + 1},1.5,0,0,1,\\"Asia/Shanghai\\",[]]" ${Date.UTC(2025, 0, 1)}`);
    // A rollup step that fails — the server down, or a statement error — fails the write as retryable:
    // the spool forwarder sends the whole batch again, never drops it as invalid.
    rollupResponder = reject(503);
    await expect(store.write([reading(1)])).rejects.toBeInstanceOf(StoreUnavailableError);
    rollupResponder = (_req, res) => { res.writeHead(200).end('{"results":[{"statement_id":0,"error":"shard is busy"}]}'); };
    const err = await store.write([reading(2)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/rollups not updated: InfluxQL error: shard is busy/);
  });
});

describe('InfluxDB reads and 1.x auth', () => {
  const seriesAnswer = { results: [{ statement_id: 0, series: [{ name: 'water_meter', columns: ['time', 'device', 'flow', 'volume', 'valve', 'battery'], values: [[T0, 'wm-1', 3, 12.5, null, null]] }] }] };

  it('queries /query with db = bucket, epoch=ms and the Token header, and parses the JSON', async () => {
    responders.push((_req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(seriesAnswer)); });
    const store = v2();
    const pts = await store.series({ kind: 'water_meter', device: "wm-1'", from: T0, to: T0 + 1 });
    expect(pts).toEqual([{ ts: T0, device: 'wm-1', values: { volume: 12.5, flow: 3, valve: null, battery: null } }]);
    const [r] = requests as [Recorded];
    const u = new URL(r.url, url);
    expect(u.pathname).toBe('/query');
    expect(u.searchParams.get('db')).toBe('telemetry');
    expect(u.searchParams.get('epoch')).toBe('ms');
    expect(u.searchParams.get('q')).toBe(
      `SELECT "device", "volume", "flow", "valve", "battery" FROM "water_meter" WHERE time >= ${T0}ms AND time < ${T0 + 1}ms AND "device" = 'wm-1\\'' ORDER BY time ASC`,
    );
    expect(r.headers.authorization).toBe('Token tok-123');
    await store.close();
  });

  it('a 503 on a query is StoreUnavailableError; a statement error is an Error with its text', async () => {
    responders.push(reject(503, { 'Retry-After': '2' }), (_req, res) => { res.writeHead(200).end('{"results":[{"statement_id":0,"error":"database not found: x"}]}'); });
    const store = v2();
    const err = await store.latest('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).retryAfterMs).toBe(2000);
    await expect(store.latest('x')).rejects.toThrow(/database not found/);
    await store.close();
  });

  it('1.x mode: /write?db&rp&precision=ms and /query with basic auth, no token', async () => {
    responders.push(ok204, (_req, res) => { res.writeHead(200).end('{"results":[{"statement_id":0},{"statement_id":1},{"statement_id":2},{"statement_id":3}]}'); });
    const store = createInfluxStore({ url: `${url}/`, db: 'anju', rp: 'one_year', user: 'anju', password: 'p:w' }, { logger });
    await store.write([reading(1)]);
    expect(await store.latest('wm-1')).toBeUndefined();
    const [w, q] = requests as [Recorded, Recorded];
    const wu = new URL(w.url, url);
    expect(wu.pathname).toBe('/write');
    expect(Object.fromEntries(wu.searchParams)).toEqual({ db: 'anju', rp: 'one_year', precision: 'ms' });
    const basic = `Basic ${Buffer.from('anju:p:w').toString('base64')}`;
    expect(w.headers.authorization).toBe(basic);
    expect(q.headers.authorization).toBe(basic);
    expect(Object.fromEntries(new URL(q.url, url).searchParams)).toMatchObject({ db: 'anju', rp: 'one_year', epoch: 'ms' });
    await store.close();
  });

  it('reads Retry-After as seconds or an HTTP-date (RFC 9110 §10.2.3)', () => {
    const now = Date.UTC(2025, 0, 1, 12, 0, 0);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('refuses a config with neither 2.x credentials nor a 1.x database', () => {
    expect(() => createInfluxStore({ url, token: 't' }, { logger })).toThrow(/token, org and bucket.*or db/);
  });
});
