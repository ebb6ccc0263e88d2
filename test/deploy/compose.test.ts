import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, loadConfig } from '../../core/config.js';
import {
  dependsOn, envOf, healthcheckText, interpolate, interpolateDeep, isRequired, mountsOf, parseDockerfile, parseDotenv, portsOf,
  stringsOf, variables, type ComposeFile, type Service,
} from './compose-file.js';

/**
 * There is no Docker engine on the project's CI machines, so the deployment is checked by reading
 * it: docker-compose.yml (parsed, then interpolated with .env.example as `docker compose config`
 * would), the Grafana provisioning it mounts, the Dockerfile and .dockerignore. Not an end-to-end
 * run: images are not pulled or built here.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const raw = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const dotenv = parseDotenv(read('.env.example'));
const { value: compose, errors: interpolationErrors } = interpolateDeep(raw, dotenv);
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};

/** The env names core/config.ts validates: the keys of its exported zod object schema. */
const knownEnv = new Set(Object.keys(envSchema.shape));
const clusterNodes = ['anju-node-1', 'anju-node-2', 'anju-node-3'];
const anjuServices = ['anju', 'anju-broker', 'anju-hub', ...clusterNodes];
const roles = ['all', 'broker', 'hub'];
const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/).filter(Boolean));

describe('compose interpolation (as Compose does it)', () => {
  it('handles defaults, required variables, nesting and $$', () => {
    expect(interpolate('${A:-x}/${B-y}/$$C/$D', { A: '', B: '', D: 'd' })).toEqual({ value: 'x//$C/d', errors: [] });
    expect(interpolate('${A:-${B:?need B}}', { B: 'b' }).value).toBe('b');
    expect(interpolate('${A:-${B:?need B}}', {}).errors).toEqual(['B: need B']);
    expect(interpolate('${A:+set}${B+also}', { A: 'a', B: '' }).value).toBe('setalso');
    expect(variables('${A:-${B:?m}} $C')).toEqual([{ name: 'A', op: ':-' }, { name: 'B', op: ':?' }, { name: 'C', op: '' }]);
    expect(parseDotenv('# c\nexport A=1\nB="x # y"\nC=z # comment\nD=\n')).toEqual({ A: '1', B: 'x # y', C: 'z', D: '' });
  });
});

