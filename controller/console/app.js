// The signage console: a plain single-page app over /api/v1 (no build step, no framework).
// Pages are functions that render into <main>; the hash names the page (#/screens).
// Everything the server sends is inserted as text, never as HTML.
'use strict';

const LANG_KEY = 'signage.lang';
const state = { session: null, lang: localStorage.getItem(LANG_KEY) || 'ja', timers: [], page: null };

// A ward's name in the console's language (from GET /api/v1/wards); ids stay in values.
function wardName(id) {
  const w = state.wards && state.wards[id];
  return w ? (w.names[state.lang] || w.names.ja) : id;
}

function t(key, vars) {
  const table = window.I18N[state.lang] || window.I18N.ja;
  let text = table[key] ?? window.I18N.ja[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replaceAll('{' + k + '}', String(v));
  return text;
}

// h('button', {class: 'x', onclick: f}, 'text', child...)
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let fieldSeq = 0;
// A labelled form control: returns [wrapper, control].
function field(label, control) {
  control.id = control.id || 'f' + ++fieldSeq;
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

function toast(message, isError) {
  const box = document.getElementById('toast');
  const p = h('p', { class: isError ? 'error' : '' }, message);
  box.append(p);
  setTimeout(() => p.remove(), isError ? 9000 : 4000);
}

// JSON API call with the session cookie and, for changes, the CSRF header.
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session && state.session.csrf) headers['X-CSRF-Token'] = state.session.csrf;
  let response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { status: 0, ok: false, data: null, error: t('network_error') };
  }
  let data = null;
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) data = await response.json().catch(() => null);
  if (response.status === 401 && path !== '/api/v1/login' && state.session) {
    state.session = null;
    render();
  }
  return { status: response.status, ok: response.ok, data,
    error: response.ok ? null : (data && data.error) || `HTTP ${response.status}` };
}

// Calls `api` and shows the error, if any; returns the data or null.
async function call(method, path, body, doneMessage) {
  const r = await api(method, path, body);
  if (!r.ok) { toast(r.error, true); return null; }
  // 202: the change waits for an approver (see changes.js).
  if (r.status === 202) toast(t('proposed'));
  else if (doneMessage) toast(doneMessage);
  return r.data ?? {};
}

function every(ms, fn) {
  const id = setInterval(fn, ms);
  state.timers.push(id);
  return id;
}

function notAvailable(what) {
  return h('div', { class: 'placeholder', 'data-unavailable': what }, t('not_available'));
}

const can = {
  content: () => ['admin', 'pr', 'approver'].includes(state.session?.role),
  approve: () => ['admin', 'approver'].includes(state.session?.role),
  alerts: () => ['admin', 'disaster'].includes(state.session?.role),
  audit: () => ['admin', 'disaster'].includes(state.session?.role),
  admin: () => state.session?.role === 'admin',
};

const PAGES = [
  { id: 'screens', render: pageScreens },
  { id: 'content', render: pageContent },
  { id: 'layouts', render: (main, alive) => pageLayouts(main, alive) },
  { id: 'schedule', render: pageSchedule },
  { id: 'changes', render: (main, alive) => pageChanges(main, alive), visible: can.content },
  { id: 'alerts', render: pageAlerts },
  { id: 'flow', render: pageFlow },
  { id: 'audit', render: pageAudit, visible: can.audit },
  { id: 'users', render: pageUsers, visible: can.admin },
];

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString(state.lang === 'ja' ? 'ja-JP' : 'en-GB', { timeZone: 'Asia/Tokyo' });
}

// Tokyo calendar date (YYYY-MM-DD) of a Date.
function tokyoDate(d) {
  return new Date(d.getTime() + 9 * 3600e3).toISOString().slice(0, 10);
}

function addDays(isoDate, n) {
  const d = new Date(isoDate + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// ---------- frame ----------

function renderFrame() {
  document.documentElement.lang = state.lang;
  document.title = t('title');
  document.getElementById('brand-name').textContent = t('title');
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('menu'));
  nav.replaceChildren();
  const who = document.getElementById('who');
  who.replaceChildren();
  const langButton = h('button', { class: 'secondary', type: 'button', lang: state.lang === 'ja' ? 'en' : 'ja',
    onclick: () => { state.lang = state.lang === 'ja' ? 'en' : 'ja'; localStorage.setItem(LANG_KEY, state.lang); render(); } },
  state.lang === 'ja' ? 'English' : '日本語');
  if (!state.session) { who.append(langButton); return; }
  const current = currentPage();
  nav.append(h('ul', {}, PAGES.filter(p => !p.visible || p.visible()).map(p =>
    h('li', {}, h('a', { href: '#/' + p.id, 'aria-current': p.id === current.id ? 'page' : null }, t('nav_' + p.id),
      p.id === 'alerts' ? h('span', { id: 'staged-count', class: 'staged-count', 'aria-live': 'assertive', hidden: true }) : '')))));
  showStaged();
  who.append(
    h('span', {}, `${state.session.account} (${t('role_' + state.session.role)})`),
    langButton,
    h('button', { class: 'secondary', type: 'button', onclick: logout }, t('logout')));
}

function currentPage() {
  const id = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const page = PAGES.find(p => p.id === id && (!p.visible || p.visible()));
  return page || PAGES[0];
}

// Whatever page is open, staff who can act see (and hear) that a feed staged an alert: a
// count on the 緊急情報 menu item, checked every 5 s.
async function watchStaged() {
  if (!state.session || !can.alerts()) return;
  const r = await api('GET', '/api/v1/alerts');
  if (!r.ok) return;
  const staged = (Array.isArray(r.data) ? r.data : r.data.alerts || []).filter(a => a.staged);
  state.staged = staged.length;
  showStaged();
  stagedCue(staged);
}

function showStaged() {
  const badge = document.getElementById('staged-count');
  if (!badge) return;
  badge.hidden = !state.staged;
  badge.textContent = state.staged ? t('staged_count', { n: state.staged }) : '';
}

async function render() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  if (state.session && can.alerts() && !state.stagedWatch) {
    state.stagedWatch = setInterval(watchStaged, 5000);
    watchStaged();
  }
  renderFrame();
  const main = document.getElementById('main');
  main.replaceChildren();
  if (!state.session) { main.append(pageLogin()); return; }
  if (!state.wards) {
    const w = await api('GET', '/api/v1/wards');
    state.wards = w.ok ? Object.fromEntries(w.data.map(x => [x.id, x])) : {};
  }
  const page = currentPage();
  state.page = page.id;
  main.dataset.page = page.id;
  const token = Symbol(page.id);
  state.renderToken = token;
  try {
    await page.render(main, () => state.renderToken === token);
  } catch (e) {
    main.append(h('p', { class: 'error' }, String(e)));
  }
}

async function logout() {
  await api('POST', '/api/v1/logout');
  clearInterval(state.stagedWatch);
  state.stagedWatch = null;
  state.staged = 0;
  state.session = null;
  location.hash = '';
  render();
}

