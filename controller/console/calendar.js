// The office calendar on the Schedule page: entries for open days (開庁日) or closed days
// (閉庁日) and in named dayparts (開庁時間, 昼休み); closed days marked in the week with their
// reason (祝日 names, 年末年始, 臨時閉庁); and, for approvers and admins, each ward's own
// closures, openings and opening hours. Shares app.js's globals; loaded after it.
'use strict';

// The form controls an entry gets from the calendar, and how they change the entry.
function calendarFields(calendar) {
  const days = h('select', { name: 'days' }, ['', 'open', 'closed'].map(v => h('option', { value: v }, t('days_' + (v || 'every')))));
  const named = h('select', { name: 'named_daypart' }, h('option', { value: '' }, t('named_daypart_none')),
    (calendar?.dayparts || []).map(d => h('option', { value: d.name }, `${d.name} (${d.start.slice(0, 5)}–${d.end.slice(0, 5)})`)));
  return {
    controls: [field(t('day_kind'), days), field(t('named_daypart'), named)],
    apply(entry) {
      if (days.value) entry.days = days.value;
      if (named.value) { entry.named_dayparts = [named.value]; delete entry.dayparts; }
    },
  };
}

// The ward whose calendar a week view follows: the scope's ward, the screen's ward, or the
// shared rules (holidays, 年末年始) for everything else.
function scopeWard(kind, id, players) {
  if (kind === 'ward') return id;
  if (kind === 'player') return players.find(p => p.id === id)?.ward || '_shared';
  return '_shared';
}

// Date -> {open, because, name} for seven days from `from`.
async function weekDays(ward, from) {
  const r = await api('GET', `/api/v1/calendar/days?ward=${encodeURIComponent(ward)}&from=${from}&days=7`);
  return new Map(r.ok ? r.data.days.map(d => [d.date, d]) : []);
}

function dayBadge(info) {
  if (!info) return null;
  if (info.open) return info.because === 'ward_open' ? h('span', { class: 'badge open-day' }, t('because_ward_open')) : null;
  const why = info.because === 'holiday' ? info.name : t('because_' + info.because);
  return h('span', { class: 'badge closed-day', 'data-closed': info.because }, `${t('closed_day')}: ${why}`);
}

// Whether an entry plays on `day` as far as open and closed days go.
function entryOnKind(entry, info) {
  if (!entry.days || !info) return true;
  return entry.days === 'open' ? info.open : !info.open;
}

function dates(text) {
  return text.split(/[\s,、]+/).map(s => s.trim()).filter(Boolean);
}

// A ward's own closed and open days and opening hours, for approvers and admins.
function calendarPanel(calendar, wards) {
  const ward = h('select', { name: 'calendar_ward' }, wards.map(w => h('option', { value: w }, wardName(w))));
  const closed = h('textarea', { name: 'calendar_closed', rows: '2', placeholder: '2027-01-05' });
  const open = h('textarea', { name: 'calendar_open', rows: '2', placeholder: '2027-01-24' });
  const hoursFrom = h('input', { type: 'time', name: 'hours_from' });
  const hoursUntil = h('input', { type: 'time', name: 'hours_until' });
  const shared = (calendar.dayparts || []).find(d => d.name === '開庁時間');
  const show = () => {
    const rules = (calendar.wards || []).find(r => r.ward === ward.value) || {};
    closed.value = (rules.closed || []).join('\n');
    open.value = (rules.open || []).join('\n');
    const hours = (rules.dayparts || []).find(d => d.name === '開庁時間') || shared;
    hoursFrom.value = hours ? hours.start.slice(0, 5) : '';
    hoursUntil.value = hours ? hours.end.slice(0, 5) : '';
  };
  ward.addEventListener('change', show);
  show();
  const form = h('form', { class: 'panel', id: 'calendar-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const others = (calendar.wards || []).filter(r => r.ward !== ward.value);
    const rules = { ward: ward.value, closed: dates(closed.value), open: dates(open.value), dayparts: [] };
    const hours = { name: '開庁時間', start: hoursFrom.value + ':00', end: hoursUntil.value + ':00' };
    if (hoursFrom.value && hoursUntil.value && !(shared && shared.start === hours.start && shared.end === hours.end)) rules.dayparts.push(hours);
    const body = { ...calendar, wards: [...others, rules] };
    const saved = await call('PUT', '/api/v1/calendar', body, t('calendar_saved'));
    if (saved) render();
  } }, h('h2', {}, t('calendar_title')), h('p', { class: 'muted' }, t('calendar_hint')),
  h('div', { class: 'row' }, field(t('ward'), ward), field(t('calendar_closed'), closed), field(t('calendar_open'), open),
    field(t('calendar_hours_from'), hoursFrom), field(t('calendar_hours_until'), hoursUntil)),
  h('button', { type: 'submit' }, t('save')));
  return form;
}

// When screens are on (電源スケジュール): per group, a shared daypart (開庁時間) on open days
// with minutes either side; a screen with no rule for its groups follows the rule for every
// screen, and with none at all stays on. An alert wakes a screen that is off.
function powerPanel(calendar, groups) {
  const rules = calendar.power || [];
  const describe = (r) => t('power_rule', { daypart: r.daypart || '開庁時間', before: r.before_minutes || 0, after: r.after_minutes || 0 })
    + (r.closed_days ? ' · ' + t('power_closed_days') : '');
  const save = async (power) => {
    if (await call('PUT', '/api/v1/calendar', { ...calendar, power }, t('calendar_saved'))) render();
  };
  const list = h('ul', { class: 'power-rules' }, rules.length ? rules.map((r, i) => h('li', { 'data-group': r.group || '' },
    h('strong', {}, r.group || t('power_every_screen')), ': ', describe(r), ' ',
    h('button', { type: 'button', class: 'link', onclick: () => save(rules.filter((_, j) => j !== i)) }, t('delete'))))
    : h('li', { class: 'muted' }, t('power_none')));
  const group = h('select', { name: 'power_group' }, h('option', { value: '' }, t('power_every_screen')),
    groups.map(g => h('option', { value: g }, g)));
  const daypart = h('select', { name: 'power_daypart' }, (calendar.dayparts || []).map(d => h('option', { value: d.name }, `${d.name} (${d.start.slice(0, 5)}–${d.end.slice(0, 5)})`)));
  const before = h('input', { type: 'number', name: 'power_before', min: '0', max: '240', value: '15' });
  const after = h('input', { type: 'number', name: 'power_after', min: '0', max: '240', value: '15' });
  const closedDays = h('input', { type: 'checkbox', name: 'power_closed_days' });
  return h('form', { class: 'panel', id: 'power-form', onsubmit: (ev) => {
    ev.preventDefault();
    const rule = { daypart: daypart.value, before_minutes: Number(before.value), after_minutes: Number(after.value), closed_days: closedDays.checked };
    if (group.value) rule.group = group.value;
    // One rule per group: a new one replaces the old.
    save([...rules.filter(r => (r.group || '') !== group.value), rule]);
  } }, h('h2', {}, t('power_title')), h('p', { class: 'muted' }, t('power_hint')), list,
  h('div', { class: 'row' }, field(t('group'), group), field(t('named_daypart'), daypart),
    field(t('power_before'), before), field(t('power_after'), after),
    h('label', {}, closedDays, ' ', t('power_closed_days'))),
  h('button', { type: 'submit' }, t('power_add')));
}
