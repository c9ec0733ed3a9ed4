// Layouts and playlists: a multi-zone layout editor on a snapping grid for landscape and
// portrait screens, thumbnails composed from what each zone plays, and "this screen at this
// date and time". Shares app.js's globals (h, t, api, call, state, ...); loaded after it.
'use strict';

// The editor snaps zones to a GRID x GRID grid of the canvas.
const GRID = 12;
const CANVASES = { landscape: { width: 1920, height: 1080 }, portrait: { width: 1080, height: 1920 } };
// Zone rectangles in grid cells: [column, row, columns, rows].
const PRESETS = {
  full: [[0, 0, 12, 12]],
  main_ticker: [[0, 0, 12, 10], [0, 10, 12, 2]],
  split: [[0, 0, 6, 12], [6, 0, 6, 12]],
  main_side_ticker: [[0, 0, 8, 10], [8, 0, 4, 10], [0, 10, 12, 2]],
  stacked: [[0, 0, 12, 6], [0, 6, 12, 6]],
};

function fullScreenLayout(playlist) {
  return { canvas: { ...CANVASES.landscape }, zones: [{ id: 'main', x: 0, y: 0, width: 1920, height: 1080, playlist }] };
}

// Places `el` over the part of `canvas` that the rectangle covers (CSSOM styles: the CSP
// forbids style attributes, not style properties).
function place(el, canvas, r) {
  el.style.left = (r.x * 100 / canvas.width) + '%';
  el.style.top = (r.y * 100 / canvas.height) + '%';
  el.style.width = (r.width * 100 / canvas.width) + '%';
  el.style.height = (r.height * 100 / canvas.height) + '%';
}

// An asset drawn small: an image or a video's first frame, or a text in its own colours.
function assetThumb(a) {
  if (!a) return h('span', { class: 'muted' }, '—');
  if (a.kind === 'image') return h('img', { src: `/api/v1/content/${a.file.sha256}`, alt: '' });
  if (a.kind === 'video') return h('video', { src: `/api/v1/content/${a.file.sha256}`, preload: 'metadata', muted: true });
  const text = a.texts?.[state.lang] || a.texts?.ja || Object.values(a.texts || {})[0] || {};
  const box = h('span', { class: 'zone-text' + (a.kind === 'ticker' ? ' ticker' : '') }, a.kind === 'text_slide' ? text.title || text.body || '' : text);
  if (typeof a.colours?.background === 'string') box.style.background = a.colours.background;
  if (typeof a.colours?.text === 'string') box.style.color = a.colours.text;
  return box;
}

// A layout's thumbnail composed from its zones' contents: `assetOf(zone)` names the asset a
// zone shows (by default the first item of its playlist).
function layoutThumb(layout, assetOf, label) {
  const box = h('div', { class: 'layout-box composed' + (layout.canvas.height > layout.canvas.width ? ' portrait' : ''),
    role: 'img', 'aria-label': label || (t('zones') + ': ' + layout.zones.map(z => `${z.id} (${z.playlist})`).join(', ')) });
  box.style.aspectRatio = `${layout.canvas.width} / ${layout.canvas.height}`;
  [...layout.zones].sort((a, b) => (a.z || 0) - (b.z || 0)).forEach(z => {
    const zone = h('div', { 'data-zone': z.id }, assetThumb(assetOf(z)));
    place(zone, layout.canvas, z);
    box.append(zone);
  });
  return box;
}

function firstAsset(playlists, assets) {
  const p = new Map(playlists.map(x => [x.id, x]));
  const a = new Map(assets.map(x => [x.id, x]));
  return (zone) => a.get(p.get(zone.playlist)?.items?.[0]?.asset);
}

// ---------- the editor ----------

