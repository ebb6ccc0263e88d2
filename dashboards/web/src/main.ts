/// <reference lib="dom" />
import { ApiError, createApiClient, fetchSession, type ApiClient, type Credentials } from './api.js';
import { disposeCharts } from './charts.js';
import { h, replace, uid } from './dom.js';
import { hazardLabel, levelLabel, roleLabel, severityLabel } from './format.js';
import { initialLang, langNames, langs, setLang, t, type Lang } from './i18n/index.js';
import { connectLive, type Live, type LiveState } from './live.js';
import { AlarmStore, buildingName, Emitter, IncidentStore, loadDevices, PeopleDirectory, roleAt, type Ctx } from './store.js';
import type { AlarmEvent, Building, IncidentEvent, Page, Session, Site } from './types.js';
import { adminView, isAdmin } from './views/admin/index.js';
import { alarmsView } from './views/alarms.js';
import { deviceView } from './views/device.js';
import { energyView } from './views/energy.js';
import { incidentView } from './views/incident.js';
import { loginView } from './views/login.js';
import { mineView } from './views/mine.js';
import { overviewView } from './views/overview.js';
import { reportView } from './views/report.js';
import { rosterView } from './views/roster.js';

/**
 * The control room: sign in, then one shell (header with navigation, site and language, the live
 * indicator and the user) around the view the hash names. Two EventSources feed the stores — the
 * incidents (what people work: one fire, not its alarms) and the alarms (their evidence); views
 * subscribe to the stores and re-fetch only what an event changes.
 *
 * A person signs in with name and password: the server keeps the session in an HttpOnly cookie, and
 * this tab keeps only the CSRF token (sessionStorage) that every change must carry. They see only
 * the sites their grants name (the API answers nothing else), and on each site the actions their
 * role there allows.
 */

const TOKEN_KEY = 'anju.token';
const CSRF_KEY = 'anju.csrf';
const SITE_KEY = 'anju.site';
const app = document.getElementById('app') as HTMLElement;
// Live regions live outside the re-rendered app: a region must exist before what it announces.
document.body.append(
  h('div', { id: 'toast', class: 'toast', 'aria-hidden': 'true', hidden: true }),
  h('div', { id: 'status-region', class: 'sr-only', 'aria-live': 'polite' }),
  h('div', { id: 'alert-region', class: 'sr-only', role: 'alert', 'aria-live': 'assertive' }),
);

interface Signed {
  creds: Credentials;
  session: Session;
  api: ApiClient;
  sites: Site[];
  ctx?: Ctx;
  lives: Live[];
  liveStates: { alarms: LiveState; incidents: LiveState };
  /** Every site's incident events (My incidents spans sites); the stores keep the current site's. */
  incidentEvents: Emitter<IncidentEvent>;
  people: PeopleDirectory;
}
let signed: Signed | undefined;
let cleanupView: (() => void) | undefined;
let toastTimer: number | undefined;

function storedCreds(): Credentials | undefined {
  try {
    const token = localStorage.getItem(TOKEN_KEY) ?? sessionStorage.getItem(TOKEN_KEY);
    if (token) return { token };
    const csrf = sessionStorage.getItem(CSRF_KEY);
    return csrf ? { csrf } : undefined;
  } catch {
    return undefined;
  }
}

/** A token is remembered where asked; a session's CSRF token for this tab only (the cookie is the server's). */
function storeCreds(creds: Credentials | undefined, remember = false): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(CSRF_KEY);
    if (creds && 'token' in creds) (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, creds.token);
    else if (creds) sessionStorage.setItem(CSRF_KEY, creds.csrf);
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
}

function langSwitch(onChange: () => void): HTMLElement {
  const id = uid('lang');
  const select = h('select', {
    id, 'data-testid': 'lang',
    onchange: (e: Event) => {
      setLang((e.target as HTMLSelectElement).value as Lang);
      onChange();
    },
  }, langs.map((l) => h('option', { value: l, lang: l, selected: document.documentElement.lang === l }, langNames[l])));
  return h('div', { class: 'lang-switch' }, h('label', { for: id }, t('lang.label')), select);
}

// ---- login / logout ----

