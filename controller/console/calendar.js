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