// One zone while editing: a grid rectangle and what it plays (a playlist, or a single text
// slide or ticker for which a one-item playlist is made on save).
function zoneFromLayout(layout, z) {
  const cw = layout.canvas.width / GRID, ch = layout.canvas.height / GRID;
  const col = Math.round(z.x / cw), row = Math.round(z.y / ch);
  return { id: z.id, col, row, cols: Math.max(1, Math.round(z.width / cw)), rows: Math.max(1, Math.round(z.height / ch)),
    source: 'playlist', ref: z.playlist };
}

function layoutEditor(data, reload, existing) {
  const { playlists, assets } = data;
  const texts = assets.filter(a => a.kind === 'text_slide' || a.kind === 'ticker');
  const model = {
    orientation: existing && existing.canvas.height > existing.canvas.width ? 'portrait' : 'landscape',
    // A new layout starts as one full-screen zone.
    zones: existing ? existing.zones.map(z => zoneFromLayout(existing, z))
      : PRESETS.full.map(([col, row, cols, rows]) => ({ id: 'main', col, row, cols, rows, source: 'playlist', ref: '' })),
  };
  const name = h('input', { name: 'layout_id', value: existing ? existing.id : '', placeholder: 'lobby-2zones', pattern: '[A-Za-z0-9_.\\-]+', required: true, readonly: !!existing });
  const orientation = h('select', { name: 'orientation' }, Object.keys(CANVASES).map(o => h('option', { value: o, selected: o === model.orientation }, t('orientation_' + o))));
  const preset = h('select', { name: 'preset' }, h('option', { value: '' }, t('preset_choose')), Object.keys(PRESETS).map(p => h('option', { value: p }, t('preset_' + p))));
  const stage = h('div', { class: 'layout-box editor', id: 'layout-stage', 'aria-label': t('layout_stage') });
  const zoneForms = h('div', { class: 'zone-forms' });
  const canvas = () => CANVASES[model.orientation];
  const rect = (z) => ({ x: z.col * canvas().width / GRID, y: z.row * canvas().height / GRID,
    width: z.cols * canvas().width / GRID, height: z.rows * canvas().height / GRID });
  const clamp = (z) => {
    z.cols = Math.min(GRID, Math.max(1, z.cols)); z.rows = Math.min(GRID, Math.max(1, z.rows));
    z.col = Math.min(GRID - z.cols, Math.max(0, z.col)); z.row = Math.min(GRID - z.rows, Math.max(0, z.row));
  };
  const assetById = new Map(assets.map(a => [a.id, a]));
  const shownAsset = (z) => z.source === 'playlist' ? firstAsset(playlists, assets)({ playlist: z.ref }) : assetById.get(z.ref);

  // Drag a zone to move it, its corner to resize it; both snap to the grid.
  const drag = (z, el, resize) => (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    const box = stage.getBoundingClientRect();
    const cell = { w: box.width / GRID, h: box.height / GRID };
    const start = { x: ev.clientX, y: ev.clientY, col: z.col, row: z.row, cols: z.cols, rows: z.rows };
    const move = (e) => {
      const dc = Math.round((e.clientX - start.x) / cell.w), dr = Math.round((e.clientY - start.y) / cell.h);
      if (resize) { z.cols = start.cols + dc; z.rows = start.rows + dr; } else { z.col = start.col + dc; z.row = start.row + dr; }
      clamp(z);
      place(el, canvas(), rect(z));
    };
    const up = () => { window.removeEventListener('pointermove', move); window.removeEventListener('pointerup', up); draw(); };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  function draw() {
    stage.classList.toggle('portrait', model.orientation === 'portrait');
    stage.style.aspectRatio = `${canvas().width} / ${canvas().height}`;
    stage.replaceChildren(...model.zones.map((z, i) => {
      const handle = h('span', { class: 'resize', 'aria-hidden': 'true' });
      const el = h('div', { class: 'zone', 'data-zone': z.id, tabindex: '-1' }, assetThumb(shownAsset(z)), h('span', { class: 'zone-name' }, z.id), handle);
      el.style.zIndex = String(i + 1);
      place(el, canvas(), rect(z));
      el.addEventListener('pointerdown', drag(z, el, false));
      handle.addEventListener('pointerdown', drag(z, el, true));
      return el;
    }));
    zoneForms.replaceChildren(...model.zones.map((z, i) => zoneForm(z, i)));
  }

  function zoneForm(z, i) {
    const num = (key, max) => {
      const input = h('input', { type: 'number', name: `${z.id}_${key}`, min: key === 'cols' || key === 'rows' ? '1' : '0', max: String(max), value: String(z[key]) });
      input.addEventListener('change', () => { z[key] = Number(input.value); clamp(z); draw(); });
      return field(t('zone_' + key), input);
    };
    const source = h('select', { name: `${z.id}_source` }, ['playlist', 'text'].map(s => h('option', { value: s, selected: z.source === s }, t('zone_source_' + s))));
    const options = () => z.source === 'playlist'
      ? playlists.map(p => h('option', { value: p.id, selected: p.id === z.ref }, p.id))
      : texts.map(a => h('option', { value: a.id, selected: a.id === z.ref }, assetLabel(a)));
    const ref = h('select', { name: `${z.id}_content` }, h('option', { value: '' }, '—'), options());
    source.addEventListener('change', () => { z.source = source.value; z.ref = ''; draw(); });
    ref.addEventListener('change', () => { z.ref = ref.value; draw(); });
    return h('fieldset', { class: 'zone-form', 'data-zone': z.id }, h('legend', {}, `${t('zone')} ${z.id}`),
      h('div', { class: 'row' }, num('col', GRID - 1), num('row', GRID - 1), num('cols', GRID), num('rows', GRID),
        field(t('zone_source'), source), field(t('zone_content'), ref),
        h('button', { type: 'button', class: 'secondary', onclick: () => { model.zones.splice(i, 1); draw(); } }, t('remove'))));
  }

  const nextId = () => { for (let n = 1; ; n++) { const id = n === 1 ? 'main' : `zone${n}`; if (!model.zones.some(z => z.id === id)) return id; } };
  preset.addEventListener('change', () => {
    if (!preset.value) return;
    const old = model.zones;
    model.zones = PRESETS[preset.value].map(([col, row, cols, rows], i) => ({ id: i === 0 ? 'main' : `zone${i + 1}`, col, row, cols, rows,
      source: old[i]?.source || 'playlist', ref: old[i]?.ref || '' }));
    draw();
  });
  orientation.addEventListener('change', () => { model.orientation = orientation.value; draw(); });
  const add = h('button', { type: 'button', class: 'secondary', id: 'zone-add', onclick: () => {
    model.zones.push({ id: nextId(), col: 0, row: 0, cols: 6, rows: 6, source: 'playlist', ref: '' }); draw();
  } }, t('zone_add'));

  const form = h('form', { class: 'panel', id: 'layout-editor', onsubmit: async (ev) => {
    ev.preventDefault();
    const id = name.value.trim();
    if (!id) { toast(t('layout_name_needed'), true); return; }
    if (!model.zones.length) { toast(t('layout_zones_needed'), true); return; }
    const missing = model.zones.find(z => !z.ref);
    if (missing) { toast(t('zone_content_needed', { zone: missing.id }), true); return; }
    const zones = [];
    for (const [i, z] of model.zones.entries()) {
      let playlist = z.ref;
      if (z.source === 'text') {
        // A text or ticker zone plays a one-item playlist of its own.
        playlist = `zone-${id}-${z.id}`;
        const seconds = assetById.get(z.ref)?.kind === 'ticker' ? 60 : 15;
        if (!await call('PUT', `/api/v1/playlists/${encodeURIComponent(playlist)}`, { items: [{ asset: z.ref, duration_ms: seconds * 1000 }] })) return;
      }
      zones.push({ id: z.id, ...rect(z), z: i, playlist });
    }
    if (await call('PUT', `/api/v1/layouts/${encodeURIComponent(id)}`, { canvas: { ...canvas() }, zones }, t('saved'))) {
      form.dataset.saved = id;
      reload();
    }
  } },
  h('h2', {}, existing ? t('layout_edit', { id: existing.id }) : t('layout_new')),
  h('div', { class: 'row' }, field(t('name'), name), field(t('orientation'), orientation), field(t('preset'), preset), add),
  h('p', { class: 'muted' }, t('layout_editor_hint')),
  h('div', { class: 'editor-wrap' }, stage), zoneForms,
  h('div', { class: 'row' }, h('button', { type: 'submit' }, t('save')),
    existing ? h('button', { type: 'button', class: 'secondary', onclick: () => reload() }, t('cancel')) : null));
  draw();
  return form;
}

// ---------- this screen at this date and time ----------

// What a screen shows at a chosen instant (optionally with a pending change as if approved):
// the rule that chose it and the screen composed from the zones' items at that instant.
function screenPreviewPanel(players, change) {
  const player = h('select', { name: 'preview_player' }, players.map(p => h('option', { value: p.id }, `${p.id} (${wardName(p.ward)})`)));
  const at = h('input', { type: 'datetime-local', name: 'preview_at', value: toLocalInput(new Date().toISOString()) });
  const out = h('div', { class: 'screen-preview', 'aria-live': 'polite' });
  const form = h('form', { class: 'panel', id: change ? 'change-preview' : 'screen-preview', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!player.value) return;
    const query = new URLSearchParams({ at: fromLocalInput(at.value) || new Date().toISOString() });
    if (change) query.set('change', change);
    const r = await api('GET', `/api/v1/players/${encodeURIComponent(player.value)}/preview?${query}`);
    if (!r.ok) { out.replaceChildren(h('p', { class: 'error' }, r.error)); return; }
    const screen = r.data.selection.screen;
    const items = new Map((screen?.zones || []).map(z => [z.zone, z.asset]));
    out.replaceChildren(...[
      h('p', { class: 'reason' }, h('strong', {}, screen ? screen.layout : t('alert')), ' — ', r.data.reason),
      r.data.layout ? layoutThumb(r.data.layout, (z) => r.data.assets[items.get(z.id)],
        t('screen_at', { screen: player.value, at: fmtInstant(r.data.at) })) : null,
      screen ? h('ul', { class: 'muted' }, screen.zones.map(z => h('li', {}, `${z.zone}: ${r.data.assets[z.asset]?.title || z.asset}`))) : null,
    ].filter(Boolean));
    out.dataset.layout = screen ? screen.layout : '';
  } }, h('h2', {}, change ? t('preview_change') : t('preview_screen')),
  h('div', { class: 'row' }, field(t('screen'), player), field(t('preview_at'), at), h('button', { type: 'submit' }, t('show'))), out);
  return form;
}

