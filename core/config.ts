import { z } from 'zod';

/**
 * The one place configuration is read. `loadConfig(process.env)` validates the environment once
 * at start-up (no I/O here) and every part receives the typed result. A bad value stops start-up
 * with a message naming the variable.
 */

const port = z.coerce.number().int().min(0).max(65_535);
const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const optionalString = z.string().min(1).optional();

/** One alarm webhook (WeCom / DingTalk group robot, or plain JSON with an HMAC signature). */
export const webhookTargetSchema = z.object({
  name: z.string().min(1).optional(),
  url: z.url(),
  format: z.enum(['json', 'wecom', 'dingtalk']).default('json'),
  secret: z.string().min(1).optional(),
  dingtalkSecret: z.string().min(1).optional(),
  minSeverity: z.enum(['critical', 'major', 'minor', 'warning']).optional(),
  sites: z.array(z.string().min(1)).optional(),
  minEscalationLevel: z.number().int().min(0).optional(),
}).strict();
export type WebhookTargetConfig = z.infer<typeof webhookTargetSchema>;

/** A JSON array in an environment variable, validated (no I/O: the string is already in memory). */
const jsonArray = <T extends z.ZodType>(item: T) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array' });
      return z.NEVER;
    }
  }).pipe(z.array(item));

/**
 * `ANJU_MQTT_TOPICS`: `pattern=codec` pairs separated by commas, e.g.
 * `zigbee2mqtt/{id}=zigbee2mqtt,tele/{id}/SENSOR=tasmota`. Syntax only here; ingest checks the
 * codec names against its registry at start-up (core does not know ingest's codecs).
 */
export const topicRoutesSchema = z.string().transform((text, ctx) => {
  const routes: Array<{ pattern: string; codec: string }> = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const eq = entry.lastIndexOf('=');
    const pattern = eq > 0 ? entry.slice(0, eq).trim() : '';
    const codec = eq > 0 ? entry.slice(eq + 1).trim() : '';
    const problem = !pattern || !codec ? 'is not pattern=codec'
      : pattern.split('{id}').length !== 2 ? 'needs exactly one {id} in its pattern'
        : /[+#]/.test(pattern) ? 'must not use + or # (the {id} level becomes +)'
          : pattern.startsWith('$') ? 'must not start with $'
            : !/^[a-z0-9][a-z0-9-]*$/.test(codec) ? 'names its codec in lower case (json, senml, zigbee2mqtt, tasmota)' : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" ${problem}; expected e.g. zigbee2mqtt/{id}=zigbee2mqtt,tele/{id}/SENSOR=tasmota` });
      return z.NEVER;
    }
    routes.push({ pattern, codec });
  }
  if (routes.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'lists no pattern=codec mapping' });
    return z.NEVER;
  }
  return routes;
});

/** An IANA time zone the runtime knows (Intl: no I/O). */
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Asia/Shanghai');

/** A size as DuckDB's settings take it: "512MB", "1.5GiB". */
const duckdbSize = z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i);