function showLogin(notice?: string): void {
  cleanupView?.();
  cleanupView = undefined;
  disposeCharts();
  if (location.hash !== '#/login') history.replaceState(null, '', '#/login');
  loginView(app, {
    notice,
    langSwitch: langSwitch(() => showLogin()),
    onLogin: (creds, session, remember) => {
      storeCreds(creds, remember);
      void enter(creds, session);
    },
  });
}

function logout(notice?: string): void {
  const was = signed;
  for (const l of was?.lives ?? []) l.close();
  signed = undefined;
  storeCreds(undefined);
  // A person's session ends on the server too (the cookie alone would otherwise stay valid until it expires).
  if (was && 'csrf' in was.creds && !notice) void was.api.post('/api/session/logout').catch(() => undefined);
  showLogin(notice);
}

// ---- signed in ----

async function enter(creds: Credentials, session: Session): Promise<void> {
  const api = createApiClient(creds, () => { if (signed?.creds === creds) logout(t('token' in creds ? 'login.bad' : 'login.sessionEnded')); });
  signed = {
    creds, session, api, sites: [], lives: [], liveStates: { alarms: 'connecting', incidents: 'connecting' },
    incidentEvents: new Emitter<IncidentEvent>(), people: new PeopleDirectory(api),
  };
  replace(app, h('main', { id: 'main', class: 'loading' }, h('p', { class: 'muted' }, t('common.loading'))));
  try {
    signed.sites = (await api.get<Page<Site>>('/api/sites', { limit: 500 })).items;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    replace(app, h('main', { id: 'main' }, h('p', { class: 'error', role: 'alert' }, t('common.error', { message: (err as Error).message }))));
    return;
  }
  let siteId: string | undefined;
  try { siteId = localStorage.getItem(SITE_KEY) ?? undefined; } catch { /* first site */ }
  if (!(await openSite(signed.sites.find((s) => s.id === siteId) ?? signed.sites[0]))) return;
  if (location.hash === '#/login' || location.hash === '') history.replaceState(null, '', '#/');
  startLive();
  render();
}

/**
 * Loads a site (buildings, devices, alarms) and makes it current only once all of it arrived; on a
 * failure the error is shown with a retry, and the previous site (if any) stays current. Resolves
 * whether the site is open.
 */
async function openSite(site: Site | undefined): Promise<boolean> {
  const s = signed;
  if (!s) return false;
  if (!site) {
    replace(app, h('main', { id: 'main' }, h('p', { class: 'error', role: 'alert' }, t('common.notFound', { message: t('site.label') }))));
    return false;
  }
  try {
    await loadSite(s, site);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return false;
    replace(app, h('main', { id: 'main' },
      h('p', { class: 'error', role: 'alert' }, t('common.error', { message: (err as Error).message })),
      h('button', { type: 'button', class: 'btn', onclick: () => { void enter(s.creds, s.session); } }, t('common.retry'))));
    return false;
  }
}

async function loadSite(s: Signed, site: Site): Promise<void> {
  try { localStorage.setItem(SITE_KEY, site.id); } catch { /* not remembered */ }
  const [buildings, devices] = await Promise.all([
    s.api.get<Page<Building>>(`/api/sites/${encodeURIComponent(site.id)}/buildings`, { limit: 500 }),
    loadDevices(s.api, site.id),
    // Assignees by name in the feed; without the list (a hub without accounts) they stay as stored.
    s.people.of(site.id).catch(() => []),
  ]);
  const alarms = new AlarmStore();
  const incidents = new IncidentStore();
  const status = (text: string) => {
    const el = document.getElementById('status-region');
    if (el) { el.textContent = ''; window.setTimeout(() => { el.textContent = text; }, 50); }
    const toast = document.getElementById('toast');
    if (toast) {
      toast.textContent = text;
      toast.hidden = false;
      window.clearTimeout(toastTimer);
      toastTimer = window.setTimeout(() => { toast.hidden = true; }, 5_000);
    }
  };
  const ctx = {
    // The actions a view offers follow the role at this site (the API checks it again).
    api: s.api, session: { ...s.session, role: roleAt(s.session, site.id) }, sites: s.sites, site,
    buildings: new Map(buildings.items.map((b) => [b.id, b])),
    devices: new Map(devices.map((d) => [d.id, d])),
    alarms, incidents, status, incidentEvents: s.incidentEvents, people: s.people,
  };
  await Promise.all([alarms.load(s.api, site.id), incidents.load(s.api, site.id)]);
  s.ctx = ctx;
}

