import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';

describe('ANJU_POSTGRES_URL (cluster mode, in progress)', () => {
  const influx = { ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: 'http://influx:8086', ANJU_INFLUX_DB: 'anju' };

  it('is off by default: the state stays in the embedded database', () => {
    expect(loadConfig({}).postgres).toBeUndefined();
    expect(loadConfig({ ...influx, ANJU_POSTGRES_URL: '' }).postgres).toBeUndefined();
  });

  it('takes a postgres:// or postgresql:// URL', () => {
    expect(loadConfig({ ...influx, ANJU_POSTGRES_URL: 'postgres://anju:s3cret@db:5432/anju' }).postgres).toEqual({ url: 'postgres://anju:s3cret@db:5432/anju' });
    expect(loadConfig({ ...influx, ANJU_POSTGRES_URL: 'postgresql://db/anju' }).postgres).toEqual({ url: 'postgresql://db/anju' });
  });

  it('refuses another scheme without echoing the value (it may hold a password)', () => {
    const attempt = () => loadConfig({ ...influx, ANJU_POSTGRES_URL: 'mysql://anju:s3cret@db/anju' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/ANJU_POSTGRES_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(attempt).not.toThrow(/s3cret/);
  });

  it('needs telemetry in InfluxDB: nodes sharing their state share their readings too', () => {
    expect(() => loadConfig({ ANJU_POSTGRES_URL: 'postgres://db/anju' })).toThrow(/set ANJU_STORE=influxdb and ANJU_INFLUX_URL/);
  });
});

describe('ANJU_REDIS_URL (cluster mode, broker tier)', () => {
  const cluster = { ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: 'http://influx:8086', ANJU_INFLUX_DB: 'anju', ANJU_POSTGRES_URL: 'postgres://db/anju' };

  it('is off by default: the broker keeps its sessions in memory', () => {
    expect(loadConfig({}).redis).toBeUndefined();
    expect(loadConfig({ ...cluster, ANJU_REDIS_URL: '' }).redis).toBeUndefined();
  });

  it('takes a redis:// or rediss:// URL', () => {
    expect(loadConfig({ ...cluster, ANJU_REDIS_URL: 'redis://:s3cret@cache:6379/0' }).redis).toEqual({ url: 'redis://:s3cret@cache:6379/0', heartbeatMs: 15_000 });
    expect(loadConfig({ ...cluster, ANJU_REDIS_URL: 'rediss://cache:6380', ANJU_CLUSTER_HEARTBEAT_S: '5' }).redis).toEqual({ url: 'rediss://cache:6380', heartbeatMs: 5_000 });
  });

  it('refuses another scheme without echoing the value (it may hold a password)', () => {
    const attempt = () => loadConfig({ ...cluster, ANJU_REDIS_URL: 'http://:s3cret@cache:6379' });
    expect(attempt).toThrow(/ANJU_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(attempt).not.toThrow(/s3cret/);
  });

  it('needs ANJU_POSTGRES_URL: nodes that share sessions must share the registry', () => {
    const { ANJU_POSTGRES_URL: _, ...noPostgres } = cluster;
    expect(() => loadConfig({ ...noPostgres, ANJU_REDIS_URL: 'redis://cache:6379' })).toThrow(/set ANJU_POSTGRES_URL as well/);
  });
});