export const envSchema = z.object({
  ANJU_MQTT_PORT: port.default(1883),
  ANJU_WS_PORT: port.default(8083),
  ANJU_HTTP_PORT: port.default(8080),
  /** Address the listeners bind to. */
  ANJU_HOST: z.string().min(1).default('0.0.0.0'),
  ANJU_DATA_DIR: z.string().min(1).default('./data'),
  ANJU_ADMIN_TOKEN: z.string().min(16, 'ANJU_ADMIN_TOKEN must be at least 16 characters').optional(),
  ANJU_SIM: flag.optional(),
  /** Days of history written for the demo community on the first start (0 = none): 400 covers a CalTRACK baseline year before a 30-day reporting period. */
  ANJU_DEMO_HISTORY_DAYS: z.coerce.number().int().min(0).max(800).default(400),
  ANJU_STORE: z.enum(['embedded', 'influxdb']).default('embedded'),
  ANJU_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** `hub` role: the broker its MQTT-client ingest source connects to, and the service account it uses. */
  ANJU_MQTT_URL: z.url().optional(),
  ANJU_INGEST_USER: z.string().min(1).default('anju-ingest'),
  ANJU_INGEST_PASSWORD: optionalString,
  /**
   * Client id of the hub's persistent session (default `<ANJU_INGEST_USER>:hub`, in the account's
   * client-id namespace on Anju's broker); unique per hub process.
   */
  ANJU_INGEST_CLIENT_ID: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
  /** `hub` role: which external topics to ingest and with which codec (default `devices/{id}/telemetry=json`). */
  ANJU_MQTT_TOPICS: topicRoutesSchema.optional(),
  /** `hub` role: shared-subscription group (`$share/<group>/...`) so several hubs split the stream. */
  ANJU_MQTT_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)').optional(),
  /** Zone of Tasmota clocks, to place their unzoned `Time`; unset, the receive time is used. */
  ANJU_TASMOTA_TIMEZONE: timeZone.optional(),
  /** Unit of Zigbee2MQTT `temperature` (Z2M publishes °C unless configured otherwise). */
  ANJU_Z2M_TEMPERATURE_UNIT: z.enum(['C', 'F']).default('C'),

  /** Largest telemetry payload ingest accepts; larger ones are dead-lettered as payload_too_large. */
  ANJU_MAX_PAYLOAD: z.coerce.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
  /** Connection attempts allowed per IP per minute (broker preConnect). */
  ANJU_CONNECT_RATE: z.coerce.number().int().min(1).default(120),
  /** DuckDB resource limits. */
  ANJU_DUCKDB_MEMORY: duckdbSize.default('512MB'),
  ANJU_DUCKDB_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  /** DuckDB `checkpoint_threshold`: the WAL size at which it is folded into the file (storage/embedded/index.ts `defaultCheckpointThreshold`). */
  ANJU_DUCKDB_CHECKPOINT: duckdbSize.default('64MB'),
  /**
   * Days the embedded store keeps raw readings (hourly aggregates and daily register rollups are kept
   * for good); 0 = forever. Default 760: a savings report needs a 12-month baseline (IPMVP Option C
   * and CalTRACK both use 12 months before the change, to cover every season once) plus the 12-month
   * reporting year it is compared with, and a month's slack for late corrections.
   */
  ANJU_RETENTION_RAW_DAYS: z.coerce.number().int().min(0).max(36_500).default(760),
  /** Free space below which the store refuses telemetry writes (they stay in the spool) rather than fill the disk. */
  ANJU_DISK_MIN_FREE_MB: z.coerce.number().int().min(0).max(1_048_576).default(512),

  /** Disk quota of the durable spool between ingest and the store, in MiB. */
  ANJU_SPOOL_QUOTA_MB: z.coerce.number().int().min(2).max(1_048_576).default(1024),
  /** fsync each spool group commit (PUBACK means on disk). `0` trades crash safety for throughput. */
  ANJU_SPOOL_FSYNC: flag.default(true),
  /**
   * At most one telemetry store write per this many ms while fewer than ANJU_STORE_WRITE_BATCH readings wait (Telegraf's
   * flush_interval, much shorter); `0` writes as soon as the last write is done.
   */
  ANJU_STORE_WRITE_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(25),
  /**
   * Readings that start a telemetry store write before the interval is over (Telegraf's
   * metric_batch_size beside its flush_interval): the interval is there to share a write's fixed cost
   * among enough readings; once this many wait, waiting longer only adds latency. At most 2,000 (a
   * full batch).
   */
  ANJU_STORE_WRITE_BATCH: z.coerce.number().int().min(1).max(2_000).default(150),

  /** Alarm webhooks: a JSON array of {url, format: json|wecom|dingtalk, secret?, dingtalkSecret?, minSeverity?, sites?, minEscalationLevel?}. */
  ANJU_ALERT_WEBHOOKS: jsonArray(webhookTargetSchema).optional(),
  /** Unacknowledged alarms escalate after this many minutes (critical, major). */
  ANJU_ESCALATE_CRITICAL_MIN: z.coerce.number().positive().max(1440).default(5),
  ANJU_ESCALATE_MAJOR_MIN: z.coerce.number().positive().max(10_080).default(30),
  /**
   * How often time-driven alarm rules run (a device's silence, hold durations, the daily water
   * balance) and incidents settle. The offline rule's limit is several report intervals, minutes at
   * the least, so the default is fine grained enough; tests shorten it.
   */
  ANJU_ALERT_TICK_S: z.coerce.number().positive().max(3600).default(30),
  /**
   * Personal pages by SMS (or voice) through an HTTP gateway (alerts/duty/sms.ts): its URL, the
   * bearer token it wants, and whether critical incidents go out as a voice call.
   */
  ANJU_SMS_GATEWAY_URL: z.url({ protocol: /^https?$/ }).optional(),
  ANJU_SMS_GATEWAY_TOKEN: optionalString,
  ANJU_SMS_GATEWAY_VOICE: flag.default(false),

  /** `ANJU_STORE=influxdb`: seconds between fleet status points (alarms by severity, devices offline) in InfluxDB; 0 = none. */
  ANJU_OPS_STATUS_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(60),

  /**
   * TLS (PEM file paths): with a certificate and key, MQTT over TLS, MQTT over secure WebSocket
   * and HTTPS listen beside (or, with ANJU_PLAINTEXT=0, instead of) the plaintext listeners.
   */
  ANJU_TLS_CERT: optionalString,
  ANJU_TLS_KEY: optionalString,
  /** CA bundle (PEM) for device client certificates: a verified certificate's CN is the device id. */
  ANJU_TLS_CA: optionalString,
  /** `1`: a TLS client without a certificate from ANJU_TLS_CA is refused (Mosquitto's require_certificate). */
  ANJU_TLS_REQUIRE_CLIENT_CERT: flag.default(false),
  /** Seconds between checks of the certificate files for a change (SIGHUP reloads at once). */
  ANJU_TLS_RELOAD_INTERVAL_S: z.coerce.number().min(0.1).max(86_400).default(10),
  ANJU_MQTTS_PORT: port.default(8883),
  /** MQTT over secure WebSocket (EMQX's port). */
  ANJU_WSS_PORT: port.default(8084),
  ANJU_HTTPS_PORT: port.default(8443),
  /** `0` switches the plaintext MQTT, WebSocket and HTTP listeners off (TLS only; needs ANJU_TLS_CERT/_KEY). */
  ANJU_PLAINTEXT: flag.default(true),

  /**
   * The lowest API role that may command devices (valves, breakers, detectors). Viewers never may,
   * admins always; `maintenance` lets field staff close a valve from the control room.
   */
  ANJU_COMMAND_ROLE: z.enum(['admin', 'operator', 'maintenance']).default('operator'),

  /** Scheduled backups by the node: a cron expression (node-cron, checked at start-up), the folder, how many to keep. */
  ANJU_BACKUP_SCHEDULE: optionalString,
  ANJU_BACKUP_DIR: optionalString,
  ANJU_BACKUP_KEEP: z.coerce.number().int().min(1).max(10_000).default(7),
  /** Zone the schedule is read in (default: the process's). */
  ANJU_BACKUP_TIMEZONE: timeZone.optional(),

  ANJU_INFLUX_URL: z.url().optional(),
  ANJU_INFLUX_TOKEN: optionalString,
  ANJU_INFLUX_ORG: optionalString,
  ANJU_INFLUX_BUCKET: optionalString,
  ANJU_INFLUX_DB: optionalString,
  ANJU_INFLUX_RP: optionalString,
  ANJU_INFLUX_USER: optionalString,
  ANJU_INFLUX_PASSWORD: optionalString,

  /**
   * Cluster mode (in progress): the state stores (registry, tokens, service accounts, accounts,
   * alarms, incidents, rule state, reports, commands, audit) in PostgreSQL, e.g.
   * `postgres://anju:secret@db.example:5432/anju`. The password is never logged.
   */
  ANJU_POSTGRES_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
  /**
   * Cluster mode, broker tier: the brokers of all nodes share one Redis (`redis://:secret@cache:6379/0`,
   * `rediss://` for TLS) — cross-node publish/subscribe (mqemitter-redis) and the MQTT sessions,
   * subscriptions, retained messages, queued QoS 1 messages and Wills (aedes-persistence-redis).
   * Needs ANJU_POSTGRES_URL: nodes that share sessions must share the registry too. Never logged.
   */
  ANJU_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  /**
   * Cluster mode: how often each node's broker says it is alive (Aedes `$SYS/<broker>/heartbeat`). A
   * node silent for 3 heartbeats is dead: the others publish its devices' Wills within 4 (Aedes
   * `_clearWills`), so a device that died with its node is reported offline ~4× this after. Set it
   * the same on every node: each judges the others by its own.
   */
  ANJU_CLUSTER_HEARTBEAT_S: z.coerce.number().int().min(1).max(3600).default(15),
});

