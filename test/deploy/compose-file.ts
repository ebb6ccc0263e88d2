/**
 * Reading docker-compose.yml, .env and the Dockerfile the way Docker does, for tests on machines
 * without a Docker engine. Interpolation follows the Compose specification ("Interpolation"):
 * `$$` escapes, `$VAR` / `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
 * `${VAR:?err}` / `${VAR?err}` (required), `${VAR:+alt}` / `${VAR+alt}`, nested in the argument.
 */

export type Op = '' | ':-' | '-' | ':?' | '?' | ':+' | '+';
type Part = { kind: 'text'; text: string } | { kind: 'var'; name: string; op: Op; arg: Part[] };

const nameStart = /[A-Za-z_]/;
const nameChar = /[A-Za-z0-9_]/;
const ops: Op[] = [':-', ':?', ':+', '-', '?', '+'];

function parseParts(s: string, start: number, inBraces: boolean): [Part[], number] {
  const parts: Part[] = [];
  let text = '';
  let i = start;
  const flush = () => {
    if (text) parts.push({ kind: 'text', text });
    text = '';
  };
  while (i < s.length) {
    const c = s[i] as string;
    if (inBraces && c === '}') {
      flush();
      return [parts, i];
    }
    if (c !== '$') {
      text += c;
      i += 1;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      text += '$';
      i += 2;
    } else if (next === '{') {
      let j = i + 2;
      let name = '';
      while (j < s.length && nameChar.test(s[j] as string)) name += s[j++];
      if (!name || !nameStart.test(name[0] as string)) throw new Error(`invalid interpolation at ${i} in ${JSON.stringify(s)}`);
      const op = ops.find((o) => s.startsWith(o, j)) ?? '';
      if (op === '' && s[j] !== '}') throw new Error(`invalid interpolation at ${i} in ${JSON.stringify(s)}`);
      const [arg, end] = parseParts(s, j + op.length, true);
      if (s[end] !== '}') throw new Error(`unterminated \${ at ${i} in ${JSON.stringify(s)}`);
      flush();
      parts.push({ kind: 'var', name, op, arg });
      i = end + 1;
    } else if (next !== undefined && nameStart.test(next)) {
      let j = i + 1;
      let name = '';
      while (j < s.length && nameChar.test(s[j] as string)) name += s[j++];
      flush();
      parts.push({ kind: 'var', name, op: '', arg: [] });
      i = j;
    } else {
      text += '$';
      i += 1;
    }
  }
  if (inBraces) throw new Error(`unterminated \${ in ${JSON.stringify(s)}`);
  flush();
  return [parts, i];
}

function parseTemplate(s: string): Part[] {
  return parseParts(s, 0, false)[0];
}

export interface VarRef {
  readonly name: string;
  readonly op: Op;
}

/** Every variable a string refers to, including those nested in defaults and messages. */
export function variables(s: string): VarRef[] {
  const out: VarRef[] = [];
  const walk = (parts: Part[]) => {
    for (const p of parts) {
      if (p.kind === 'var') {
        out.push({ name: p.name, op: p.op });
        walk(p.arg);
      }
    }
  };
  walk(parseTemplate(s));
  return out;
}

/** True when the variable must come from the environment (no default, alternative or fallback). */
export function isRequired(op: Op): boolean {
  return op === '' || op === ':?' || op === '?';
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Interpolates one string; `errors` lists required variables that were missing. */
export function interpolate(s: string, env: Env): { value: string; errors: string[] } {
  const errors: string[] = [];
  const render = (parts: Part[]): string => parts.map((p) => {
    if (p.kind === 'text') return p.text;
    const v = env[p.name];
    const unset = v === undefined;
    const empty = unset || v === '';
    switch (p.op) {
      case '': if (unset) errors.push(`${p.name} is not set`); return v ?? '';
      case ':-': return empty ? render(p.arg) : (v as string);
      case '-': return unset ? render(p.arg) : (v as string);
      case ':?': if (empty) errors.push(`${p.name}: ${render(p.arg)}`); return v ?? '';
      case '?': if (unset) errors.push(`${p.name}: ${render(p.arg)}`); return v ?? '';
      case ':+': return empty ? '' : render(p.arg);
      case '+': return unset ? '' : render(p.arg);
    }
    return '';
  }).join('');
  const value = render(parseTemplate(s));
  return { value, errors };
}

/** Interpolates every string value (not keys) of a parsed YAML document, as `docker compose config` does. */
export function interpolateDeep<T>(value: T, env: Env, errors: string[] = []): { value: T; errors: string[] } {
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const r = interpolate(v, env);
      errors.push(...r.errors);
      return r.value;
    }
    if (Array.isArray(v)) return v.map(visit);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    return v;
  };
  return { value: visit(value) as T, errors };
}