// ---------- the page ----------

async function pageLayouts(main) {
  main.append(h('h1', {}, t('nav_layouts')), approvalNotice());
  const [layouts, playlists, assets, players] = await Promise.all([api('GET', '/api/v1/layouts'), api('GET', '/api/v1/playlists'),
    api('GET', '/api/v1/assets'), api('GET', '/api/v1/players')]);
  const data = { playlists: playlists.ok ? playlists.data : [], assets: assets.ok ? assets.data : [] };
  const editorSlot = h('div', { id: 'layout-editor-slot' });
  if (can.content() && assets.ok && playlists.ok) {
    editorSlot.append(layoutEditor(data, render));
    main.append(playlistForm(assets.data), editorSlot);
  }
  if (players.ok && players.data.length) main.append(screenPreviewPanel(players.data));
  main.append(h('h2', {}, t('layouts')));
  if (!layouts.ok) main.append(h('p', { class: 'error' }, layouts.error));
  else {
    const shows = firstAsset(data.playlists, data.assets);
    main.append(h('div', { class: 'grid', id: 'layouts' }, layouts.data.map(l => h('article', { class: 'card', 'data-layout': l.id },
      h('h2', {}, l.id, ' ', pendingBadge(l)),
      h('p', { class: 'muted' }, `${l.canvas.width}×${l.canvas.height} · ${t('orientation_' + (l.canvas.height > l.canvas.width ? 'portrait' : 'landscape'))} · ${t('zone_count', { n: l.zones.length })}`),
      layoutThumb(l, shows),
      can.content() ? h('div', { class: 'row' },
        h('button', { type: 'button', class: 'secondary', onclick: () => {
          editorSlot.replaceChildren(layoutEditor(data, render, l));
          editorSlot.scrollIntoView();
        } }, t('edit')),
        h('button', { type: 'button', class: 'danger', onclick: () => remove('layouts', l.id, l.id, render) }, t('delete'))) : null))));
  }
  main.append(h('h2', {}, t('playlists')));
  if (!playlists.ok) main.append(h('p', { class: 'error' }, playlists.error));
  else {
    const byId = new Map(data.assets.map(a => [a.id, a]));
    const name = (id) => byId.has(id) ? assetLabel(byId.get(id)) : (id.length > 20 ? id.slice(0, 12) + '…' : id);
    main.append(h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('name')), h('th', { scope: 'col' }, t('items')),
      can.content() ? h('th', { scope: 'col' }, '') : null)),
      h('tbody', {}, playlists.data.map(p => h('tr', { 'data-playlist': p.id }, h('td', {}, p.id, ' ', pendingBadge(p)),
        h('td', {}, p.items.map(i => `${name(i.asset)}${i.duration_ms ? ` (${i.duration_ms / 1000} s)` : ''}`).join(' → ')),
        can.content() ? h('td', {}, h('button', { type: 'button', class: 'danger', onclick: () => remove('playlists', p.id, p.id, render) }, t('delete'))) : null)))));
  }
}

