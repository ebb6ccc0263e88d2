/// <reference lib="dom" />
import { binCategoryNames, meterPurposeNames } from '../../../../../core/labels.js';
import type { KindName } from '../../../../../core/kinds/index.js';
import { h, replace, uid } from '../../dom.js';
import { categoryLabel, kindLabel } from '../../format.js';
import { t, tOr } from '../../i18n/index.js';
import { buildingName, loadDevices, type Ctx } from '../../store.js';
import type { BinCategory, Device } from '../../types.js';
import { busy, confirmDialog, errorText, field, messageBox, secretOnce } from './common.js';

/**
 * `#/admin/devices`: the current site's devices — search by id, name or location and filter by
 * kind; add one (its MQTT secret shown once), edit its name, location and building, rotate its
 * secret (shown once; the old one stops working), delete it after a confirmation. Every change
 * goes through `/api/devices` and is reflected in the shared device names the other views use.
 */

const kinds = ['smoke_detector', 'smart_bin', 'water_meter', 'power_meter', 'manual_call_point', 'weather_station'] as const satisfies readonly KindName[];
const categories = Object.keys(binCategoryNames.en) as BinCategory[];
const purposes = Object.keys(meterPurposeNames.en);

const labels = (): Record<string, string> => ({
  id: t('dev.id'), kind: t('dev.kind'), building: t('dev.building'), name: t('dev.name'), location: t('dev.location'),
  category: t('dev.category'), purpose: t('dev.purpose'), rated_current: t('dev.ratedCurrent'), q3: t('dev.q3'),
});

const buildingSelect = (ctx: Ctx, selected?: string) =>
  h('select', { required: true }, [...ctx.buildings.values()].map((b) => h('option', { value: b.id, selected: b.id === selected }, b.name)));