describe('docker-compose.yml', () => {
  it('resolves with .env.example: no missing variable and no ${ left', () => {
    expect(interpolationErrors).toEqual([]);
    expect(JSON.stringify(compose)).not.toContain('${');
  });

  it('refuses to start without a .env: the secrets have no default', () => {
    const { errors } = interpolateDeep(raw, {});
    const missing = new Set(errors.map((e) => e.split(':')[0]));
    for (const name of ['INFLUX_ADMIN_PASSWORD', 'INFLUX_ADMIN_TOKEN', 'GRAFANA_ADMIN_PASSWORD', 'ANJU_INGEST_PASSWORD']) {
      expect(missing, name).toContain(name);
    }
  });

  it('.env.example defines every variable the file needs and documents every one it reads', () => {
    const refs = stringsOf(raw).flatMap(variables);
    for (const ref of refs) {
      expect(Object.keys(dotenv), `${ref.name} is interpolated but not in .env.example`).toContain(ref.name);
      if (isRequired(ref.op)) expect(dotenv[ref.name], `${ref.name} has no default, so .env.example must give it a value`).not.toBe('');
    }
  });

  it('has no secret as a literal value, and .env.example only placeholders', () => {
    const secret = /PASSWORD|TOKEN|SECRET/;
    for (const [name, s] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(envOf(s))) {
        if (!secret.test(key) || value === '') continue;
        expect(value, `${name}.${key} must come from .env`).toMatch(/^\$\{[A-Z0-9_]+(:?[-?].*)?\}$/s);
        // A default of a secret may only be another variable, never a value.
        for (const arg of value.matchAll(/:-([^$}][^}]*)\}/g)) expect.fail(`${name}.${key} has a literal default ${arg[1]}`);
      }
    }
    for (const [key, value] of Object.entries(dotenv)) {
      if (secret.test(key) && value !== '') expect(value, `.env.example ${key}`).toMatch(/^change-me/);
    }
  });

  it('has the services: influxdb, grafana and anju by default, anju-broker and anju-hub in profile split', () => {
    for (const name of ['influxdb', 'grafana', 'anju']) expect(service(name).profiles ?? [], name).toEqual([]);
    for (const name of ['anju-broker', 'anju-hub']) expect(service(name).profiles, name).toEqual(['split']);
    expect(commandOf(service('anju'))).toEqual(['all']);
    expect(commandOf(service('anju-broker'))).toEqual(['broker']);
    expect(commandOf(service('anju-hub'))).toEqual(['hub']);
  });

  it('pins every image (no latest, no bare name) and builds Anju from this repository', () => {
    for (const [name, s] of Object.entries(services)) {
      if (anjuServices.includes(name)) {
        expect(s.build, `${name} builds the Dockerfile`).toBeDefined();
        continue;
      }
      expect(s.image, name).toBeDefined();
      const tag = /:([^/:@]+)(@sha256:[0-9a-f]{64})?$/.exec(s.image as string)?.[1];
      expect(tag, `${name}: ${s.image} needs a tag`).toBeDefined();
      expect(tag).not.toBe('latest');
      expect(tag, `${name}: ${s.image} pins a version`).toMatch(/^\d+\.\d+/);
    }
    expect(service('influxdb').image).toMatch(/^influxdb:2\.7(\.\d+)?$/);
    expect(service('grafana').image).toMatch(/^grafana\/grafana(-oss)?:\d+\.\d+\.\d+$/);
  });

  it('initialises InfluxDB 2.7 in setup mode with every DOCKER_INFLUXDB_INIT_* it needs', () => {
    const env = envOf(service('influxdb'));
    expect(env.DOCKER_INFLUXDB_INIT_MODE).toBe('setup');
    for (const key of ['USERNAME', 'PASSWORD', 'ORG', 'BUCKET', 'ADMIN_TOKEN', 'RETENTION']) {
      expect(env[`DOCKER_INFLUXDB_INIT_${key}`], key).toBeTruthy();
    }
    // influx setup refuses shorter passwords; a bucket with "/" would map to another InfluxQL db/rp.
    expect((env.DOCKER_INFLUXDB_INIT_PASSWORD as string).length).toBeGreaterThanOrEqual(8);
    expect(env.DOCKER_INFLUXDB_INIT_BUCKET).not.toContain('/');
    expect(env.DOCKER_INFLUXDB_INIT_RETENTION).toMatch(/^(0|(\d+(ns|us|µs|ms|s|m|h|d|w))+)$/);
  });

  it('uses only ANJU_* names core/config.ts knows, with values it accepts', () => {
    expect(knownEnv.size).toBeGreaterThan(10);
    for (const [name, s] of Object.entries(services)) {
      for (const key of Object.keys(envOf(s)).filter((k) => k.startsWith('ANJU_'))) {
        expect(knownEnv, `${name}: ${key} is not in core/config.ts`).toContain(key);
      }
    }
    for (const name of anjuServices) {
      expect(roles, name).toContain(commandOf(service(name))[0]);
      expect(() => loadConfig(envOf(service(name))), name).not.toThrow();
    }
    expect(loadConfig(envOf(service('anju'))).store).toBe('influxdb');
    expect(loadConfig(envOf(service('anju-hub'))).store).toBe('influxdb');
  });

  it('points Anju at the influxdb service with its org, bucket and token', () => {
    const influx = envOf(service('influxdb'));
    for (const name of ['anju', 'anju-hub']) {
      const { influx: cfg } = loadConfig(envOf(service(name)));
      if (!cfg) throw new Error(`${name} has no InfluxDB settings`);
      const url = new URL(cfg.url);
      expect(url.hostname, name).toBe('influxdb');
      expect(url.port, name).toBe('8086');
      expect(cfg.org, name).toBe(influx.DOCKER_INFLUXDB_INIT_ORG);
      expect(cfg.bucket, name).toBe(influx.DOCKER_INFLUXDB_INIT_BUCKET);
      // With .env.example (no narrower token set) the operator token of the setup.
      expect(cfg.token, name).toBe(influx.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    }
  });

  it('publishes anju 1883/8083/8080, grafana 3000, influxdb 8086, matching the configured ports', () => {
    const published = (name: string) => portsOf(service(name)).map((p) => `${p.host}:${p.container}`);
    expect(published('anju')).toEqual(expect.arrayContaining(['1883:1883', '8083:8083', '8080:8080']));
    expect(published('grafana')).toContain('3000:3000');
    expect(published('influxdb')).toContain('8086:8086');
    // Cluster nodes publish nothing: HAProxy is their front (checked below).
    for (const name of anjuServices.filter((n) => !clusterNodes.includes(n))) {
      const cfg = loadConfig(envOf(service(name)));
      const containerPorts = portsOf(service(name)).map((p) => p.container);
      const role = commandOf(service(name))[0];
      // `anju` also publishes its TLS ports (listening once ANJU_TLS_CERT/_KEY are set).
      const env = envOf(service(name));
      const tlsPorts = (['ANJU_MQTTS_PORT', 'ANJU_WSS_PORT', 'ANJU_HTTPS_PORT'] as const).filter((k) => env[k]).map((k) => envSchema.shape[k].parse(env[k]));
      const expected = role === 'broker' ? [cfg.mqtt.port, cfg.mqtt.wsPort] : role === 'hub' ? [cfg.http.port] : [cfg.mqtt.port, cfg.mqtt.wsPort, cfg.http.port, ...tlsPorts];
      expect(containerPorts.sort(), name).toEqual(expected.sort());
    }
  });

  it('has no host port twice in the default set or with --profile split or cluster', () => {
    const sets = { default: [] as string[], split: ['split'], cluster: ['cluster'], all: ['split', 'cluster'] };
    for (const [set, profiles] of Object.entries(sets)) {
      const seen = new Map<string, string>();
      for (const [name, s] of Object.entries(services)) {
        if (s.profiles?.length && !s.profiles.some((p) => profiles.includes(p))) continue;
        for (const p of portsOf(s)) {
          if (p.host === undefined) continue;
          const key = `${p.host}/${p.protocol}`;
          expect(seen.get(key), `${set}: host port ${key} of ${name}`).toBeUndefined();
          seen.set(key, name);
        }
      }
    }
  });

  it('declares its named volumes at the top level, uses each, and gives every Anju role its own data dir', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const used = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const m of mountsOf(s)) {
        if (m.type !== 'volume') continue;
        expect(m.source, `${name}: anonymous volume at ${m.target}`).toBeDefined();
        expect(declared, `${name}: volume ${m.source}`).toContain(m.source);
        used.add(m.source as string);
      }
    }
    expect([...used].sort()).toEqual([...declared].sort());
    const influxTargets = mountsOf(service('influxdb')).filter((m) => m.type === 'volume').map((m) => m.target);
    expect(influxTargets.sort()).toEqual(['/etc/influxdb2', '/var/lib/influxdb2']);
    expect(mountsOf(service('grafana')).some((m) => m.type === 'volume' && m.target === '/var/lib/grafana')).toBe(true);
    // DuckDB locks its file: two processes cannot share a data dir.
    const dataVolumes = anjuServices.map((name) => {
      const dir = loadConfig(envOf(service(name))).dataDir;
      const m = mountsOf(service(name)).find((x) => x.target === dir);
      expect(m?.type, `${name}: ANJU_DATA_DIR ${dir} on a named volume`).toBe('volume');
      return m?.source;
    });
    expect(new Set(dataVolumes).size).toBe(anjuServices.length);
  });

  it('mounts the TLS certificates read-only for anju, and .env.example switches TLS on with paths under that mount', () => {
    const certs = mountsOf(service('anju')).find((m) => m.target === '/certs');
    expect(certs).toMatchObject({ type: 'bind', readOnly: true });
    const env = envOf(service('anju'));
    // TLS stays off with .env.example (empty paths); set, the same env passes the config schema.
    expect(loadConfig(env).tls).toBeUndefined();
    const on = loadConfig({ ...env, ANJU_TLS_CERT: '/certs/tls.crt', ANJU_TLS_KEY: '/certs/tls.key', ANJU_TLS_CA: '/certs/ca.crt', ANJU_PLAINTEXT: '0' });
    expect(on.tls).toMatchObject({ certFile: '/certs/tls.crt', mqttsPort: 8883, wssPort: 8084, httpsPort: 8443 });
    expect(on.plaintext).toBe(false);
    expect(healthcheckText(service('anju'))).toContain(`127.0.0.1:${on.tls?.httpsPort}/health`);
  });

  it('gives every service a healthcheck that checks the right thing', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck?.disable, name).not.toBe(true);
      expect(healthcheckText(s), name).not.toBe('');
    }
    expect(healthcheckText(service('influxdb'))).toMatch(/influx ping|:8086\/health/);
    expect(healthcheckText(service('grafana'))).toContain('127.0.0.1:3000/api/health');
    for (const name of ['anju', 'anju-hub']) {
      const port = loadConfig(envOf(service(name))).http.port;
      expect(healthcheckText(service(name)), name).toContain(`127.0.0.1:${port}/health`);
    }
    // The broker role has no HTTP server: its check must not be the image's /health one.
    const broker = healthcheckText(service('anju-broker'));
    expect(broker).not.toContain('/health');
    expect(broker).toContain(String(loadConfig(envOf(service('anju-broker'))).mqtt.port));
  });

  it('starts Grafana and Anju only once InfluxDB (and the hub once its broker) is healthy', () => {
    expect(dependsOn(service('anju')).influxdb).toBe('service_healthy');
    expect(dependsOn(service('grafana')).influxdb).toBe('service_healthy');
    expect(dependsOn(service('anju-hub')).influxdb).toBe('service_healthy');
    expect(dependsOn(service('anju-hub'))['anju-broker']).toBe('service_healthy');
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(dependsOn(s))) expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
    }
  });

  it('splits broker and hub with one service account: same user and password, hub dials the broker', () => {
    const broker = loadConfig(envOf(service('anju-broker')));
    const hub = loadConfig(envOf(service('anju-hub')));
    // The broker role creates the ingest service account only when ANJU_INGEST_PASSWORD is set.
    expect(broker.ingest.password).toBeTruthy();
    expect(hub.ingest.username).toBe(broker.ingest.username);
    expect(hub.ingest.password).toBe(broker.ingest.password);
    const url = new URL(hub.ingest.brokerUrl as string);
    expect(url.protocol).toBe('mqtt:');
    expect(url.hostname).toBe('anju-broker');
    expect(Number(url.port)).toBe(broker.mqtt.port);
  });
});