function pageLogin() {
  const account = h('input', { name: 'account', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'panel login', onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const r = await api('POST', '/api/v1/login', { account: account.value.trim(), password: password.value });
    if (!r.ok) {
      error.textContent = r.status === 401 ? t('login_failed') : r.error;
      return;
    }
    state.session = r.data;
    render();
  } },
  h('h1', {}, t('login_title')),
  field(t('account'), account),
  field(t('password'), password),
  error,
  h('button', { type: 'submit' }, t('login')));
  setTimeout(() => account.focus(), 0);
  return form;
}

// ---------- Screens ----------

async function pageScreens(main, alive) {
  main.append(h('h1', {}, t('nav_screens')));
  const grid = h('div', { class: 'grid', id: 'screens' });
  const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, t('refresh'));
  const fleetBox = h('div');
  main.append(h('p', {}, refresh, ' ', h('span', { class: 'muted' }, t('screens_hint'))), fleetBox, grid);
  const cards = new Map();
  const refreshFleet = fleetPanel(fleetBox, () => { refreshFleet(true); load(false); });

  async function thumbnail(id, box) {
    const r = await fetch(`/api/v1/players/${encodeURIComponent(id)}/screenshot?max_width=480`, { credentials: 'same-origin' });
    if (!alive()) return;
    if (r.ok && (r.headers.get('content-type') || '').startsWith('image/')) {
      const url = URL.createObjectURL(await r.blob());
      const img = h('img', { alt: t('screenshot_of', { id }) });
      img.onload = () => { img.dataset.loadedAt = String(Date.now()); URL.revokeObjectURL(url); };
      img.src = url;
      box.replaceChildren(img);
    } else {
      const err = await r.json().catch(() => ({}));
      box.replaceChildren(h('span', {}, t('no_screenshot') + (err.error ? ': ' + err.error : '')));
    }
  }

  async function load(withShots) {
    const r = await api('GET', '/api/v1/players');
    if (!alive()) return;
    if (!r.ok) { grid.replaceChildren(h('p', { class: 'error' }, r.error)); return; }
    if (r.data.length === 0) grid.replaceChildren(h('p', {}, t('no_players')));
    for (const p of r.data) {
      let card = cards.get(p.id);
      if (!card) {
        card = {
          el: h('article', { class: 'card', 'data-player': p.id }),
          thumb: h('div', { class: 'thumb', 'aria-live': 'off' }, t('loading')),
          info: h('div'),
          title: h('h2'),
          manage: h('div'),
          managed: null,
        };
        card.el.append(card.title, card.thumb, card.info, card.manage);
        cards.set(p.id, card);
        grid.append(card.el);
        withShots = true;
      }
      card.title.replaceChildren(p.name || p.id, ' ', p.name ? h('span', { class: 'muted' }, p.id) : '');
      // Rebuilt only when what it edits changed: the refresh must not wipe what is typed.
      const managed = JSON.stringify([p.name, p.ward, p.groups, p.state]);
      if (card.managed !== managed) {
        card.managed = managed;
        card.manage.replaceChildren(fleetControls(p, () => load(false)));
      }
      const now = await api('GET', `/api/v1/players/${encodeURIComponent(p.id)}/now`);
      if (!alive()) return;
      const health = p.health || {};
      const reported = now.ok ? now.data.reported : null;
      card.info.replaceChildren(
        h('p', {}, h('span', { class: 'badge ' + (p.online ? 'online' : 'offline') }, p.online ? t('online') : t('offline')),
          p.state && p.state !== 'active' ? h('span', { class: 'badge offline' }, t('fleet_state_' + p.state)) : '',
          // Switched off on purpose, not lost: a different badge from offline.
          p.online && reported?.kind === 'off_by_schedule' ? h('span', { class: 'badge power-off' }, t('power_off_badge')) : '',
          ' ', h('span', { class: 'muted' }, `${t('ward')}: ${p.ward ? wardName(p.ward) : '—'} / ${t('group')}: ${(p.groups || []).join(', ') || '—'}`)),
        h('dl', { class: 'facts' },
          h('dt', {}, t('showing')), h('dd', { class: 'showing' }, reported ? `${t('kind_' + reported.kind)}${reported.layout ? ' · ' + reported.layout : ''}` : '—'),
          h('dt', {}, t('why')), h('dd', {}, reported && reported.reason ? reported.reason : '—'),
          h('dt', {}, t('agrees')), h('dd', {}, now.ok ? (now.data.agrees ? t('yes') : t('no')) : '—'),
          h('dt', {}, t('health')), h('dd', {}, p.health
            ? `${health.pipeline_state ?? '?'} · CPU ${fmtNum(health.cpu_percent)}% · ${t('frames')} ${health.frames_rendered ?? '?'} / ${t('dropped')} ${health.frames_dropped ?? 0}`
            : t('no_health')),
          h('dt', {}, t('last_seen')), h('dd', {}, fmtTime(p.last_seen)),
          h('dt', {}, t('build_running')), h('dd', { class: 'build' }, p.version || '—',
            p.build && p.build !== p.version ? ` → ${t('build_offered', { version: p.build })}` : '',
            p.hello && p.hello.failed_build ? h('div', { class: 'muted' }, t('build_failed', p.hello.failed_build)) : '')));
      if (withShots) {
        if (p.online && p.health) thumbnail(p.id, card.thumb);
        else card.thumb.replaceChildren(h('span', {}, p.online ? t('not_rendering') : t('offline')));
      }
    }
  }
  await Promise.all([load(true), refreshFleet()]);
  every(5000, () => { load(true); refreshFleet(); });
}

function fmtNum(x) {
  return typeof x === 'number' ? Math.round(x * 10) / 10 : '?';
}

// ---------- Content ----------

function assetLabel(a) {
  const kind = t('kind_' + a.kind);
  if (a.title) return `${a.title} (${kind})`;
  if (a.kind === 'text_slide') {
    const text = a.texts?.[state.lang] || a.texts?.ja || Object.values(a.texts || {})[0];
    return `${a.id} (${kind}: ${text?.title ?? ''})`;
  }
  if (a.kind === 'ticker') return `${a.id} (${kind})`;
  return `${a.id.slice(0, 12)}… (${kind})`;
}

// Where an asset stands in its display window (掲載期間): showing, upcoming or expired.
function windowState(a, now = Date.now()) {
  if (a.shown_until && Date.parse(a.shown_until) <= now) return 'expired';
  if (a.shown_from && Date.parse(a.shown_from) > now) return 'upcoming';
  return 'showing';
}

// An instant as the value of a datetime-local input (the browser's time zone), and back.
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