/** Both streams open: live; either down: reconnecting; else connecting. */
function liveState(s: Signed): LiveState {
  const { alarms, incidents } = s.liveStates;
  return alarms === 'open' && incidents === 'open' ? 'open' : alarms === 'down' || incidents === 'down' ? 'down' : 'connecting';
}

function startLive(): void {
  const s = signed;
  if (!s) return;
  for (const l of s.lives) l.close();
  const onClosed = async () => {
    // Refused: a revoked token logs out (the client's 401 handler); anything else retries.
    try {
      await s.api.get<Session>('/api/session');
      return signed === s;
    } catch (err) {
      return !(err instanceof ApiError && err.status === 401) && signed === s;
    }
  };
  const onState = (stream: 'alarms' | 'incidents') => (state: LiveState) => {
    // Each (re)connection reloads that list once: what changed before the stream opened is in
    // the list, what changes after arrives on the stream (the newer state wins).
    if (state === 'open' && s.liveStates[stream] !== 'open' && s.ctx) {
      const ctx = s.ctx;
      void (stream === 'alarms' ? ctx.alarms : ctx.incidents).load(s.api, ctx.site.id).catch(() => undefined);
    }
    s.liveStates[stream] = state;
    const el = document.getElementById('live-indicator');
    if (el) renderLive(el, liveState(s));
  };
  const token = 'token' in s.creds ? { token: s.creds.token } : {};
  s.lives = [
    connectLive<AlarmEvent>({ path: '/api/alerts/stream', ...token, onState: onState('alarms'), onEvent: (e) => onAlarmEvent(e), onClosed }),
    connectLive<IncidentEvent>({ path: '/api/incidents/stream', ...token, onState: onState('incidents'), onEvent: (e) => onIncidentEvent(e), onClosed }),
  ];
}

function onAlarmEvent(e: AlarmEvent): void {
  const ctx = signed?.ctx;
  if (!ctx || e.alarm.site !== ctx.site.id) return;
  ctx.alarms.upsert(e.alarm, true, e);
}

/** Announced to screen readers: a new incident, or one going up a level (预警 → 火警) — not each alarm. */
function onIncidentEvent(e: IncidentEvent): void {
  signed?.incidentEvents.emit(e);
  const ctx = signed?.ctx;
  const i = e.incident;
  if (!ctx || i.site !== ctx.site.id) return;
  ctx.incidents.upsert(i, true, e);
  const news = e.type === 'raised' || e.type === 'escalated' || (e.type === 'updated' && (e.previousLevel !== undefined || e.previousSeverity !== undefined));
  if (!news || (i.severity !== 'critical' && i.level !== 'fire')) return;
  const el = document.getElementById('alert-region');
  // Emptied first, then set on the next tick: the same words twice are announced again.
  if (el) {
    el.textContent = '';
    const first = i.alarms.find((m) => m.originator.kind === 'device');
    const device = first ? (ctx.devices.get(first.originator.id)?.name ?? first.originator.id) : '';
    const text = t('announce.incident', { level: levelLabel(i.level), building: buildingName(ctx, i.building), hazard: hazardLabel(i.hazard), severity: severityLabel(i.severity) });
    window.setTimeout(() => { el.textContent = `${text}${device ? ` · ${device}` : ''}`; }, 50);
  }
}

function renderLive(el: HTMLElement, state: LiveState): void {
  const label = t(state === 'open' ? 'live.open' : state === 'connecting' ? 'live.connecting' : 'live.down');
  el.className = `live live-${state}`;
  el.dataset.state = state;
  el.setAttribute('aria-label', t('live.status', { state: label }));
  replace(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), label);
}

// ---- shell and router ----