// A playlist of chosen assets (stills for a number of seconds each, videos to their end).
function playlistForm(assets) {
  const pick = h('select', { multiple: true, size: '5', name: 'playlist_assets' }, assets.map(a => h('option', { value: a.id }, assetLabel(a))));
  const seconds = h('input', { type: 'number', min: '1', max: '86400', value: '10' });
  const name = h('input', { name: 'playlist_id', placeholder: 'lobby-loop', pattern: '[A-Za-z0-9_.\\-]+' });
  const fullScreen = h('input', { type: 'checkbox', name: 'full_screen', checked: true });
  return h('form', { class: 'panel', id: 'playlist-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const chosen = [...pick.selectedOptions].map(o => o.value);
    if (!chosen.length) { toast(t('choose_asset'), true); return; }
    const byId = new Map(assets.map(a => [a.id, a]));
    const items = chosen.map(id => byId.get(id).kind === 'video' ? { asset: id } : { asset: id, duration_ms: Number(seconds.value) * 1000 });
    const id = name.value.trim() || 'playlist-' + Date.now().toString(36);
    if (await call('PUT', `/api/v1/playlists/${encodeURIComponent(id)}`, { items }, t('saved'))) {
      if (fullScreen.checked) await call('PUT', `/api/v1/layouts/${encodeURIComponent('full-' + id)}`, fullScreenLayout(id));
      render();
    }
  } }, h('h2', {}, t('new_playlist')),
  h('div', { class: 'row' }, field(t('name'), name), field(t('assets'), pick), field(t('seconds_per_still'), seconds),
    h('label', { class: 'check' }, fullScreen, ' ', t('also_full_screen'))),
  h('p', { class: 'muted' }, t('new_playlist_hint')),
  h('button', { type: 'submit' }, t('save')));
}