describe('Grafana provisioning mounts', () => {
  const grafana = service('grafana');
  const env = envOf(grafana);
  const mounts = mountsOf(grafana);
  const binds = mounts.filter((m) => m.type === 'bind');
  /** Host files behind a container path (a mounted file, or every file of a mounted directory). */
  const filesUnder = (dir: string) => binds.flatMap((m) => {
    if (m.target !== dir && !m.target.startsWith(`${dir}/`)) return [];
    const host = resolve(root, m.source as string);
    return statSync(host).isDirectory() ? readdirSync(host).map((f) => join(host, f)) : [host];
  });

  it('mounts existing files, read-only', () => {
    expect(binds.length).toBeGreaterThanOrEqual(3);
    for (const m of binds) {
      expect(existsSync(resolve(root, m.source as string)), m.source).toBe(true);
      expect(m.readOnly, m.target).toBe(true);
    }
  });

  it('provisions exactly one datasource, the 2.x InfluxQL one with uid anju-influxdb, fed by the compose env', () => {
    const files = filesUnder('/etc/grafana/provisioning/datasources');
    expect(files.map((f) => basename(f))).toEqual(['influxdb-2x.yaml']);
    const text = readFileSync(files[0] as string, 'utf8');
    const doc = parse(text) as { datasources: Array<{ uid: string; type: string; url: string; jsonData: { version: string; dbName?: string } }> };
    expect(doc.datasources.map((d) => d.uid)).toEqual(['anju-influxdb']);
    expect(doc.datasources[0]?.jsonData.version).toBe('InfluxQL');
    // Grafana expands $VAR / ${VAR} in provisioning files from its own environment.
    const refs = variables(text).map((r) => r.name);
    expect(refs.length).toBeGreaterThan(0);
    for (const name of refs) expect(env[name], `grafana needs ${name} for the datasource`).toBeTruthy();
    const influx = envOf(service('influxdb'));
    const same: Record<string, string> = { ANJU_INFLUX_BUCKET: 'BUCKET', ANJU_INFLUX_ORG: 'ORG', ANJU_INFLUX_TOKEN: 'ADMIN_TOKEN' };
    for (const [name, init] of Object.entries(same)) {
      if (refs.includes(name)) expect(env[name], name).toBe(influx[`DOCKER_INFLUXDB_INIT_${init}`]);
    }
    expect(refs).toContain('ANJU_INFLUX_BUCKET');
    const url = new URL(env.ANJU_INFLUX_URL as string);
    expect([url.hostname, url.port]).toEqual(['influxdb', '8086']);
  });

  it('mounts the generated dashboards where the provider loads them', () => {
    const providerFiles = filesUnder('/etc/grafana/provisioning/dashboards');
    expect(providerFiles.length).toBeGreaterThan(0);
    const paths = providerFiles.flatMap((f) => (parse(readFileSync(f, 'utf8')) as { providers: Array<{ options: { path: string } }> }).providers.map((p) => p.options.path));
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const m = binds.find((b) => b.target === path);
      expect(m, `nothing mounted at the provider path ${path}`).toBeDefined();
      const dir = resolve(root, m?.source as string);
      expect(statSync(dir).isDirectory()).toBe(true);
      const dashboards = readdirSync(dir).filter((f) => f.endsWith('.json'));
      expect(dashboards.length).toBeGreaterThan(0);
      for (const f of dashboards) {
        const json = readFileSync(join(dir, f), 'utf8');
        expect((JSON.parse(json) as { uid?: string }).uid, f).toBeTruthy();
        expect(json, `${f} uses the provisioned datasource`).toContain('"anju-influxdb"');
      }
    }
  });
});