/** What `anju <role>` runs (DESIGN §3); each role's required settings are checked by `loadConfig`. */
export type PlatformRole = 'all' | 'broker' | 'hub';

/** InfluxDB 2.x/3.x (token, org, bucket) or 1.x (db, rp, user, password). */
export interface InfluxSettings {
  url: string; token?: string; org?: string; bucket?: string;
  db?: string; rp?: string; user?: string; password?: string;
}

/** `influx` is there exactly when `store` is `influxdb` (checked in `loadConfig`), so no part checks it again. */
export type AnjuConfig = BaseConfig & ({ store: 'embedded'; influx?: undefined } | { store: 'influxdb'; influx: InfluxSettings });

interface BaseConfig {
  mqtt: { port: number; wsPort: number; host: string; maxPayloadBytes: number; connectRatePerMinute: number };
  http: { port: number; host: string };
  /** False: no plaintext MQTT, WebSocket or HTTP listener (TLS only). */
  plaintext: boolean;
  /** Undefined: no TLS listener. File paths only; the files are read at start-up and on reload. */
  tls?: TlsConfig;
  /** Undefined: no scheduled backups (`anju backup` still works). */
  backupSchedule?: BackupScheduleConfig;
  dataDir: string;
  adminToken?: string;
  /** Undefined: the role decides (`all` runs the demo fleet, the others do not). */
  sim?: boolean;
  /** Days of recent history the demo community gets on its first start (0 = none). */
  demoHistoryDays: number;
  logLevel: z.infer<typeof envSchema>['ANJU_LOG_LEVEL'];
  /** Commands to devices (commands/): the lowest role that may send one. */
  commands: { minRole: z.infer<typeof envSchema>['ANJU_COMMAND_ROLE'] };
  ingest: {
    brokerUrl?: string; username: string; password?: string;
    /** Persistent-session client id of the hub's MQTT-client source. */
    clientId: string;
    /** Topic mappings for the MQTT-client source; undefined = Anju's own `devices/{id}/telemetry`. */
    topics?: Array<{ pattern: string; codec: string }>;
    shareGroup?: string;
    codecs: { tasmota: { timeZone?: string }; zigbee2mqtt: { temperatureUnit: 'C' | 'F' } };
  };
  duckdb: { memoryLimit: string; threads: number; checkpointThreshold: string };
  /** Raw-reading retention of the embedded store in days (0 = forever). */
  retention: { rawDays: number };
  /** Telemetry writes are refused while the data dir's file system has less free than this. */
  disk: { minFreeBytes: number };
  spool: { quotaBytes: number; fsync: boolean; writeIntervalMs: number; writeBatch: number };
  alerts: { webhooks: WebhookTargetConfig[]; escalateCriticalAfterMs: number; escalateMajorAfterMs: number; tickMs: number };
  /** Paging people on duty: the SMS/voice gateway, when one is configured. */
  duty: { sms?: { url: string; token?: string; voiceForCritical: boolean } };
  /** The alarm & fleet status exporter (`ANJU_STORE=influxdb` only): fleet status period, 0 = no status points. */
  opsExport: { statusIntervalMs: number };
  /** Cluster mode (in progress): the state stores in PostgreSQL; undefined = in the embedded database. */
  postgres?: { url: string };
  /** Cluster mode, broker tier (ANJU_REDIS_URL) and its brokers' heartbeat. */
  redis?: { url: string; heartbeatMs: number };
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** CA for device client certificates; undefined = no client certificates asked for. */
  caFile?: string;
  requireClientCert: boolean;
  reloadIntervalMs: number;
  mqttsPort: number;
  wssPort: number;
  httpsPort: number;
}