function fmtInstant(iso) {
  return new Date(iso).toLocaleString(state.lang === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

// Title, tags, owner and display window of one asset; saved with PATCH.
function assetEditor(a, reload) {
  const title = h('input', { name: 'title', value: a.title || '', maxlength: '200' });
  const tags = h('input', { name: 'tags', value: (a.tags || []).join(', '), placeholder: t('tags_hint') });
  const owner = h('input', { name: 'owner', value: a.owner || '', placeholder: t('owner_hint') });
  const from = h('input', { type: 'datetime-local', name: 'shown_from', value: toLocalInput(a.shown_from) });
  const until = h('input', { type: 'datetime-local', name: 'shown_until', value: toLocalInput(a.shown_until) });
  const save = h('form', { class: 'asset-edit', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = {
      title: title.value.trim(),
      tags: tags.value.split(/[,、]/).map(x => x.trim()).filter(Boolean),
      owner: owner.value.trim() || null,
      shown_from: fromLocalInput(from.value),
      shown_until: fromLocalInput(until.value),
    };
    if (await call('PATCH', `/api/v1/assets/${encodeURIComponent(a.id)}`, body, t('saved'))) reload();
  } }, field(t('asset_title'), title), field(t('tags'), tags), field(t('owner'), owner),
  field(t('shown_from'), from), field(t('shown_until'), until),
  h('div', { class: 'row' }, h('button', { type: 'submit' }, t('save')),
    h('button', { type: 'button', class: 'danger', onclick: () => remove('assets', a.id, assetLabel(a), reload) }, t('delete'))));
  return h('details', {}, h('summary', {}, t('edit')), save, a.file ? fileReplacer(a, reload) : null);
}

// A corrected file for an image or video; the asset keeps its id, title and playlists.
function fileReplacer(a, reload) {
  const file = h('input', { type: 'file', name: 'replacement', accept: 'image/png,image/jpeg,video/mp4,video/webm,video/quicktime' });
  const status = h('p', { role: 'status' });
  return h('form', { class: 'asset-edit', onsubmit: (ev) => {
    ev.preventDefault();
    const f = file.files[0];
    if (!f) { status.textContent = t('choose_file'); return; }
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/api/v1/assets/${encodeURIComponent(a.id)}/file`);
    xhr.setRequestHeader('X-CSRF-Token', state.session.csrf);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) status.textContent = t('uploading', { pct: Math.round(e.loaded * 100 / e.total) }); };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 200 || xhr.status === 202) { toast(xhr.status === 202 ? t('proposed') : t('file_replaced')); reload(); } else status.textContent = `${t('upload_failed')}: ${body.error || xhr.status}`;
    };
    xhr.onerror = () => { status.textContent = t('network_error'); };
    const data = new FormData();
    data.append('file', f);
    xhr.send(data);
  } }, field(t('replace_file'), file), status, h('button', { type: 'submit' }, t('replace')));
}

// Deletes an asset, playlist or layout after a confirmation; the server names the places
// that still use it when it refuses (409).
async function remove(collection, id, label, reload) {
  if (!window.confirm(t('delete_confirm', { name: label }))) return;
  if (await call('DELETE', `/api/v1/${collection}/${encodeURIComponent(id)}`, undefined, t('deleted'))) reload();
}

function assetCard(a, reload) {
  const st = windowState(a);
  const period = (a.shown_from || a.shown_until)
    ? `${a.shown_from ? fmtInstant(a.shown_from) : ''} – ${a.shown_until ? fmtInstant(a.shown_until) : ''}` : null;
  return h('figure', { class: 'card', 'data-asset': a.id, 'data-state': st },
    preview(a),
    h('figcaption', {}, h('strong', {}, assetLabel(a)),
      h('div', { class: 'meta' },
        h('span', { class: `badge window-${st}` }, t('window_' + st)),
        pendingBadge(a),
        (a.tags || []).map(tag => h('span', { class: 'tag' }, tag)),
        a.owner ? h('span', { class: 'muted' }, a.owner) : null,
        period ? h('span', { class: 'muted' }, t('shown_period') + ': ' + period) : null)),
    can.content() ? assetEditor(a, reload) : null);
}

function preview(a) {
  const src = a.file ? `/api/v1/content/${a.file.sha256}` : null;
  if (a.kind === 'image') return h('img', { src, alt: t('preview_of', { id: a.id.slice(0, 12) }), loading: 'lazy' });
  if (a.kind === 'video') return h('video', { src, controls: true, preload: 'metadata', muted: true, 'aria-label': t('preview_of', { id: a.id.slice(0, 12) }) });
  const text = a.texts?.[state.lang] || a.texts?.ja || Object.values(a.texts || {})[0] || {};
  const box = h('div', { class: 'thumb' }, a.kind === 'text_slide' ? `${text.title ?? ''}\n${text.body ?? ''}` : text);
  // The slide's own colours (validated for contrast by the content crate).
  if (typeof a.colours?.background === 'string') box.style.background = a.colours.background;
  if (typeof a.colours?.text === 'string') box.style.color = a.colours.text;
  return box;
}

async function pageContent(main, alive) {
  main.append(h('h1', {}, t('nav_content')), approvalNotice());
  if (can.content()) {
    const file = h('input', { type: 'file', name: 'file', accept: 'image/png,image/jpeg,video/mp4,video/webm,video/quicktime' });
    const bar = h('progress', { max: '100', value: '0', 'aria-label': t('upload_progress') });
    const status = h('p', { role: 'status', class: 'upload-status' });
    const localPreview = h('div', { class: 'previews' });
    file.addEventListener('change', () => {
      localPreview.replaceChildren();
      const f = file.files[0];
      if (!f) return;
      const url = URL.createObjectURL(f);
      localPreview.append(f.type.startsWith('video/') ? h('video', { src: url, controls: true, muted: true }) : h('img', { src: url, alt: f.name }));
    });
    const button = h('button', { type: 'submit' }, t('upload'));
    const form = h('form', { class: 'panel', onsubmit: (ev) => {
      ev.preventDefault();
      const f = file.files[0];
      if (!f) { status.textContent = t('choose_file'); return; }
      // XMLHttpRequest, not fetch: only it reports upload progress.
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/content');
      xhr.setRequestHeader('X-CSRF-Token', state.session.csrf);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) { bar.value = Math.round(e.loaded * 100 / e.total); status.textContent = t('uploading', { pct: bar.value }); }
      };
      xhr.onload = () => {
        button.disabled = false;
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 200 || xhr.status === 201 || xhr.status === 202) {
          bar.value = 100;
          status.textContent = body.duplicate ? t('upload_duplicate') : xhr.status === 202 ? t('upload_proposed') : t('upload_done');
          status.dataset.uploaded = body.id;
          listAssets();
        } else {
          status.textContent = `${t('upload_failed')}: ${body.error || xhr.status}`;
        }
      };
      xhr.onerror = () => { button.disabled = false; status.textContent = t('network_error'); };
      const data = new FormData();
      data.append('file', f);
      bar.value = 0;
      button.disabled = true;
      xhr.send(data);
    } },
    h('h2', {}, t('upload_title')), field(t('file'), file), localPreview, bar, status, button);
    main.append(form);
  }
  if (can.content()) main.append(textAuthoring(() => listAssets()));
  const list = h('div', { class: 'previews', id: 'assets' });
  // Search and filters act on the list already fetched.
  const search = h('input', { type: 'search', name: 'search', placeholder: t('search_hint') });
  const kind = h('select', { name: 'kind' }, h('option', { value: '' }, t('all')),
    ['image', 'video', 'text_slide', 'ticker'].map(k => h('option', { value: k }, t('kind_' + k))));
  const windowFilter = h('select', { name: 'window' }, h('option', { value: '' }, t('all')),
    ['showing', 'upcoming', 'expired'].map(k => h('option', { value: k }, t('window_' + k))));
  let all = [];
  const show = () => {
    const q = search.value.trim().toLowerCase();
    const shown = all.filter(a => (!kind.value || a.kind === kind.value)
      && (!windowFilter.value || windowState(a) === windowFilter.value)
      && (!q || [a.title, a.id, a.owner, ...(a.tags || [])].some(x => (x || '').toLowerCase().includes(q))));
    list.replaceChildren(...shown.map(a => assetCard(a, listAssets)));
    if (shown.length === 0) list.append(h('p', {}, t('none')));
  };
  for (const control of [search, kind, windowFilter]) control.addEventListener('input', show);
  main.append(h('h2', {}, t('assets')),
    h('div', { class: 'row filters' }, field(t('search'), search), field(t('kind'), kind), field(t('shown_period'), windowFilter)),
    list);
  async function listAssets() {
    const r = await api('GET', '/api/v1/assets');
    if (!alive()) return;
    if (!r.ok) { list.replaceChildren(h('p', { class: 'error' }, r.error)); return; }
    all = r.data;
    show();
  }
  await listAssets();
}

// A text slide or ticker in Japanese with optional English, previewed as a player draws it
// (the controller draws the same markup with the players' fitting) and saved as a new asset.
function textAuthoring(reload) {
  const kind = h('select', { name: 'text_kind' }, ['text_slide', 'ticker'].map(k => h('option', { value: k }, t('kind_' + k))));
  const title = h('input', { name: 'text_title', placeholder: t('text_title_hint') });
  const jaTitle = h('input', { name: 'ja_title', lang: 'ja' });
  const jaBody = h('textarea', { name: 'ja_body', lang: 'ja', rows: '3' });
  const enTitle = h('input', { name: 'en_title', lang: 'en' });
  const enBody = h('textarea', { name: 'en_body', lang: 'en', rows: '3' });
  const fg = h('input', { type: 'color', name: 'text_colour', value: '#ffffff' });
  const bg = h('input', { type: 'color', name: 'background_colour', value: '#003366' });
  const size = h('select', { name: 'preview_size' }, ['1920x1080', '1080x1920', '960x540', '1920x120'].map(v => h('option', { value: v }, v)));
  const img = h('img', { class: 'text-preview', alt: t('text_preview') });
  const status = h('p', { role: 'status', class: 'preview-status' });
  const body = () => {
    const slide = kind.value === 'text_slide';
    const texts = {};
    if (slide) {
      texts.ja = { title: jaTitle.value, body: jaBody.value };
      if (enTitle.value.trim() || enBody.value.trim()) texts.en = { title: enTitle.value, body: enBody.value };
    } else {
      texts.ja = jaBody.value || jaTitle.value;
      if ((enBody.value || enTitle.value).trim()) texts.en = enBody.value || enTitle.value;
    }
    return { kind: kind.value, title: title.value.trim(), texts, colours: { text: fg.value, background: bg.value } };
  };
  let pending = null;
  let shown = null;
  const refresh = () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const [w, hgt] = size.value.split('x');
      let response;
      try {
        response = await fetch(`/api/v1/assets/preview?width=${w}&height=${hgt}`, { method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.session.csrf }, body: JSON.stringify(body()) });
      } catch { status.textContent = t('network_error'); return; }
      if (!response.ok) {
        let e = {};
        try { e = await response.json(); } catch { /* not JSON */ }
        status.textContent = e.error || String(response.status);
        status.classList.add('error');
        return;
      }
      status.textContent = t('preview_ready');
      status.classList.remove('error');
      if (shown) URL.revokeObjectURL(shown);
      shown = URL.createObjectURL(await response.blob());
      img.src = shown;
      img.dataset.ready = '1';
    }, 400);
  };
  for (const control of [kind, jaTitle, jaBody, enTitle, enBody, fg, bg, size]) control.addEventListener('input', refresh);
  const form = h('form', { class: 'panel', id: 'text-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const saved = await call('POST', '/api/v1/assets', body(), t('saved'));
    if (saved) { form.dataset.saved = saved.id; reload(); }
  } }, h('h2', {}, t('new_text')),
  h('div', { class: 'row' }, field(t('kind'), kind), field(t('asset_title'), title), field(t('preview_size'), size)),
  h('div', { class: 'row' }, field(t('ja_title'), jaTitle), field(t('ja_body'), jaBody)),
  h('div', { class: 'row' }, field(t('en_title'), enTitle), field(t('en_body'), enBody)),
  h('div', { class: 'row' }, field(t('text_colour'), fg), field(t('background_colour'), bg)),
  h('p', { class: 'muted' }, t('text_hint')), img, status, h('button', { type: 'submit' }, t('save')));
  return form;
}

// ---------- Schedule ----------

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function entryApplies(entry, scope, players) {
  // Does the entry reach any screen in the chosen scope?
  const inScope = players.filter(p => scope.kind === 'all' || (scope.kind === 'ward' && p.ward === scope.id)
    || (scope.kind === 'group' && (p.groups || []).includes(scope.id)) || (scope.kind === 'player' && p.id === scope.id));
  return entry.targets.some(tg => tg.kind === 'all'
    || inScope.some(p => (tg.kind === 'ward' && p.ward === tg.id) || (tg.kind === 'group' && (p.groups || []).includes(tg.id)) || (tg.kind === 'player' && p.id === tg.id)));
}

function entryOnDay(entry, day) {
  if (day < entry.dates.start || (entry.dates.end && day >= entry.dates.end)) return false;
  const wd = WEEKDAYS[(new Date(day + 'T00:00:00Z').getUTCDay() + 6) % 7];
  return (entry.weekdays || WEEKDAYS).includes(wd);
}

function minutes(hhmm) { const [a, b] = hhmm.split(':').map(Number); return a * 60 + b; }

function spans(entry) {
  if (!entry.dayparts || entry.dayparts.length === 0) return [[0, 1440]];
  return entry.dayparts.map(d => { const s = minutes(d.start), e = minutes(d.end); return [s, e <= s ? e + 1440 : e]; });
}

// Entries that overlap in time on the same day at the same priority without audience
// conditions: the selection breaks the tie by specificity and id, which staff rarely intend.
function conflictsOn(entries) {
  const out = new Set();
  for (let i = 0; i < entries.length; i++) for (let j = i + 1; j < entries.length; j++) {
    const a = entries[i], b = entries[j];
    if ((a.priority || 0) !== (b.priority || 0)) continue;
    if (a.occupancy || b.occupancy || a.inflow_per_min || b.inflow_per_min || a.dwell_s || b.dwell_s) continue;
    if (spans(a).some(([s1, e1]) => spans(b).some(([s2, e2]) => s1 < e2 && s2 < e1))) { out.add(a.id); out.add(b.id); }
  }
  return out;
}

async function pageSchedule(main, alive) {
  main.append(h('h1', {}, t('nav_schedule')), approvalNotice());
  const [entries, players, assets, fallback, layouts, calendar] = await Promise.all([api('GET', '/api/v1/schedule/entries'), api('GET', '/api/v1/players'),
    api('GET', '/api/v1/assets'), api('GET', '/api/v1/schedule'), api('GET', '/api/v1/layouts'), api('GET', '/api/v1/calendar')]);
  if (!entries.ok || !players.ok) { main.append(h('p', { class: 'error' }, entries.error || players.error)); return; }
  const wards = [...new Set(players.data.map(p => p.ward).filter(Boolean))].sort();
  const groups = [...new Set(players.data.flatMap(p => p.groups || []))].sort();
  const scopeOptions = [h('option', { value: 'all:' }, t('all_screens')),
    ...wards.map(w => h('option', { value: 'ward:' + w }, `${t('ward')}: ${wardName(w)}`)),
    ...groups.map(g => h('option', { value: 'group:' + g }, `${t('group')}: ${g}`)),
    ...players.data.map(p => h('option', { value: 'player:' + p.id }, `${t('screen')}: ${p.id}`))];

  if (can.content() && assets.ok) {
    const asset = h('select', { name: 'asset' }, assets.data.map(a => h('option', { value: a.id }, assetLabel(a))));
    // A layout made in the layout editor, or (none chosen) a full-screen one made for the asset.
    const layout = h('select', { name: 'layout' }, h('option', { value: '' }, t('layout_from_asset')),
      (layouts.ok ? layouts.data : []).map(l => h('option', { value: l.id }, l.id)));
    const target = h('select', { name: 'target' }, scopeOptions.map(o => o.cloneNode(true)));
    const start = h('input', { type: 'date', name: 'start', value: tokyoDate(new Date()) });
    const end = h('input', { type: 'date', name: 'end' });
    const from = h('input', { type: 'time', name: 'from' });
    const until = h('input', { type: 'time', name: 'until' });
    const priority = h('input', { type: 'number', name: 'priority', value: '10', min: '-1000', max: '1000' });
    const office = calendarFields(calendar.ok ? calendar.data : null);
    main.append(h('form', { class: 'panel', id: 'schedule-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const [kind, id] = target.value.split(':');
      let chosen = layout.value;
      if (!chosen) {
        const a = assets.data.find(x => x.id === asset.value);
        if (!a) { toast(t('choose_asset'), true); return; }
        const key = (a.id.length > 20 ? a.id.slice(0, 12) : a.id);
        const item = a.kind === 'video' ? { asset: a.id } : { asset: a.id, duration_ms: 10000 };
        if (!await call('PUT', `/api/v1/playlists/single-${key}`, { items: [item] })) return;
        if (!await call('PUT', `/api/v1/layouts/full-single-${key}`, fullScreenLayout(`single-${key}`))) return;
        chosen = `full-single-${key}`;
      }
      const entry = { targets: [kind === 'all' ? { kind: 'all' } : { kind, id }], dates: { start: start.value },
        priority: Number(priority.value), layout: chosen };
      if (end.value) entry.dates.end = end.value;
      if (from.value && until.value) entry.dayparts = [{ start: from.value + ':00', end: until.value + ':00' }];
      office.apply(entry);
      if (await call('POST', '/api/v1/schedule/entries', entry, t('scheduled'))) render();
    } }, h('h2', {}, t('new_entry')),
    h('div', { class: 'row' }, field(t('layout'), layout), field(t('asset'), asset), field(t('target'), target), field(t('priority'), priority)),
    h('div', { class: 'row' }, field(t('start_date'), start), field(t('end_date_excl'), end), field(t('from_time'), from), field(t('until_time'), until)),
    h('div', { class: 'row' }, office.controls),
    h('button', { type: 'submit' }, t('schedule_it'))));
  }

  const scope = h('select', { name: 'scope' }, scopeOptions);
  // The scope survives the page being drawn again (after a save), as staff expect.
  if ([...scope.options].some(o => o.value === state.scheduleScope)) scope.value = state.scheduleScope;
  const weekStart = h('input', { type: 'date', name: 'week_of', value: mondayOf(tokyoDate(new Date())) });
  const week = h('div', { class: 'week', id: 'week' });
  const draw = async () => {
    const [kind, id] = scope.value.split(':');
    const relevant = entries.data.filter(e => entryApplies(e, { kind, id }, players.data));
    const today = tokyoDate(new Date());
    // The office calendar of the scope's ward: closed days and their reasons.
    const days = await weekDays(scopeWard(kind, id, players.data), weekStart.value || today);
    if (!alive()) return;
    week.replaceChildren(...[0, 1, 2, 3, 4, 5, 6].map(i => {
      const day = addDays(weekStart.value || today, i);
      const info = days.get(day);
      const on = relevant.filter(e => entryOnDay(e, day) && entryOnKind(e, info)).sort((a, b) => (b.priority || 0) - (a.priority || 0));
      const clash = conflictsOn(on);
      return h('section', { class: 'day' + (day === today ? ' today' : '') + (info && !info.open ? ' closed' : ''), 'aria-label': day, 'data-date': day },
        h('h3', {}, `${t('wd_' + WEEKDAYS[i])} ${day.slice(5)}`, ' ', dayBadge(info)),
        on.map(e => h('div', { class: 'slot' + (clash.has(e.id) ? ' conflict' : ''), 'data-entry': e.id },
          h('strong', {}, e.layout), ' ', pendingBadge(e), h('br'),
          [...(e.dayparts || []).map(d => `${d.start.slice(0, 5)}–${d.end.slice(0, 5)}`), ...(e.named_dayparts || [])].join(', ') || t('all_day'),
          e.days ? ` · ${t('days_' + e.days)}` : '',
          ` · P${e.priority || 0} · ${e.targets.map(tg => tg.id ? `${tg.kind}:${tg.id}` : tg.kind).join(', ')}`,
          clash.has(e.id) ? h('span', {}, ' ', h('span', { class: 'badge conflict' }, '⚠ ' + t('conflict'))) : null,
          can.content() ? h('div', {}, h('button', { type: 'button', class: 'link', onclick: async () => {
            if (confirm(t('delete_entry_q', { id: e.id })) && await call('DELETE', `/api/v1/schedule/entries/${encodeURIComponent(e.id)}`, undefined, t('deleted'))) render();
          } }, t('delete'))) : null)),
        on.length ? null : h('p', { class: 'muted' }, fallback.ok && fallback.data.fallback_layout ? t('fallback_only', { layout: fallback.data.fallback_layout }) : t('nothing')));
    }));
  };
  scope.addEventListener('change', () => { state.scheduleScope = scope.value; draw(); });
  weekStart.addEventListener('change', draw);
  main.append(h('h2', {}, t('week')), h('div', { class: 'row' }, field(t('scope'), scope), field(t('week_of'), weekStart)), week);
  await draw();
  if (players.data.length) main.append(screenPreviewPanel(players.data));
  if (can.approve() && calendar.ok) {
    const allWards = Object.keys(state.wards || {}).sort();
    main.append(calendarPanel(calendar.data, allWards.length ? allWards : wards));
    const groups = [...new Set(players.data.flatMap(p => p.groups || []))].sort();
    main.append(powerPanel(calendar.data, groups));
  }
}

function mondayOf(day) {
  const wd = (new Date(day + 'T00:00:00Z').getUTCDay() + 6) % 7;
  return addDays(day, -wd);
}

// ---------- Alerts ----------

const ENDED = ['cancelled', 'expired', 'all_clear'];

function alertStatus(a) { return a.status || a.message?.status || a.info?.status || 'Actual'; }
function alertPhase(a) { return a.phase || a.state || a.lifecycle?.phase || ''; }
function isDrill(a) { return typeof a.drill === 'boolean' ? a.drill : alertStatus(a) !== 'Actual'; }
function alertCounts(a) { return a.counts || a; }
// The headline in the console's language when the detail carries the CAP infos.
function alertTitle(a) {
  const infos = a.message?.cap?.infos || [];
  const info = infos.find(i => (i.language || '').startsWith(state.lang)) || infos[0];
  if (!info && state.lang === 'ja' && a.headline_ja) return a.headline_ja;
  return (info && (info.headline || info.event)) || a.headline || a.id;
}

async function pageAlerts(main, alive) {
  main.append(h('h1', {}, t('nav_alerts')));
  const list = await api('GET', '/api/v1/alerts');
  if (list.status === 404) { main.append(notAvailable('alerts')); return; }
  if (!list.ok) { main.append(h('p', { class: 'error' }, list.error)); return; }
  if (can.alerts()) {
    const [templates, players] = await Promise.all([api('GET', '/api/v1/alerts/templates'), api('GET', '/api/v1/players')]);
    main.append(alertForm(templates.ok ? templates.data : null, players.ok ? players.data : []));
  }
  const box = h('div', { id: 'alerts' });
  main.append(h('h2', {}, t('alerts_list')), box);
  const drawList = (alerts) => {
    // What feeds staged waits at the top, above everything live.
    const staged = alerts.filter(a => a.staged);
    const open = alerts.filter(a => !a.staged && !ENDED.includes(alertPhase(a)));
    const ended = alerts.filter(a => ENDED.includes(alertPhase(a))).slice(0, 10);
    box.replaceChildren(
      ...(staged.length ? [h('div', { class: 'staged-banner', role: 'alert' }, t('staged_banner')), ...staged.map(alertCard)] : []),
      ...open.map(alertCard), ...(ended.length ? [h('h2', {}, t('alerts_ended')), ...ended.map(alertCard)] : []));
    if (!alerts.length) box.append(h('p', {}, t('none')));
    stagedCue(staged);
  };
  drawList(Array.isArray(list.data) ? list.data : list.data.alerts || []);
  // The live counter: each open alert's detail (counts per state) every 2 s.
  every(2000, async () => {
    const r = await api('GET', '/api/v1/alerts');
    if (!alive() || !r.ok) return;
    const alerts = Array.isArray(r.data) ? r.data : r.data.alerts || [];
    const detailed = await Promise.all(alerts.map(async a => {
      if (ENDED.includes(alertPhase(a))) return a;
      const d = await api('GET', `/api/v1/alerts/${encodeURIComponent(a.id)}`);
      return d.ok ? { ...a, ...d.data } : a;
    }));
    if (alive()) drawList(detailed);
  });
}

// GET /api/v1/alerts/templates: {kinds: [{kind, level?, needs_shelter, default_level}], ...}.
function templateKinds(templates) {
  const kinds = Array.isArray(templates) ? templates : templates?.kinds;
  if (!Array.isArray(kinds) || !kinds.length) return null;
  return kinds.map(k => {
    const value = k.level !== undefined ? { kind: k.kind, level: k.level } : { kind: k.kind };
    return { value: JSON.stringify(value), needsShelter: !!k.needs_shelter,
      label: t('tpl_' + k.kind) + (k.level !== undefined ? ` — ${t('level')} ${k.level}` : '') };
  });
}

function alertForm(templates, players) {
  const kinds = templateKinds(templates);
  if (!kinds) return h('div', { class: 'panel' }, h('h2', {}, t('new_alert')), notAvailable('alert-templates'));
  const template = h('select', { name: 'template' }, kinds.map(k => h('option', { value: k.value, dataset: { shelter: k.needsShelter ? '1' : '' } }, k.label)));
  const area = h('input', { name: 'area', placeholder: t('area_ph') });
  const shelter = h('input', { name: 'shelter', placeholder: t('shelter_ph') });
  const reading = h('input', { name: 'shelter_reading', placeholder: t('shelter_reading_ph') });
  const OTHER = ['en', 'zh-Hans', 'zh-Hant', 'ko', 'vi'];
  const localShelter = Object.fromEntries(OTHER.map(l => [l, h('input', { name: 'shelter_' + l, lang: l })]));
  const shelterLangs = h('details', { class: 'shelter-langs' }, h('summary', {}, t('shelter_languages')),
    h('p', { class: 'muted' }, t('shelter_languages_hint')),
    h('div', { class: 'row' }, field(t('shelter_reading'), reading), ...OTHER.map(l => field(l, localShelter[l]))));
  const wards = [...new Set(players.map(p => p.ward).filter(Boolean))].sort();
  const groups = [...new Set(players.flatMap(p => p.groups || []))].sort();
  const checks = (kind, names) => h('div', { class: 'checks' }, names.map(n => h('label', {}, h('input', { type: 'checkbox', name: 'target', value: `${kind}:${n}` }), ' ', kind === 'ward' ? wardName(n) : n,
    h('span', { class: 'muted' }, ` (${players.filter(p => (kind === 'ward' ? p.ward === n : (p.groups || []).includes(n))).length} ${t('screens_unit')})`))));
  const modeBox = h('fieldset', { class: 'mode-drill' }, h('legend', {}, t('mode')),
    h('div', { class: 'checks' },
      h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'Exercise', checked: true }), ' ', h('span', { class: 'tag tag-drill' }, '訓練 DRILL'), ' ', t('mode_drill')),
      h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'Actual' }), ' ', h('span', { class: 'tag tag-live' }, 'LIVE 本番'), ' ', t('mode_live'))));
  const submit = h('button', { type: 'submit' }, t('issue_drill'));
  const form = h('form', { class: 'panel', id: 'alert-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const mode = form.querySelector('input[name=mode]:checked').value;
    const targets = [...form.querySelectorAll('input[name=target]:checked')].map(c => { const [kind, id] = c.value.split(':'); return { kind, id }; });
    if (!targets.length) { toast(t('choose_target'), true); return; }
    if (mode === 'Actual' && !confirm(t('live_confirm'))) return;
    const kind = JSON.parse(template.value);
    // An empty area names the targeted wards in every language (the controller's table);
    // groups have no such names, so their ids stand in.
    const typed = area.value.trim();
    const onlyGroups = !targets.some(x => x.kind === 'ward');
    const body = { template: kind, placeholders: { area: typed || (onlyGroups ? targets.map(x => x.id).join('・') : '') },
      targets, status: mode };
    if (shelter.value.trim()) {
      body.placeholders.shelter = shelter.value.trim();
      if (reading.value.trim()) body.placeholders.shelter_reading = reading.value.trim();
      const names = {};
      for (const l of OTHER) if (localShelter[l].value.trim()) names[l] = { shelter: localShelter[l].value.trim() };
      if (Object.keys(names).length) body.placeholders.names = names;
    }
    if (await call('POST', '/api/v1/alerts', body, mode === 'Actual' ? t('alert_pending') : t('drill_issued'))) render();
  } }, h('h2', {}, t('new_alert')),
  h('div', { class: 'row' }, field(t('template'), template), field(t('area'), area), field(t('shelter'), shelter)),
  shelterLangs,
  h('fieldset', {}, h('legend', {}, t('targets_wards')), checks('ward', wards)),
  groups.length ? h('fieldset', {}, h('legend', {}, t('targets_groups')), checks('group', groups)) : null,
  modeBox, submit);
  form.addEventListener('change', () => {
    shelter.required = template.selectedOptions[0]?.dataset.shelter === '1';
    const live = form.querySelector('input[name=mode]:checked').value === 'Actual';
    modeBox.className = live ? 'mode-live' : 'mode-drill';
    submit.className = live ? 'danger' : '';
    submit.textContent = live ? t('issue_live') : t('issue_drill');
  });
  return form;
}

function targetLabel(x) {
  if (x.kind === 'all') return t('all_screens');
  return x.kind === 'ward' ? wardName(x.id) : (x.id || x.kind);
}

// A new staged alert sounds three short tones (once per alert, while the page is open).
const cued = new Set();
function stagedCue(staged) {
  const fresh = staged.filter(a => !cued.has(a.id));
  if (!fresh.length) return;
  fresh.forEach(a => cued.add(a.id));
  window.__stagedCues = (window.__stagedCues || 0) + 1;
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    [0, 0.35, 0.7].forEach(at => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, ctx.currentTime + at);
      gain.gain.setValueAtTime(0, ctx.currentTime + at + 0.2);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + 0.25);
    });
  } catch (_) { /* no audio device: the banner still shows */ }
}

// The documents from feeds behind an alert, loaded when opened.
function originals(a) {
  const list = h('ul', {});
  const box = h('details', { class: 'originals' }, h('summary', {}, t('original_docs')), list);
  box.addEventListener('toggle', async () => {
    if (!box.open || list.childNodes.length) return;
    const r = await api('GET', `/api/v1/alerts/${encodeURIComponent(a.id)}/documents`);
    if (!r.ok) { list.append(h('li', { class: 'error' }, r.error)); return; }
    list.append(...r.data.documents.map(d => h('li', {},
      h('a', { href: d.href, target: '_blank', rel: 'noopener' }, `${fmtTime(d.received_at)} · ${d.decision}`),
      ` · ${t('decision_reason')}: ${d.reason}`)));
  });
  return box;
}

function alertCard(a) {
  const drill = isDrill(a);
  const phase = alertPhase(a);
  const c = alertCounts(a);
  const me = state.session.account;
  const creator = a.submitted_by || a.drafted_by;
  const source = a.source || 'staff';
  const card = h('article', { class: 'alert-card ' + (drill ? 'mode-drill' : 'mode-live') + (ENDED.includes(phase) ? ' ended' : '') + (a.staged ? ' staged' : ''),
    'data-alert': a.id, 'data-phase': phase, 'data-status': alertStatus(a), 'data-source': source },
    h('h2', {}, h('span', { class: 'tag ' + (drill ? 'tag-drill' : 'tag-live') }, drill ? '訓練 DRILL' : 'LIVE 本番'),
      h('span', { class: 'tag tag-source' }, t('source_' + source)),
      a.staged ? h('span', { class: 'tag tag-staged' }, t('staged_tag')) : '',
      alertTitle(a)),
    h('p', {}, `${t('phase')}: `, h('strong', { class: 'phase' }, t('phase_' + phase)), ` · ${t('targets')}: ${(a.targets || []).map(targetLabel).join(', ') || '—'}`,
      creator ? ` · ${t('by')}: ${creator}` : '', a.issued_at ? ` · ${fmtTime(a.issued_at)}` : ''));
  if (c.targeted !== undefined) {
    card.append(h('div', { class: 'counter', 'aria-live': 'polite' },
      [['targeted', c.targeted], ['showing', c.showing], ['pending', c.pending], ['offline', c.offline], ['failed', c.failed]]
        .filter(([k, v]) => k !== 'failed' || v > 0).map(([k, v]) =>
        h('div', { 'data-count': k }, t('count_' + k), h('strong', {}, v ?? 0)))));
  }
  if (a.players && a.players.length) {
    card.append(h('details', {}, h('summary', {}, t('per_screen')), h('ul', {}, a.players.map(p => h('li', {}, `${p.id || p.player}: ${t('count_' + (p.state || 'pending'))}`)))));
  }
  if (source !== 'staff') card.append(originals(a));
  const actions = h('p', { class: 'row' });
  if (can.alerts()) {
    if (a.staged && phase === 'draft') {
      actions.append(h('button', { type: 'button', class: 'confirm submit-staged', onclick: async () => {
        if (await call('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/submit`, {}, t('drill_issued'))) render();
      } }, t('issue_staged_drill')));
    }
    if (phase === 'pending_confirmation') {
      if (creator && creator === me) actions.append(h('span', {}, t('await_second')));
      else actions.append(h('button', { type: 'button', class: 'confirm', onclick: async () => {
        if (await call('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/confirm`, {}, t('confirmed'))) render();
      } }, t('confirm_issue')));
    }
    const pu = a.pending_update;
    if (pu && (phase === 'issued' || phase === 'updated')) {
      card.append(h('div', { class: 'panel pending-update', 'data-pending-revision': pu.revision },
        h('p', {}, h('strong', {}, t('update_pending', { revision: pu.revision })),
          ` · ${pu.headline || ''} · ${t('targets')}: ${(pu.targets || []).map(targetLabel).join(', ') || '—'} · ${t('by')}: ${pu.submitted_by}`)));
      if (pu.submitted_by === me) actions.append(h('span', {}, t('await_second')));
      else {
        actions.append(h('button', { type: 'button', class: 'confirm confirm-update', onclick: async () => {
          if (await call('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/confirm`, {}, t('update_confirmed'))) render();
        } }, t('confirm_update')));
        actions.append(h('button', { type: 'button', class: 'secondary reject-update', onclick: async () => {
          if (await call('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/reject`, {}, t('update_rejected'))) render();
        } }, t('reject_update')));
      }
    }
    if (!ENDED.includes(phase)) {
      actions.append(h('button', { type: 'button', class: 'danger cancel' + (a.staged ? ' dismiss' : ''), onclick: async () => {
        if (await call('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/cancel`, {}, t(a.staged ? 'dismissed' : 'cancelled'))) render();
      } }, t(a.staged ? 'dismiss' : 'cancel_alert')));
    }
    if (phase === 'issued' || phase === 'updated') {
      actions.append(h('button', { type: 'button', class: 'secondary', onclick: async () => {
        if (await call('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/all-clear`, {}, t('all_cleared'))) render();
      } }, t('all_clear')));
    }
  }
  if (actions.childNodes.length) card.append(actions);
  return card;
}

// ---------- People flow ----------

const REPORTS = ['footfall_hour_player', 'footfall_day_ward', 'footfall_week_ward', 'peak_occupancy_day_ward', 'dwell_ward', 'impressions', 'ward_comparison'];

async function pageFlow(main, alive) {
  main.append(h('h1', {}, t('nav_flow')), h('p', { class: 'muted' }, t('flow_hint')));
  const players = await api('GET', '/api/v1/players');
  const wards = [...new Set((players.ok ? players.data : []).map(p => p.ward).filter(Boolean))].sort();
  const today = tokyoDate(new Date());
  const from = h('input', { type: 'date', name: 'from', value: addDays(today, -6) });
  const to = h('input', { type: 'date', name: 'to', value: today });
  const ward = h('select', { name: 'ward' }, h('option', { value: '' }, t('all_wards')), wards.map(w => h('option', { value: w }, wardName(w))));
  const grid = h('div', { class: 'grid charts' });
  main.append(h('form', { class: 'panel row', onsubmit: (ev) => { ev.preventDefault(); draw(); } },
    field(t('from_date'), from), field(t('to_date'), to), field(t('ward'), ward), h('div', { class: 'field' }, h('button', { type: 'submit' }, t('show')))), grid);
  async function draw() {
    grid.replaceChildren();
    const query = new URLSearchParams({ from: from.value, to: to.value, lang: state.lang });
    if (ward.value) query.set('ward', ward.value);
    for (const name of REPORTS) {
      const fig = h('figure', { class: 'chart', 'data-report': name }, h('figcaption', {}, h('strong', {}, t('report_' + name))));
      grid.append(fig);
      const r = await fetch(`/api/v1/reports/${name}?format=svg&${query}`, { credentials: 'same-origin' });
      if (!alive()) return;
      if (r.ok && (r.headers.get('content-type') || '').includes('svg')) {
        const url = URL.createObjectURL(await r.blob());
        query.delete('lang');
        fig.append(h('img', { src: url, alt: t('report_' + name) }),
          h('p', {}, h('a', { href: `/api/v1/reports/${name}?format=csv&${query}` }, t('download_csv'))));
        query.set('lang', state.lang);
      } else if (r.status === 404) {
        fig.append(notAvailable('report-' + name));
      } else {
        const err = await r.json().catch(() => ({}));
        fig.append(h('p', { class: 'muted' }, `${t('no_data')}${err.error ? ': ' + err.error : ''}`));
      }
    }
  }
  await draw();
}

// ---------- Audit ----------

async function pageAudit(main) {
  main.append(h('h1', {}, t('nav_audit')));
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary' }, t('older'));
  let before = null;
  async function load() {
    const r = await api('GET', '/api/v1/audit?limit=100' + (before ? `&before=${before}` : ''));
    if (!r.ok) { main.append(h('p', { class: 'error' }, r.error)); return; }
    for (const e of r.data) {
      body.append(h('tr', {}, h('td', { class: 'nowrap' }, fmtTime(e.at)), h('td', {}, e.actor), h('td', { class: 'nowrap' }, e.role ? t('role_' + e.role) : '—'),
        h('td', {}, e.action), h('td', {}, e.target ?? ''), h('td', { class: e.outcome === 'ok' ? '' : 'error' }, e.outcome),
        h('td', {}, e.detail ? JSON.stringify(e.detail) : '')));
    }
    before = r.data.length ? r.data[r.data.length - 1].seq : before;
    more.hidden = r.data.length < 100;
  }
  more.addEventListener('click', load);
  main.append(h('table', {}, h('thead', {}, h('tr', {}, ['when', 'who', 'role', 'action', 'target', 'outcome', 'detail'].map(k => h('th', { scope: 'col' }, t('col_' + k))))), body), more);
  await load();
}

// ---------- Users ----------

const ROLES = ['admin', 'pr', 'approver', 'disaster', 'viewer'];

async function pageUsers(main) {
  main.append(h('h1', {}, t('nav_users')));
  const name = h('input', { name: 'name', autocomplete: 'off', required: true, pattern: '[A-Za-z0-9._@\\-]{2,64}' });
  const role = h('select', { name: 'role' }, ROLES.map(r => h('option', { value: r }, t('role_' + r))));
  const password = h('input', { name: 'new-password', type: 'password', autocomplete: 'new-password', minlength: '10', required: true });
  main.append(h('form', { class: 'panel', id: 'user-form', onsubmit: async (ev) => {
    ev.preventDefault();
    if (await call('POST', '/api/v1/users', { name: name.value.trim(), role: role.value, password: password.value }, t('user_created'))) render();
  } }, h('h2', {}, t('new_user')), h('div', { class: 'row' }, field(t('account'), name), field(t('role'), role), field(t('password_min'), password)),
  h('button', { type: 'submit' }, t('create'))));
  const r = await api('GET', '/api/v1/users');
  if (!r.ok) { main.append(h('p', { class: 'error' }, r.error)); return; }
  main.append(h('table', {}, h('thead', {}, h('tr', {}, ['account', 'role', 'state', 'created', 'actions'].map(k => h('th', { scope: 'col' }, t('col_' + k))))),
    h('tbody', {}, r.data.map(u => {
      const pick = h('select', { 'aria-label': t('role_of', { name: u.name }) }, ROLES.map(x => h('option', { value: x, selected: x === u.role }, t('role_' + x))));
      return h('tr', { 'data-user': u.name }, h('td', {}, u.name),
        h('td', {}, pick, ' ', h('button', { type: 'button', class: 'secondary', onclick: async () => {
          if (await call('PUT', `/api/v1/users/${encodeURIComponent(u.name)}`, { role: pick.value }, t('saved'))) render();
        } }, t('change_role'))),
        h('td', {}, u.disabled ? h('span', { class: 'badge offline' }, t('disabled')) : h('span', { class: 'badge online' }, t('active'))),
        h('td', {}, fmtTime(u.created_at)),
        h('td', {}, h('button', { type: 'button', class: u.disabled ? 'secondary' : 'danger', onclick: async () => {
          if (await call('PUT', `/api/v1/users/${encodeURIComponent(u.name)}`, { disabled: !u.disabled }, t('saved'))) render();
        } }, u.disabled ? t('enable') : t('disable'))));
    }))));
}

// ---------- start ----------

// After navigating, keyboard and screen-reader users start at the new page's content.
window.addEventListener('hashchange', async () => { await render(); document.getElementById('main').focus(); });
// After every deferred script (layouts.js, changes.js) has run.
window.addEventListener('DOMContentLoaded', async () => {
  const r = await api('GET', '/api/v1/session');
  state.session = r.ok ? r.data : null;
  render();
});