describe('Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const final = stages.at(-1);
  const all = (keyword: string, stage = final) => (stage?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => i.args);

  it('is multi-stage on Node images pinned to a major version the package supports', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) {
      const major = /^node:(\d+)[.\w-]*$/.exec(s.from)?.[1];
      expect(major, `${s.from} pins a Node major version`).toBeDefined();
      expect(Number(major)).toBeGreaterThanOrEqual(20); // package.json engines: node >= 20.19
    }
  });

  it('builds dist/ (with the web UI) in the build stage and prunes dev dependencies', () => {
    const build = stages.find((s) => all('RUN', s).some((r) => r.includes('npm run build')));
    expect(build, 'a stage runs npm run build').toBeDefined();
    expect(build).not.toBe(final);
    const runs = all('RUN', build).join('\n');
    expect(runs).toContain('npm ci');
    expect(runs).toMatch(/npm prune --omit=dev|npm ci --omit=dev/);
    expect(runs).toContain('dist/web/index.html');
  });

  it('runtime stage: copies dist/, production node_modules and package.json from the build stage, no sources', () => {
    const copies = all('COPY');
    const buildName = stages.find((s) => all('RUN', s).some((r) => r.includes('npm run build')))?.name;
    expect(buildName, 'the build stage is named (FROM … AS name)').toBeTruthy();
    const from = (path: string) => copies.some((c) => c.startsWith(`--from=${buildName} `) && c.split(/\s+/).includes(`/app/${path}`));
    expect(from('dist'), 'COPY --from=<build> /app/dist').toBe(true);
    expect(from('node_modules'), 'COPY --from=<build> /app/node_modules').toBe(true);
    expect(copies.some((c) => c.includes('package.json'))).toBe(true);
    expect(copies.every((c) => c.startsWith('--from=')), 'the runtime stage copies nothing from the context').toBe(true);
    expect(all('RUN').join('\n')).not.toMatch(/npm (ci|install)/);
  });

  it('runs as a non-root user with a /health HEALTHCHECK and the documented ports', () => {
    const users = all('USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = all('HEALTHCHECK');
    expect(health.length).toBe(1);
    expect(health[0]).not.toMatch(/^NONE/i);
    expect(health[0]).toContain('/health');
    const exposed = all('EXPOSE').join(' ').split(/\s+/).map((p) => p.replace(/\/tcp$/, ''));
    expect(exposed).toEqual(expect.arrayContaining(['1883', '8083', '8080']));
  });

  it('starts the compiled CLI the package declares, role all by default', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
    expect(all('ENTRYPOINT').join(' ')).toContain(pkg.bin.anju as string);
    expect(JSON.parse(all('CMD').at(-1) as string)).toEqual(['all']);
  });
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('keeps local state, build output and secrets out of the build context', () => {
    for (const p of ['node_modules', 'dist', 'data', 'test-results', '.git', '.env']) expect(patterns, p).toContain(p);
  });

  it('keeps what npm ci and npm run build need', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'dashboards', ...build.include];
    for (const path of needed) {
      expect(patterns.filter((p) => !p.startsWith('!')), path).not.toContain(path);
      expect(patterns.filter((p) => !p.startsWith('!')), path).not.toContain(`${path}/`);
    }
  });
});