export interface BackupScheduleConfig {
  cron: string;
  dir: string;
  keep: number;
  timezone?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The one place the environment is read. With `role`, that role's own requirements are checked too
 * (`anju hub` needs the broker it consumes from), before anything opens a file.
 */
export function loadConfig(env: Record<string, string | undefined>, role?: PlatformRole): AnjuConfig {
  // Empty strings mean "unset", as in a docker-compose file with `VAR=`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('ANJU_') && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration, fix these environment variables and start again:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  // Two listeners on one port: the second would fail with "address in use" against our own first.
  const ports = [['ANJU_MQTT_PORT', e.ANJU_MQTT_PORT], ['ANJU_WS_PORT', e.ANJU_WS_PORT], ['ANJU_HTTP_PORT', e.ANJU_HTTP_PORT]] as const;
  for (const [i, [a, pa]] of ports.entries()) {
    for (const [b, pb] of ports.slice(i + 1)) {
      if (pa !== 0 && pa === pb) throw new ConfigError(`${a} and ${b} are both ${pa}: each listener needs its own port (0 picks a free one)`);
    }
  }
  if (role === 'hub' && !e.ANJU_MQTT_URL) {
    throw new ConfigError(
      'anju hub needs ANJU_MQTT_URL: the broker its ingest subscribes to, e.g. ANJU_MQTT_URL=mqtt://broker.example:1883\n' +
      '  (with ANJU_INGEST_PASSWORD, the password of its service account on that broker). To run broker and hub in one process, use `anju all`.',
    );
  }
  let influx: InfluxSettings | undefined;
  if (e.ANJU_STORE === 'influxdb') {
    if (!e.ANJU_INFLUX_URL) throw new ConfigError('ANJU_STORE=influxdb needs ANJU_INFLUX_URL');
    const v2 = e.ANJU_INFLUX_TOKEN && e.ANJU_INFLUX_ORG && e.ANJU_INFLUX_BUCKET;
    if (!v2 && !e.ANJU_INFLUX_DB) {
      throw new ConfigError('ANJU_STORE=influxdb needs ANJU_INFLUX_TOKEN, _ORG and _BUCKET (InfluxDB 2.x/3.x) or ANJU_INFLUX_DB (1.x)');
    }
    influx = {
      url: e.ANJU_INFLUX_URL, token: e.ANJU_INFLUX_TOKEN, org: e.ANJU_INFLUX_ORG, bucket: e.ANJU_INFLUX_BUCKET,
      db: e.ANJU_INFLUX_DB, rp: e.ANJU_INFLUX_RP, user: e.ANJU_INFLUX_USER, password: e.ANJU_INFLUX_PASSWORD,
    };
  }
  // Nodes sharing their state share their telemetry too: each node's own DuckDB file would split it, and
  // its daily rollups would not know the zones of sites made on another node.
  if (e.ANJU_POSTGRES_URL && e.ANJU_STORE !== 'influxdb') {
    throw new ConfigError('ANJU_POSTGRES_URL (cluster mode) keeps telemetry in InfluxDB: set ANJU_STORE=influxdb and ANJU_INFLUX_URL as well');
  }
  if (e.ANJU_REDIS_URL && !e.ANJU_POSTGRES_URL) {
    throw new ConfigError('ANJU_REDIS_URL (cluster mode) shares MQTT sessions between nodes, which must then share the device registry too: set ANJU_POSTGRES_URL as well');
  }
  if (Boolean(e.ANJU_TLS_CERT) !== Boolean(e.ANJU_TLS_KEY)) throw new ConfigError('TLS needs both ANJU_TLS_CERT and ANJU_TLS_KEY (PEM files)');
  const tls: TlsConfig | undefined = e.ANJU_TLS_CERT && e.ANJU_TLS_KEY
    ? {
      certFile: e.ANJU_TLS_CERT, keyFile: e.ANJU_TLS_KEY, caFile: e.ANJU_TLS_CA, requireClientCert: e.ANJU_TLS_REQUIRE_CLIENT_CERT,
      reloadIntervalMs: e.ANJU_TLS_RELOAD_INTERVAL_S * 1000, mqttsPort: e.ANJU_MQTTS_PORT, wssPort: e.ANJU_WSS_PORT, httpsPort: e.ANJU_HTTPS_PORT,
    }
    : undefined;
  if (!tls && (e.ANJU_TLS_CA || e.ANJU_TLS_REQUIRE_CLIENT_CERT)) throw new ConfigError('ANJU_TLS_CA and ANJU_TLS_REQUIRE_CLIENT_CERT need ANJU_TLS_CERT and ANJU_TLS_KEY');
  if (e.ANJU_TLS_REQUIRE_CLIENT_CERT && !e.ANJU_TLS_CA) throw new ConfigError('ANJU_TLS_REQUIRE_CLIENT_CERT=1 needs ANJU_TLS_CA: the CA that signs device certificates');
  if (!e.ANJU_PLAINTEXT && !tls) throw new ConfigError('ANJU_PLAINTEXT=0 leaves no listener: set ANJU_TLS_CERT and ANJU_TLS_KEY');
  if (Boolean(e.ANJU_BACKUP_SCHEDULE) !== Boolean(e.ANJU_BACKUP_DIR)) throw new ConfigError('scheduled backups need both ANJU_BACKUP_SCHEDULE (a cron expression) and ANJU_BACKUP_DIR (where to keep them)');
  const smsToken = e.ANJU_SMS_GATEWAY_TOKEN ? { token: e.ANJU_SMS_GATEWAY_TOKEN } : {};
  const sms = e.ANJU_SMS_GATEWAY_URL ? { url: e.ANJU_SMS_GATEWAY_URL, voiceForCritical: e.ANJU_SMS_GATEWAY_VOICE, ...smsToken } : undefined;
  return {
    backupSchedule: e.ANJU_BACKUP_SCHEDULE && e.ANJU_BACKUP_DIR
      ? { cron: e.ANJU_BACKUP_SCHEDULE, dir: e.ANJU_BACKUP_DIR, keep: e.ANJU_BACKUP_KEEP, timezone: e.ANJU_BACKUP_TIMEZONE }
      : undefined,
    plaintext: e.ANJU_PLAINTEXT,
    tls,
    mqtt: { port: e.ANJU_MQTT_PORT, wsPort: e.ANJU_WS_PORT, host: e.ANJU_HOST, maxPayloadBytes: e.ANJU_MAX_PAYLOAD, connectRatePerMinute: e.ANJU_CONNECT_RATE },
    http: { port: e.ANJU_HTTP_PORT, host: e.ANJU_HOST },
    dataDir: e.ANJU_DATA_DIR,
    adminToken: e.ANJU_ADMIN_TOKEN,
    sim: e.ANJU_SIM,
    demoHistoryDays: e.ANJU_DEMO_HISTORY_DAYS,
    logLevel: e.ANJU_LOG_LEVEL,
    commands: { minRole: e.ANJU_COMMAND_ROLE },
    ingest: {
      brokerUrl: e.ANJU_MQTT_URL, username: e.ANJU_INGEST_USER, password: e.ANJU_INGEST_PASSWORD,
      clientId: e.ANJU_INGEST_CLIENT_ID ?? `${e.ANJU_INGEST_USER}:hub`,
      topics: e.ANJU_MQTT_TOPICS, shareGroup: e.ANJU_MQTT_SHARE_GROUP,
      codecs: { tasmota: { timeZone: e.ANJU_TASMOTA_TIMEZONE }, zigbee2mqtt: { temperatureUnit: e.ANJU_Z2M_TEMPERATURE_UNIT } },
    },
    duckdb: { memoryLimit: e.ANJU_DUCKDB_MEMORY, threads: e.ANJU_DUCKDB_THREADS, checkpointThreshold: e.ANJU_DUCKDB_CHECKPOINT },
    retention: { rawDays: e.ANJU_RETENTION_RAW_DAYS },
    disk: { minFreeBytes: e.ANJU_DISK_MIN_FREE_MB * 1024 * 1024 },
    spool: {
      quotaBytes: e.ANJU_SPOOL_QUOTA_MB * 1024 * 1024, fsync: e.ANJU_SPOOL_FSYNC,
      writeIntervalMs: e.ANJU_STORE_WRITE_INTERVAL_MS, writeBatch: e.ANJU_STORE_WRITE_BATCH,
    },
    alerts: {
      webhooks: e.ANJU_ALERT_WEBHOOKS ?? [],
      escalateCriticalAfterMs: e.ANJU_ESCALATE_CRITICAL_MIN * 60_000,
      escalateMajorAfterMs: e.ANJU_ESCALATE_MAJOR_MIN * 60_000,
      tickMs: e.ANJU_ALERT_TICK_S * 1000,
    },
    duty: sms ? { sms } : {},
    opsExport: { statusIntervalMs: e.ANJU_OPS_STATUS_INTERVAL_S * 1000 },
    ...(e.ANJU_POSTGRES_URL ? { postgres: { url: e.ANJU_POSTGRES_URL } } : {}),
    ...(e.ANJU_REDIS_URL ? { redis: { url: e.ANJU_REDIS_URL, heartbeatMs: e.ANJU_CLUSTER_HEARTBEAT_S * 1000 } } : {}),
    ...(influx ? { store: 'influxdb' as const, influx } : { store: 'embedded' as const }),
  };
}
