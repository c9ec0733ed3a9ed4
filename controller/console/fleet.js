// Fleet management on the Screens page (admins): new screens waiting for approval, one-time
// enrolment codes, and each screen's name, ward, groups, restart, credentials and retirement.
// A plain script sharing app.js's globals (h, t, api, toast, can, wardName).

function splitGroups(text) {
  return text.split(/[,、\s]+/).map(s => s.trim()).filter(Boolean);
}

// Waiting players and enrolment codes, above the screens. Returns the refresh of the waiting
// list, which leaves it alone while someone types in it (a code is shown once, outside it).
function fleetPanel(box, reload) {
  if (!can.admin()) return async () => {};
  const list = h('div', { class: 'waiting' });
  const count = h('span', { class: 'badge' }, '0');
  const live = h('span', { class: 'muted' });
  let shown = null;
  async function refresh(force) {
    if (!force && list.contains(document.activeElement)) return;
    const [waiting, codes] = await Promise.all([api('GET', '/api/v1/enrolments'), api('GET', '/api/v1/enrolment-codes')]);
    live.textContent = t('fleet_codes_live', { n: codes.ok ? codes.data.length : 0 });
    const pending = waiting.ok ? waiting.data.filter(e => e.state === 'waiting') : [];
    const key = pending.map(e => e.id).join(' ');
    if (key === shown) return;
    shown = key;
    count.textContent = String(pending.length);
    list.replaceChildren(...pending.map(e => waitingCard(e, reload)));
    if (pending.length === 0) list.append(h('p', { class: 'muted' }, t('fleet_none_waiting')));
  }
  box.replaceChildren(h('section', { class: 'fleet' },
    h('h2', {}, t('fleet_waiting_title'), ' ', count), list,
    h('h3', {}, t('fleet_codes_title'), ' ', live), ...fleetCodes(() => refresh(true)),
    h('h3', {}, t('builds_title')), buildsPanel(reload)));
  return refresh;
}

// Player builds: upload one under a new version label (the controller signs it), and offer
// it to every screen, a ward or a group; screens switch and roll back on their own.
function buildsPanel(reload) {
  const list = h('ul', { class: 'builds' });
  const version = h('select', { name: 'offer_version' });
  async function refresh() {
    const r = await api('GET', '/api/v1/player-builds');
    const builds = r.ok ? r.data : [];
    list.replaceChildren(...(builds.length ? builds.map(b => h('li', { 'data-version': b.version },
      h('strong', {}, b.version), ` · ${(b.size_bytes / 1048576).toFixed(1)} MB · SHA-256 ${b.sha256.slice(0, 12)}… · ${fmtTime(b.uploaded_at)} · `,
      t('builds_offered_to', { n: b.offered_to }), b.note ? h('span', { class: 'muted' }, ` · ${b.note}`) : ''))
      : [h('li', { class: 'muted' }, t('builds_none'))]));
    version.replaceChildren(...builds.map(b => h('option', { value: b.version }, b.version)), h('option', { value: '' }, t('builds_withdraw')));
  }
  const file = h('input', { type: 'file', name: 'build_file', required: true });
  const label = h('input', { name: 'build_version', required: true, pattern: '[A-Za-z0-9._+\\-]{1,40}', placeholder: '1.4.0' });
  const note = h('input', { name: 'build_note', maxlength: '200' });
  const upload = h('form', { class: 'panel', id: 'build-upload', onsubmit: async ev => {
    ev.preventDefault();
    const headers = { 'Content-Type': 'application/octet-stream' };
    if (state.session && state.session.csrf) headers['X-CSRF-Token'] = state.session.csrf;
    const query = `version=${encodeURIComponent(label.value.trim())}&note=${encodeURIComponent(note.value.trim())}`;
    const response = await fetch(`/api/v1/player-builds?${query}`, { method: 'POST', headers, credentials: 'same-origin', body: file.files[0] })
      .catch(() => null);
    const data = response ? await response.json().catch(() => null) : null;
    if (!response || !response.ok) { toast((data && data.error) || t('network_error'), true); return; }
    toast(t('builds_uploaded', { version: data.version }));
    upload.reset();
    refresh();
  } }, h('div', { class: 'row' }, field(t('builds_file'), file), field(t('builds_version'), label), field(t('builds_note'), note)),
  h('button', { type: 'submit' }, t('builds_upload')));
  const kind = h('select', { name: 'offer_kind' }, ['all', 'ward', 'group'].map(k => h('option', { value: k }, t('builds_target_' + k))));
  const id = h('input', { name: 'offer_id', 'aria-label': t('builds_target_id') });
  const offer = h('form', { class: 'panel', id: 'build-offer', onsubmit: async ev => {
    ev.preventDefault();
    const target = kind.value === 'all' ? { kind: 'all' } : { kind: kind.value, id: id.value.trim() };
    const done = await call('POST', '/api/v1/player-builds/offer', { version: version.value || null, targets: [target] });
    if (done) { toast(t('builds_offered', { n: done.players.length })); refresh(); reload(); }
  } }, h('div', { class: 'row' }, field(t('builds_version'), version), field(t('builds_target'), kind), field(t('builds_target_id'), id)),
  h('button', { type: 'submit' }, t('builds_offer')));
  refresh();
  return h('div', {}, h('p', { class: 'muted' }, t('builds_hint')), list, upload, offer);
}

