import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmError, RulesConfigError } from '../../alerts/contracts.js';
import errorsPlugin, { inRequest, statusByCategory } from '../../api/plugins/app/errors.js';
import { CodedError, errorCategories } from '../../core/errors.js';
import { ReportError } from '../../reports/contracts.js';
import { DatabaseClosedError } from '../../storage/embedded/connection.js';
import { DuplicateError, SpoolFullError, StoreUnavailableError } from '../../storage/index.js';

/** Each error the domain throws, and the answer the API gives for it (one central mapping). */
const cases: Array<[string, () => Error, number, { code: string; message: string }]> = [
  ['alarm not found', () => new AlarmError('not_found', 'no alarm a1'), 404, { code: 'not_found', message: 'no alarm a1' }],
  ['alarm comment without text', () => new AlarmError('invalid', 'a comment needs text'), 400, { code: 'invalid', message: 'a comment needs text' }],
  ['alarm already cleared', () => new AlarmError('already_cleared', 'alarm a1 is already cleared'), 409, { code: 'already_cleared', message: 'alarm a1 is already cleared' }],
  ['report for an unknown site', () => new ReportError('unknown_site', 'no site "x"'), 404, { code: 'unknown_site', message: 'no site "x"' }],
  ['report over an empty range', () => new ReportError('empty_range', 'reporting: "to" must be after "from"'), 400, { code: 'empty_range', message: 'reporting: "to" must be after "from"' }],
  ['report without data', () => new ReportError('no_data', 'no readings'), 422, { code: 'no_data', message: 'no readings' }],
  ['an id already taken', () => new DuplicateError('device d1 already exists'), 409, { code: 'conflict', message: 'device d1 already exists' }],
  // Outages: 503, and the message (which may name files or hosts) stays in the log.
  ['store unavailable', () => new StoreUnavailableError('connect ECONNREFUSED 10.0.0.5:8086', 5_000), 503, { code: 'unavailable', message: 'storage is unavailable, retry later' }],
  ['database closed', () => new DatabaseClosedError('embedded database (/srv/anju/anju.duckdb) is closed'), 503, { code: 'unavailable', message: 'storage is unavailable, retry later' }],
  ['spool full', () => new SpoolFullError('spool over its quota'), 503, { code: 'unavailable', message: 'storage is unavailable, retry later' }],
  ['anything else', () => new Error('TypeError in /srv/anju/x.js'), 500, { code: 'internal', message: 'internal error' }],
];

describe('the central error handler maps each error category to one status', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ logger: false });
    await app.register(errorsPlugin);
    app.get('/throw/:n', async (request) => {
      throw cases[Number((request.params as { n: string }).n)]![1]();
    });
    app.put('/rules', async () => {
      throw inRequest('body', new RulesConfigError([{ path: 'all.smoke.threshold', message: 'Too small: expected number to be >0' }]));
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it('covers every category, each with its own 4xx or 503', () => {
    expect(Object.keys(statusByCategory).sort()).toEqual([...errorCategories].sort());
    expect(new Set(Object.values(statusByCategory)).size).toBe(errorCategories.length);
  });

  for (const [what, , status, error] of cases) {
    it(`${what}: ${status} ${error.code}`, async () => {
      const res = await app.inject({ method: 'GET', url: `/throw/${cases.findIndex(([w]) => w === what)}` });
      expect(res.statusCode).toBe(status);
      expect(res.json().error).toMatchObject(error);
      expect(res.json().error.requestId).toEqual(expect.any(String));
    });
  }

  it('a store outage says when to retry', async () => {
    const res = await app.inject({ method: 'GET', url: `/throw/${cases.findIndex(([w]) => w === 'store unavailable')}` });
    expect(res.headers['retry-after']).toBe('5');
  });

  it('a refused rules configuration names the path of the mistake in the body', async () => {
    const res = await app.inject({ method: 'PUT', url: '/rules' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'validation_failed',
      message: 'body.all.smoke.threshold: Too small: expected number to be >0',
      details: [{ in: 'body', path: 'all.smoke.threshold', message: 'Too small: expected number to be >0' }],
    });
  });

  it('every coded error is a CodedError with a category', () => {
    for (const [, make] of cases.slice(0, -1)) {
      const e = make();
      expect(e).toBeInstanceOf(CodedError);
      expect(errorCategories).toContain((e as CodedError).category);
    }
  });
});
