// Approval of content changes (承認): a pr account's edits wait in its own change until it
// submits it and an approver (係長・課長) or admin approves it or sends it back with a comment.
// Shares app.js's globals (h, t, api, call, state, ...); loaded after it.
'use strict';

// The marker on an object the caller's pending change creates, edits or deletes.
function pendingBadge(o) {
  return o && o.pending ? h('span', { class: 'badge pending', 'data-pending': o.pending }, t('pending_' + o.pending)) : null;
}

// For an account whose edits wait: what happens to them, and where to submit them.
function approvalNotice() {
  if (!state.session?.approval) return '';
  return h('p', { class: 'notice', id: 'approval-notice' }, t('approval_notice'), ' ',
    h('a', { href: '#/changes' }, t('approval_open')));
}

function changeState(c) {
  return h('span', { class: `badge change-${c.state}`, 'data-state': c.state }, t('change_' + c.state));
}

function objectLine(o) {
  return `${t('kind_obj_' + o.kind)}: ${o.title || o.id}`;
}

// What each screen gains, loses or sees edited.
function screensTable(screens) {
  if (!screens.length) return h('p', { class: 'muted' }, t('change_no_screens'));
  const list = (items) => items.length ? h('ul', {}, items.map(o => h('li', {}, objectLine(o)))) : '—';
  return h('table', { class: 'screens-diff' },
    h('thead', {}, h('tr', {}, ['screen', 'added', 'removed', 'changed'].map(k => h('th', { scope: 'col' }, t('diff_' + k))))),
    h('tbody', {}, screens.map(s => h('tr', { 'data-screen': s.player },
      h('td', {}, s.player, h('br'), h('span', { class: 'muted' }, s.ward ? wardName(s.ward) : '')),
      h('td', { class: 'added' }, list(s.added)), h('td', { class: 'removed' }, list(s.removed)), h('td', {}, list(s.changed))))));
}

// Each changed object, before and after, in a few words.
function itemsList(items) {
  return h('ul', { class: 'change-items' }, items.map(i => h('li', { 'data-item': `${i.kind}:${i.id}` },
    h('strong', {}, t('op_' + i.op)), ' ', i.kind === 'fallback' ? `${t('fallback_layout')}: ${i.id}` : objectLine(i),
    h('details', {}, h('summary', {}, t('change_details')),
      h('div', { class: 'before-after' },
        h('div', {}, h('h4', {}, t('before')), h('pre', {}, i.before ? JSON.stringify(i.before, null, 1) : '—')),
        h('div', {}, h('h4', {}, t('after')), h('pre', {}, i.after ? JSON.stringify(i.after, null, 1) : '—')))))));
}