describe('docker-compose.yml, profile cluster', () => {
  const cfg = read('deploy/haproxy/haproxy.cfg');
  it('runs three nodes, Redis, PostgreSQL and HAProxy in profile cluster only', () => {
    for (const name of [...clusterNodes, 'redis', 'postgres', 'haproxy']) expect(service(name).profiles, name).toEqual(['cluster']);
    for (const name of clusterNodes) expect(commandOf(service(name))).toEqual(['all']);
  });

  it('puts every node on the same PostgreSQL, Redis, InfluxDB and ingest account, each with its own spool volume', () => {
    const configs = clusterNodes.map((name) => loadConfig(envOf(service(name))));
    const pg = envOf(service('postgres'));
    for (const [i, c] of configs.entries()) {
      const node = clusterNodes[i]!;
      const state = new URL(c.postgres?.url ?? '');
      expect([state.hostname, state.port, state.username, decodeURIComponent(state.password), state.pathname], node)
        .toEqual(['postgres', '5432', pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`]);
      const redis = new URL(c.redis?.url ?? '');
      expect([redis.hostname, redis.port, decodeURIComponent(redis.password)], node).toEqual(['redis', '6379', envOf(service('redis')).REDIS_PASSWORD]);
      expect(c.store, node).toBe('influxdb');
      expect(c.mqtt.connectRatePerMinute, `${node}: every device comes from HAProxy's address`).toBeGreaterThanOrEqual(10_000);
      expect(c.redis?.heartbeatMs, node).toBe(configs[0]!.redis?.heartbeatMs);
      expect([c.ingest.username, c.ingest.password], node).toEqual([configs[0]!.ingest.username, configs[0]!.ingest.password]);
      expect(portsOf(service(node)), `${node} is reached through HAProxy only`).toEqual([]);
      expect(dependsOn(service(node)), node).toEqual({ influxdb: 'service_healthy', redis: 'service_healthy', postgres: 'service_healthy' });
    }
    const volumes = clusterNodes.map((n) => mountsOf(service(n)).find((m) => m.target === '/data')?.source);
    expect(new Set(volumes).size).toBe(3);
  });

  it('HAProxy mounts deploy/haproxy/haproxy.cfg, which sends MQTT, WebSocket and HTTP to each node on its configured ports', () => {
    expect(mountsOf(service('haproxy')).find((m) => m.target === '/usr/local/etc/haproxy/haproxy.cfg')?.source).toMatch(/deploy\/haproxy\/haproxy\.cfg$/);
    const c = loadConfig(envOf(service('anju-node-1')));
    for (const [frontend, port] of [['mqtt_nodes', c.mqtt.port], ['mqtt_ws_nodes', c.mqtt.wsPort], ['http_nodes', c.http.port]] as const) {
      const block = cfg.split(/\n(?=backend |frontend )/).find((b) => b.startsWith(`backend ${frontend}`)) ?? '';
      const servers = [...block.matchAll(/server \S+ (\S+):(\d+)/g)].map((m) => [m[1], Number(m[2])]);
      expect(servers, frontend).toEqual(clusterNodes.map((n) => [n, port]));
    }
    const published = portsOf(service('haproxy')).map((p) => p.container).sort();
    expect(published).toEqual([...cfg.matchAll(/bind :(\d+)/g)].map((m) => Number(m[1])).sort());
  });
});