export function devicesAdmin(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  let devices: Device[] = [];
  const secrets = h('div', { class: 'secrets' });
  const editSlot = h('div');
  const list = h('div', { class: 'admin-list' }, h('p', { class: 'muted' }, t('common.loading')));
  const listError = messageBox();
  const search = h('input', { type: 'search', 'data-testid': 'device-search', placeholder: t('dev.searchHelp'), oninput: () => renderList() });
  const kindFilter = h('select', { onchange: () => renderList() },
    h('option', { value: '' }, t('dev.allKinds')), kinds.map((k) => h('option', { value: k }, kindLabel(k))));
  const count = h('span', { class: 'muted small', role: 'status' });

  const showSecret = (id: string, secret: string) => {
    replace(secrets, secretOnce({ title: t('dev.secretOf', { id }), secret, hint: t('dev.mqttHint', { id }) }));
    secrets.scrollIntoView({ block: 'nearest' });
  };

  const reload = async () => {
    try {
      devices = await loadDevices(ctx.api, ctx.site.id);
      if (stopped) return;
      // The other views name devices from this map: keep it as the registry is.
      ctx.devices.clear();
      for (const d of devices) ctx.devices.set(d.id, d);
      listError.clear();
      renderList();
    } catch (err) {
      if (!stopped) listError.error(errorText(err));
    }
  };

  // ---- add ----
  const addBox = messageBox();
  const id = h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'new-device-id' });
  const kind = h('select', { required: true, onchange: () => syncKind() }, kinds.map((k) => h('option', { value: k }, kindLabel(k))));
  const building = buildingSelect(ctx);
  const name = h('input', { type: 'text', maxlength: '200' });
  const location = h('input', { type: 'text', maxlength: '200' });
  const category = h('select', null, categories.map((c) => h('option', { value: c }, categoryLabel(c))));
  const purpose = h('select', null, h('option', { value: '' }, t('dev.none')), purposes.map((p) => h('option', { value: p }, tOr(`purpose.${p}`, p))));
  const rated = h('input', { type: 'text', inputmode: 'decimal' });
  const q3 = h('input', { type: 'text', inputmode: 'decimal' });
  const kindFields = {
    category: field(t('dev.category'), category), purpose: field(t('dev.purpose'), purpose),
    rated_current: field(t('dev.ratedCurrent'), rated), q3: field(t('dev.q3'), q3),
  };
  const syncKind = () => {
    const k = kind.value;
    kindFields.category.hidden = k !== 'smart_bin';
    kindFields.purpose.hidden = k !== 'water_meter' && k !== 'power_meter';
    kindFields.rated_current.hidden = k !== 'power_meter';
    kindFields.q3.hidden = k !== 'water_meter';
  };
  syncKind();
  const addButton = h('button', { type: 'submit', class: 'btn primary' }, t('dev.create'));
  const number = (input: HTMLInputElement, label: string): number | undefined => {
    const v = input.value.trim();
    if (!v) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(t('err.number', { field: label }));
    return n;
  };
  const addForm = h('form', {
    class: 'admin-form', novalidate: true,
    onsubmit: async (e: Event) => {
      e.preventDefault();
      if (!id.value.trim()) { addBox.error(t('err.required', { field: t('dev.id') })); id.focus(); return; }
      let body: Record<string, unknown>;
      try {
        const k = kind.value;
        body = {
          id: id.value.trim(), kind: k, site: ctx.site.id, building: building.value,
          ...(name.value.trim() ? { name: name.value.trim() } : {}), ...(location.value.trim() ? { location: location.value.trim() } : {}),
          ...(k === 'smart_bin' ? { category: category.value } : {}),
          ...((k === 'water_meter' || k === 'power_meter') && purpose.value ? { purpose: purpose.value } : {}),
          ...(k === 'power_meter' && number(rated, t('dev.ratedCurrent')) !== undefined ? { rated_current: number(rated, t('dev.ratedCurrent')) } : {}),
          ...(k === 'water_meter' && number(q3, t('dev.q3')) !== undefined ? { q3: number(q3, t('dev.q3')) } : {}),
        };
      } catch (err) {
        addBox.error((err as Error).message);
        return;
      }
      const created = await busy(addButton, addBox, labels(), () => ctx.api.post<Device & { secret: string }>('/api/devices', body));
      if (!created || stopped) return;
      const { secret, ...device } = created;
      showSecret(device.id, secret);
      ctx.status(t('dev.created', { id: device.id }));
      addForm.reset();
      syncKind();
      await reload();
    },
  },
  h('div', { class: 'form-grid' },
    field(t('dev.id'), id, t('dev.idHelp')), field(t('dev.kind'), kind), field(t('dev.building'), building),
    field(t('dev.name'), name), field(t('dev.location'), location), Object.values(kindFields)),
  addBox.el,
  h('div', { class: 'actions' }, addButton));

  // ---- edit ----
  const edit = (d: Device) => {
    const box = messageBox();
    const n = h('input', { type: 'text', maxlength: '200', value: d.name, required: true });
    const l = h('input', { type: 'text', maxlength: '200', value: d.location ?? '' });
    const b = buildingSelect(ctx, d.building);
    const save = h('button', { type: 'submit', class: 'btn primary' }, t('dev.save'));
    const titleId = uid('edit');
    const form = h('form', {
      class: 'panel admin-form', 'aria-labelledby': titleId, 'data-edit': d.id, novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (!n.value.trim()) { box.error(t('err.required', { field: t('dev.name') })); n.focus(); return; }
        const patch = { name: n.value.trim(), location: l.value.trim(), building: b.value };
        const updated = await busy(save, box, labels(), () => ctx.api.patch<Device>(`/api/devices/${encodeURIComponent(d.id)}`, patch));
        if (!updated || stopped) return;
        replace(editSlot);
        ctx.status(t('dev.saved', { id: d.id }));
        await reload();
      },
    },
    h('h3', { id: titleId }, t('dev.editTitle', { id: d.id })),
    h('div', { class: 'form-grid' }, field(t('dev.name'), n), field(t('dev.location'), l), field(t('dev.building'), b)),
    box.el,
    h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'btn', onclick: () => replace(editSlot) }, t('admin.cancel'))));
    replace(editSlot, form);
    n.focus();
  };

  const rotate = async (d: Device, button: HTMLButtonElement) => {
    if (!(await confirmDialog(t('dev.rotateConfirm', { id: d.id }), t('dev.rotate')))) return;
    const r = await busy(button, listError, labels(), () => ctx.api.post<{ id: string; secret: string }>(`/api/devices/${encodeURIComponent(d.id)}/secret`));
    if (!r || stopped) return;
    showSecret(r.id, r.secret);
    ctx.status(t('dev.rotated', { id: d.id }));
  };

  const remove = async (d: Device, button: HTMLButtonElement) => {
    if (!(await confirmDialog(t('dev.deleteConfirm', { id: d.id }), t('dev.delete')))) return;
    const ok = await busy(button, listError, labels(), async () => { await ctx.api.del(`/api/devices/${encodeURIComponent(d.id)}`); return true; });
    if (!ok || stopped) return;
    ctx.status(t('dev.deleted', { id: d.id }));
    await reload();
  };

  // ---- list ----
  const renderList = () => {
    const q = search.value.trim().toLowerCase();
    const shown = devices.filter((d) => (!kindFilter.value || d.kind === kindFilter.value)
      && (!q || [d.id, d.name, d.location ?? ''].some((s) => s.toLowerCase().includes(q))));
    replace(count, t('dev.count', { shown: shown.length, total: devices.length }));
    if (!shown.length) { replace(list, h('p', { class: 'empty muted' }, t('admin.empty'))); return; }
    const action = (label: string, aria: string, fn: (b: HTMLButtonElement) => void, cls = 'btn') => {
      const b: HTMLButtonElement = h('button', { type: 'button', class: cls, 'aria-label': aria, onclick: () => fn(b) }, label);
      return b;
    };
    replace(list, h('table', { class: 'admin-table' },
      h('thead', null, h('tr', null, [t('dev.id'), t('dev.name'), t('dev.kind'), t('dev.building'), t('dev.location'), t('admin.actions')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, shown.slice(0, 500).map((d) => h('tr', { 'data-device': d.id },
        h('td', null, h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, h('code', null, d.id))),
        h('td', null, d.name), h('td', null, kindLabel(d.kind)), h('td', null, buildingName(ctx, d.building)), h('td', null, d.location ?? ''),
        h('td', { class: 'actions' },
          action(t('dev.edit'), t('dev.editLabel', { id: d.id }), () => edit(d)),
          action(t('dev.rotate'), t('dev.rotateLabel', { id: d.id }), (b) => { void rotate(d, b); }),
          action(t('dev.delete'), t('dev.deleteLabel', { id: d.id }), (b) => { void remove(d, b); }, 'btn danger')))))));
  };

  const searchField = field(t('dev.search'), search);
  const kindField = field(t('dev.kindFilter'), kindFilter);
  replace(root,
    secrets,
    h('details', { class: 'panel admin-add' }, h('summary', null, t('dev.add')), addForm),
    editSlot,
    h('section', { class: 'panel', 'aria-label': t('dev.title') },
      h('div', { class: 'filters' }, searchField, kindField, count),
      listError.el,
      list));
  void reload();
  return () => { stopped = true; };
}