/** Every string value of a document (for collecting references). */
export function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}

/** A `.env` file as Compose reads it: KEY=VALUE lines, `#` comments, optional quotes, `export `. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`not a KEY=VALUE line: ${raw}`);
    let value = m[2] as string;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    out[m[1] as string] = value;
  }
  return out;
}

// --- docker-compose.yml shapes --------------------------------------------------------------

export interface PortLong { target: number | string; published?: number | string; host_ip?: string; protocol?: string }
export interface VolumeLong { type?: string; source?: string; target: string; read_only?: boolean }
export interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  profiles?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number | PortLong>;
  volumes?: Array<string | VolumeLong>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
}
export interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

export function envOf(service: Service): Record<string, string> {
  const e = service.environment;
  if (!e) return {};
  if (Array.isArray(e)) {
    return Object.fromEntries(e.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

export interface Port { hostIp?: string; host?: number; container: number; protocol: string }

export function portsOf(service: Service): Port[] {
  return (service.ports ?? []).map((p): Port => {
    if (typeof p === 'object') {
      return {
        hostIp: p.host_ip, host: p.published === undefined ? undefined : Number(p.published),
        container: Number(p.target), protocol: p.protocol ?? 'tcp',
      };
    }
    const [spec, protocol = 'tcp'] = String(p).split('/') as [string, string | undefined];
    const fields = spec.split(':');
    if (fields.length === 1) return { container: Number(fields[0]), protocol };
    if (fields.length === 2) return { host: Number(fields[0]), container: Number(fields[1]), protocol };
    return { hostIp: fields.slice(0, -2).join(':'), host: Number(fields.at(-2)), container: Number(fields.at(-1)), protocol };
  });
}

export interface Mount { type: 'volume' | 'bind'; source?: string; target: string; readOnly: boolean }

export function mountsOf(service: Service): Mount[] {
  return (service.volumes ?? []).map((v): Mount => {
    if (typeof v === 'object') {
      const type = v.type === 'bind' ? 'bind' : 'volume';
      return { type, source: v.source, target: v.target, readOnly: v.read_only === true };
    }
    const [source, target, mode] = v.split(':') as [string, string | undefined, string | undefined];
    if (target === undefined) return { type: 'volume', target: source, readOnly: false };
    const bind = /^[./~]/.test(source);
    return { type: bind ? 'bind' : 'volume', source, target, readOnly: (mode ?? '').split(',').includes('ro') };
  });
}

export function healthcheckText(service: Service): string {
  const t = service.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : (t ?? '');
}

export function dependsOn(service: Service): Record<string, string | undefined> {
  const d = service.depends_on;
  if (!d) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, undefined]));
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v?.condition]));
}

// --- Dockerfile ------------------------------------------------------------------------------

export interface Instruction { keyword: string; args: string }
export interface Stage { from: string; name?: string; instructions: Instruction[] }

/** Instructions with continuation lines joined and comments dropped, grouped into stages. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (current && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current) logical.push(current);
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const keyword = (m[1] as string).toUpperCase();
    const args = m[2] as string;
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      stages.push({ from: f?.[1] ?? args, name: f?.[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARG before the first FROM
    stage.instructions.push({ keyword, args });
  }
  return stages;
}
