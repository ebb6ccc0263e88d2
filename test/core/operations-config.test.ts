import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';

describe('TLS configuration', () => {
  it('is off by default, with the plaintext listeners on', () => {
    const c = loadConfig({});
    expect(c.tls).toBeUndefined();
    expect(c.plaintext).toBe(true);
  });

  it('takes certificate, key, CA and the three TLS ports, 8883/8084/8443 by default', () => {
    const c = loadConfig({ ANJU_TLS_CERT: '/c/tls.crt', ANJU_TLS_KEY: '/c/tls.key' });
    expect(c.tls).toEqual({
      certFile: '/c/tls.crt', keyFile: '/c/tls.key', caFile: undefined, requireClientCert: false, reloadIntervalMs: 10_000,
      mqttsPort: 8883, wssPort: 8084, httpsPort: 8443,
    });
    const d = loadConfig({ ANJU_TLS_CERT: 'a', ANJU_TLS_KEY: 'b', ANJU_TLS_CA: 'ca', ANJU_TLS_REQUIRE_CLIENT_CERT: '1', ANJU_MQTTS_PORT: '18883', ANJU_PLAINTEXT: '0' });
    expect(d.tls).toMatchObject({ caFile: 'ca', requireClientCert: true, mqttsPort: 18883 });
    expect(d.plaintext).toBe(false);
  });

  it('refuses combinations that cannot work, saying what to set', () => {
    expect(() => loadConfig({ ANJU_TLS_CERT: 'a' })).toThrow(ConfigError);
    expect(() => loadConfig({ ANJU_TLS_KEY: 'b' })).toThrow(/both ANJU_TLS_CERT and ANJU_TLS_KEY/);
    expect(() => loadConfig({ ANJU_PLAINTEXT: '0' })).toThrow(/ANJU_PLAINTEXT=0 leaves no listener/);
    expect(() => loadConfig({ ANJU_TLS_CA: 'ca' })).toThrow(/need ANJU_TLS_CERT/);
    expect(() => loadConfig({ ANJU_TLS_CERT: 'a', ANJU_TLS_KEY: 'b', ANJU_TLS_REQUIRE_CLIENT_CERT: '1' })).toThrow(/needs ANJU_TLS_CA/);
    expect(() => loadConfig({ ANJU_MQTTS_PORT: '70000' })).toThrow(/ANJU_MQTTS_PORT/);
  });
});

describe('scheduled backup configuration', () => {
  it('is off by default, and needs the schedule and the folder together', () => {
    expect(loadConfig({}).backupSchedule).toBeUndefined();
    expect(loadConfig({ ANJU_BACKUP_SCHEDULE: '30 2 * * *', ANJU_BACKUP_DIR: '/srv/backups' }).backupSchedule).toEqual({ cron: '30 2 * * *', dir: '/srv/backups', keep: 7, timezone: undefined });
    expect(() => loadConfig({ ANJU_BACKUP_SCHEDULE: '30 2 * * *' })).toThrow(/ANJU_BACKUP_DIR/);
    expect(() => loadConfig({ ANJU_BACKUP_DIR: '/x', ANJU_BACKUP_SCHEDULE: '0 3 * * *', ANJU_BACKUP_KEEP: '0' })).toThrow(/ANJU_BACKUP_KEEP/);
  });
});

describe('role requirements', () => {
  it('anju hub needs the broker it consumes from; the other roles do not', () => {
    expect(() => loadConfig({}, 'hub')).toThrow(/anju hub needs ANJU_MQTT_URL/);
    expect(loadConfig({ ANJU_MQTT_URL: 'mqtt://broker.example:1883' }, 'hub').ingest.brokerUrl).toBe('mqtt://broker.example:1883');
    expect(loadConfig({}, 'all').ingest.brokerUrl).toBeUndefined();
    expect(loadConfig({}, 'broker').ingest.brokerUrl).toBeUndefined();
  });

  it('ANJU_STORE=influxdb carries its InfluxDB settings; the embedded store has none', () => {
    expect(loadConfig({}).influx).toBeUndefined();
    const c = loadConfig({ ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: 'http://influx:8086', ANJU_INFLUX_DB: 'anju' });
    expect(c.store).toBe('influxdb');
    expect(c.influx).toMatchObject({ url: 'http://influx:8086', db: 'anju' });
    expect(() => loadConfig({ ANJU_STORE: 'influxdb', ANJU_INFLUX_DB: 'anju' })).toThrow(/needs ANJU_INFLUX_URL/);
  });
});

describe('embedded database configuration', () => {
  it('has DuckDB fold its WAL at 64 MB unless told otherwise, and refuses a size it cannot read', () => {
    expect(loadConfig({}).duckdb).toEqual({ memoryLimit: '512MB', threads: 2, checkpointThreshold: '64MB' });
    expect(loadConfig({ ANJU_DUCKDB_CHECKPOINT: '256MB' }).duckdb.checkpointThreshold).toBe('256MB');
    expect(() => loadConfig({ ANJU_DUCKDB_CHECKPOINT: 'lots' })).toThrow(/ANJU_DUCKDB_CHECKPOINT/);
  });
});

describe('store write pacing', () => {
  it('writes at most every 25 ms, sooner once 150 readings wait; both bounded, named when wrong', () => {
    expect(loadConfig({}).spool).toMatchObject({ writeIntervalMs: 25, writeBatch: 150 });
    expect(loadConfig({ ANJU_STORE_WRITE_INTERVAL_MS: '10', ANJU_STORE_WRITE_BATCH: '2000' }).spool).toMatchObject({ writeIntervalMs: 10, writeBatch: 2000 });
    expect(() => loadConfig({ ANJU_STORE_WRITE_BATCH: '0' })).toThrow(/ANJU_STORE_WRITE_BATCH/);
    expect(() => loadConfig({ ANJU_STORE_WRITE_BATCH: '2001' })).toThrow(/ANJU_STORE_WRITE_BATCH/);
    expect(() => loadConfig({ ANJU_STORE_WRITE_BATCH: 'lots' })).toThrow(/ANJU_STORE_WRITE_BATCH/);
  });
});