async function changeDetail(id, reload) {
  const [r, players] = await Promise.all([api('GET', `/api/v1/changes/${encodeURIComponent(id)}`), api('GET', '/api/v1/players')]);
  if (!r.ok) return h('p', { class: 'error' }, r.error);
  const c = r.data;
  const mine = c.author === state.session.account;
  const approver = can.approve();
  const comment = h('textarea', { name: 'comment', rows: '2' });
  const note = h('textarea', { name: 'note', rows: '2' });
  const act = (action, body, done) => async () => {
    if (await call('POST', `/api/v1/changes/${encodeURIComponent(c.id)}/${action}`, body(), done)) reload();
  };
  const actions = [];
  if (mine && ['draft', 'returned'].includes(c.state)) {
    actions.push(field(t('change_note'), note),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'change-submit', onclick: act('submit', () => ({ note: note.value.trim() || undefined }), t('change_submitted_done')) }, t('submit_change')),
        h('button', { type: 'button', class: 'secondary', onclick: async () => {
          if (confirm(t('withdraw_q'))) await act('withdraw', () => ({}), t('change_withdrawn_done'))();
        } }, t('withdraw'))));
  } else if (mine && c.state === 'submitted') {
    actions.push(h('button', { type: 'button', class: 'secondary', onclick: async () => {
      if (confirm(t('withdraw_q'))) await act('withdraw', () => ({}), t('change_withdrawn_done'))();
    } }, t('withdraw')));
  }
  if (approver && c.state === 'submitted') {
    actions.push(field(t('change_comment'), comment),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'change-approve', disabled: !!c.problems,
          onclick: act('approve', () => ({ revision: c.revision, comment: comment.value.trim() || undefined }), t('change_approved_done')) }, t('approve')),
        h('button', { type: 'button', class: 'secondary', id: 'change-return', onclick: async () => {
          if (!comment.value.trim()) { toast(t('comment_needed'), true); comment.focus(); return; }
          await act('return', () => ({ revision: c.revision, comment: comment.value.trim() }), t('change_returned_done'))();
        } }, t('send_back'))));
  }
  return h('article', { class: 'panel change', 'data-change': c.id },
    h('h2', {}, `${c.author} `, changeState(c)),
    h('dl', { class: 'facts' },
      h('dt', {}, t('col_created')), h('dd', {}, fmtTime(c.created_at)),
      h('dt', {}, t('updated')), h('dd', {}, fmtTime(c.updated_at)),
      c.note ? [h('dt', {}, t('change_note')), h('dd', { class: 'note' }, c.note)] : null,
      c.comment ? [h('dt', {}, t('change_comment')), h('dd', { class: 'comment' }, c.comment)] : null,
      c.decided_by ? [h('dt', {}, t('decided_by')), h('dd', {}, `${c.decided_by} (${fmtTime(c.decided_at)})`)] : null),
    c.problems ? h('p', { class: 'error', role: 'alert' }, t('change_problems'), ' ', c.problems) : null,
    h('h3', {}, t('change_items', { n: c.items.length })), itemsList(c.items),
    h('h3', {}, t('change_screens', { n: c.screens.length })), screensTable(c.screens),
    players.ok && players.data.length && ['draft', 'submitted', 'returned'].includes(c.state) ? screenPreviewPanel(players.data, c.id) : null,
    actions.length ? h('div', { class: 'change-actions' }, actions) : null);
}

async function pageChanges(main, alive) {
  main.append(h('h1', {}, t('nav_changes')));
  main.append(h('p', { class: 'muted' }, can.approve() ? t('changes_intro_approver') : t('changes_intro_pr')));
  const list = h('div', { id: 'changes' });
  const detail = h('div', { id: 'change-detail' });
  main.append(list, detail);
  async function load(openId) {
    const r = await api('GET', '/api/v1/changes');
    if (!alive()) return;
    if (!r.ok) { list.replaceChildren(h('p', { class: 'error' }, r.error)); return; }
    const open = r.data.filter(c => ['draft', 'submitted', 'returned'].includes(c.state));
    const decided = r.data.filter(c => !open.includes(c));
    const row = (c) => h('tr', { 'data-change': c.id },
      h('td', {}, c.author), h('td', {}, changeState(c)), h('td', {}, String(c.changes)), h('td', { class: 'nowrap' }, fmtTime(c.updated_at)),
      h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => show(c.id) }, t('review'))));
    const table = (rows) => h('table', {}, h('thead', {}, h('tr', {}, ['author', 'state', 'count', 'updated', ''].map(k => h('th', { scope: 'col' }, k ? t('change_col_' + k) : '')))), h('tbody', {}, rows));
    list.replaceChildren(h('div', {},
      h('h2', {}, t('changes_open')), open.length ? table(open.map(row)) : h('p', {}, t('changes_none')),
      decided.length ? h('details', {}, h('summary', {}, t('changes_decided', { n: decided.length })), table(decided.map(row))) : null));
    const first = openId || (open.find(c => c.state === 'submitted' && can.approve()) || open.find(c => c.author === state.session.account))?.id;
    if (first) await show(first);
    else detail.replaceChildren();
  }
  async function show(id) {
    const panel = await changeDetail(id, () => load(id));
    if (alive()) detail.replaceChildren(panel);
  }
  await load();
}