function waitingCard(e, reload) {
    const id = h('input', { name: 'player_id', required: true, pattern: '[a-z0-9_\\-]+', 'aria-label': t('fleet_player_id') });
    const ward = h('input', { name: 'ward', value: e.ward || '', 'aria-label': t('ward') });
    const groups = h('input', { name: 'groups', value: (e.groups || []).join(', '), 'aria-label': t('fleet_groups') });
    const name = h('input', { name: 'name', value: e.proposed_name || '', 'aria-label': t('fleet_name') });
    const approve = h('form', { class: 'inline', 'data-request': e.id, onsubmit: async ev => {
      ev.preventDefault();
      const r = await api('POST', `/api/v1/enrolments/${e.id}/approve`, { id: id.value.trim(), ward: ward.value.trim() || null, groups: splitGroups(groups.value), name: name.value.trim() || null });
      toast(r.ok ? t('fleet_approved', { id: id.value }) : r.error, !r.ok);
      if (r.ok) reload();
    } }, h('label', {}, t('fleet_player_id'), ' ', id), ' ', h('label', {}, t('fleet_name'), ' ', name), ' ',
      h('label', {}, t('ward'), ' ', ward), ' ', h('label', {}, t('fleet_groups'), ' ', groups), ' ',
      h('button', { type: 'submit' }, t('fleet_approve')));
    const reject = h('button', { type: 'button', class: 'secondary', onclick: async () => {
      const reason = prompt(t('fleet_reject_reason'));
      if (!reason) return;
      const r = await api('POST', `/api/v1/enrolments/${e.id}/reject`, { reason });
      toast(r.ok ? t('fleet_rejected') : r.error, !r.ok);
      if (r.ok) reload();
    } }, t('fleet_reject'));
    return h('article', { class: 'card', 'data-enrolment': e.id },
      h('h3', {}, e.proposed_name || e.id, ' ', h('span', { class: 'badge pending' }, t('fleet_waiting'))),
      h('p', { class: 'muted' }, `${t('fleet_requested')} ${fmtTime(e.requested_at)} · ${e.address || ''} · ${e.id}`),
      approve, reject);
}

function fleetCodes(refresh) {
  const codeOut = h('p', { 'aria-live': 'polite' });
  const codeWard = h('input', { name: 'code_ward', 'aria-label': t('ward') });
  const codeGroups = h('input', { name: 'code_groups', 'aria-label': t('fleet_groups') });
  const codeUses = h('input', { name: 'code_uses', type: 'number', min: 1, max: 100, value: 1, 'aria-label': t('fleet_uses') });
  const codeForm = h('form', { class: 'inline', onsubmit: async ev => {
    ev.preventDefault();
    const r = await api('POST', '/api/v1/enrolment-codes', { ward: codeWard.value.trim() || null, groups: splitGroups(codeGroups.value), uses: Number(codeUses.value) || 1 });
    if (!r.ok) { toast(r.error, true); return; }
    refresh();
    codeOut.replaceChildren(t('fleet_code_once'), ' ', h('code', { class: 'enrol-code' }, r.data.code), ' ',
      h('span', { class: 'muted' }, `${t('fleet_until')} ${fmtTime(r.data.expires_at)}`),
      h('br'), h('code', {}, `signage-player enrol --controller ${location.origin} --code ${r.data.code} --out /etc/signage/player.toml`));
  } }, h('label', {}, t('ward'), ' ', codeWard), ' ', h('label', {}, t('fleet_groups'), ' ', codeGroups), ' ',
    h('label', {}, t('fleet_uses'), ' ', codeUses), ' ', h('button', { type: 'submit' }, t('fleet_new_code')));
  return [codeForm, codeOut];
}

// One screen's management controls (admins), below its facts.
function fleetControls(p, reload) {
  if (!can.admin() || p.state === 'retired') return h('span');
  const id = encodeURIComponent(p.id);
  const step = (label, path, confirmText, after) => h('button', { type: 'button', class: 'secondary', 'data-step': path,
    onclick: async () => {
      if (confirmText && !confirm(confirmText)) return;
      const r = await api('POST', `/api/v1/players/${id}/${path}`);
      toast(r.ok ? t('fleet_done') : r.error, !r.ok);
      if (r.ok && after) after(r.data);
      if (r.ok) reload();
    } }, label);
  const name = h('input', { name: 'name', value: p.name || '', 'aria-label': t('fleet_name') });
  const ward = h('input', { name: 'ward', value: p.ward || '', 'aria-label': t('ward') });
  const groups = h('input', { name: 'groups', value: (p.groups || []).join(', '), 'aria-label': t('fleet_groups') });
  const edit = h('form', { class: 'inline', onsubmit: async ev => {
    ev.preventDefault();
    const r = await api('PATCH', `/api/v1/players/${id}`, { name: name.value, ward: ward.value.trim() || null, groups: splitGroups(groups.value) });
    toast(r.ok ? t('fleet_saved') : r.error, !r.ok);
    if (r.ok) reload();
  } }, h('label', {}, t('fleet_name'), ' ', name), ' ', h('label', {}, t('ward'), ' ', ward), ' ',
    h('label', {}, t('fleet_groups'), ' ', groups), ' ', h('button', { type: 'submit' }, t('save')));
  const download = data => {
    const blob = new Blob([data.config], { type: 'application/toml' });
    const a = h('a', { href: URL.createObjectURL(blob), download: data.file_name });
    document.body.append(a); a.click(); a.remove();
    if (data.broker) toast(data.broker, false);
  };
  return h('details', { class: 'fleet-controls' }, h('summary', {}, t('fleet_manage')), edit,
    h('p', {}, step(t('fleet_restart'), 'restart', null, null), ' ',
      p.state === 'active' ? step(t('fleet_revoke'), 'revoke', t('fleet_revoke_confirm', { id: p.id }), null) : '', ' ',
      step(t('fleet_reissue'), 'credentials', t('fleet_reissue_confirm', { id: p.id }), download), ' ',
      step(t('fleet_retire'), 'retire', t('fleet_retire_confirm', { id: p.id }), null)));
}