const routes = [
  { hash: '#/', key: 'nav.overview' },
  // A person's own work: listed for a session only (an API token is no one's; the API answers 422 no_account).
  { hash: '#/mine', key: 'nav.mine', person: true },
  { hash: '#/alarms', key: 'nav.alarms' },
  { hash: '#/roster', key: 'nav.roster' },
  { hash: '#/energy', key: 'nav.energy' },
  { hash: '#/report', key: 'nav.report' },
  // Administration: listed for the admin role only (the API refuses everyone else anyway).
  { hash: '#/admin', key: 'nav.admin', admin: true },
] as const;

function render(): void {
  const s = signed;
  const ctx = s?.ctx;
  if (!s || !ctx) return;
  cleanupView?.();
  cleanupView = undefined;
  disposeCharts();

  const hash = location.hash || '#/';
  const [, first, second] = hash.split('/');
  const current = first ? `#/${first}` : '#/';

  const siteSelect = s.sites.length > 1
    ? (() => {
      const id = uid('site');
      return h('div', { class: 'site-switch' }, h('label', { for: id }, t('site.label')),
        h('select', {
          id,
          onchange: async (e: Event) => {
            const next = s.sites.find((x) => x.id === (e.target as HTMLSelectElement).value);
            if (await openSite(next)) render();
          },
        }, s.sites.map((x) => h('option', { value: x.id, selected: x.id === ctx.site.id }, x.name))));
    })()
    : h('span', { class: 'site-name' }, ctx.site.name);
  const live = h('span', { id: 'live-indicator', role: 'status' });
  renderLive(live, liveState(s));
  const main = h('main', { id: 'main', tabindex: '-1' });

  replace(app,
    h('button', { type: 'button', class: 'skip', onclick: () => main.focus() }, t('app.skip')),
    h('header', { class: 'top' },
      h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '安'), t('app.title')),
      h('nav', { 'aria-label': t('nav.label') }, h('ul', null, routes.filter((r) => (!('admin' in r) || isAdmin(ctx)) && (!('person' in r) || 'csrf' in s.creds)).map((r) => h('li', null,
        h('a', { href: r.hash, 'data-nav': r.hash.slice(2) || 'overview', 'aria-current': current === r.hash ? 'page' : false }, t(r.key)))))),
      h('div', { class: 'top-tools' },
        siteSelect,
        langSwitch(() => render()),
        live,
        h('span', { class: 'user', 'data-role': ctx.session.role, 'data-testid': 'user', title: t('user.sites', { sites: s.sites.map((x) => x.name).join('、') }) },
          t('user.signedIn', { name: s.session.displayName ?? s.session.name, role: roleLabel(ctx.session.role) })),
        h('button', { type: 'button', class: 'btn', 'data-testid': 'logout', onclick: () => logout() }, t('user.logout')))),
    main);

  const decode = (x: string | undefined) => (x ? decodeURIComponent(x) : undefined);
  switch (current) {
    case '#/alarms': cleanupView = alarmsView(main, ctx, decode(second)); break;
    case '#/mine': cleanupView = mineView(main, ctx, decode(second)); break;
    case '#/incidents': cleanupView = incidentView(main, ctx, decode(second)); break;
    case '#/roster': cleanupView = rosterView(main, ctx); break;
    case '#/devices': cleanupView = second ? deviceView(main, ctx, decodeURIComponent(second)) : overviewView(main, ctx); break;
    case '#/energy': cleanupView = energyView(main, ctx); break;
    case '#/report': cleanupView = reportView(main, ctx); break;
    case '#/admin': cleanupView = adminView(main, ctx, second); break;
    default: cleanupView = overviewView(main, ctx);
  }
}

window.addEventListener('hashchange', () => {
  if (!signed) {
    if (location.hash !== '#/login') showLogin();
    return;
  }
  if (location.hash === '#/login') {
    logout();
    return;
  }
  render();
  document.getElementById('main')?.focus({ preventScroll: true });
});

async function start(): Promise<void> {
  setLang(initialLang(), false);
  const creds = storedCreds();
  if (!creds) {
    showLogin();
    return;
  }
  try {
    await enter(creds, await fetchSession<Session>(creds));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      storeCreds(undefined);
      // A session that ended (idle, logged out elsewhere) is no error of the person's: just sign in again.
      showLogin('token' in creds ? t('login.bad') : undefined);
    } else {
      showLogin(t('login.failed', { message: (err as Error).message }));
    }
  }
}

void start();
