// 待たない窓口: the public page. Reads /api/v1/public/wait every 30 s and shows, per ward
// office and counter area, how crowded it is now, today's usual hours and the best time to
// come; during a live alert for a ward, the alert instead. Text is inserted as text only.
'use strict';

const LANGS = ['ja', 'ja-easy', 'en', 'zh-Hans', 'zh-Hant', 'ko', 'vi'];
const T = {
  title: ['待たない窓口', 'まどぐの こみぐあい', 'Counter waiting', '窗口拥挤情况', '窗口擁擠情況', '창구 혼잡 정보', 'Mức độ đông tại quầy'],
  lang: ['言語', 'ことば', 'Language', '语言', '語言', '언어', 'Ngôn ngữ'],
  now: ['いまの混雑', 'いまの こみぐあい', 'Now', '现在', '現在', '지금', 'Hiện tại'],
  quiet: ['空いています', 'すいています', 'Quiet', '空闲', '空閒', '한산함', 'Vắng'],
  moderate: ['やや混雑', 'すこし こんでいます', 'Somewhat busy', '较拥挤', '較擁擠', '약간 혼잡', 'Hơi đông'],
  busy: ['混雑しています', 'こんでいます', 'Busy', '拥挤', '擁擠', '혼잡', 'Đông'],
  unknown: ['情報がありません', 'わかりません', 'No data now', '暂无信息', '暫無資訊', '정보 없음', 'Chưa có dữ liệu'],
  people: ['約{n}人', 'やく {n}にん', 'about {n} people', '约{n}人', '約{n}人', '약 {n}명', 'khoảng {n} người'],
  usual: ['今日のいつもの混雑', 'きょうの いつもの こみぐあい', 'Usually today', '今天的通常情况', '今天的通常情況', '오늘의 평소 혼잡', 'Thường lệ hôm nay'],
  busy_hours: ['混みやすい時間', 'こみやすい じかん', 'Busiest', '繁忙时段', '繁忙時段', '혼잡 시간', 'Giờ đông nhất'],
  best: ['おすすめの時間', 'おすすめの じかん', 'Best time to come', '建议前往时间', '建議前往時間', '추천 방문 시간', 'Giờ nên đến'],
  closed: ['本日は閉庁日です', 'きょうは おやすみです', 'Closed today', '今日不办公', '今日不辦公', '오늘은 휴무입니다', 'Hôm nay nghỉ'],
  hours: ['開庁時間', 'あいている じかん', 'Open', '办公时间', '辦公時間', '운영 시간', 'Giờ mở cửa'],
  updated: ['更新', 'こうしん', 'Updated', '更新', '更新', '갱신', 'Cập nhật'],
  none: ['公開中の窓口はありません', 'いまは じょうほうが ありません', 'No counter is published yet', '暂无公开的窗口', '暫無公開的窗口', '공개된 창구가 없습니다', 'Chưa có quầy nào được công bố'],
  alert: ['緊急情報', 'きんきゅう じょうほう', 'Emergency', '紧急信息', '緊急資訊', '긴급 정보', 'Khẩn cấp'],
  hour: ['{h}時', '{h}じ', '{h}:00', '{h}点', '{h}點', '{h}시', '{h} giờ'],
  privacy: [
    'カメラで数えた人数の合計だけを使います。映像は保存も送信もしません。少ない人数は表示しません。',
    'カメラで かぞえた にんずう だけを つかいます。えいぞうは のこしません。',
    'Only head counts from cameras are used; no image is stored or sent. Small numbers are never shown.',
    '仅使用摄像头统计的人数，不保存也不发送影像。人数较少时不显示人数。',
    '僅使用攝影機統計的人數，不保存也不傳送影像。人數較少時不顯示人數。',
    '카메라로 센 인원수만 사용하며 영상은 저장하거나 전송하지 않습니다. 적은 인원수는 표시하지 않습니다.',
    'Chỉ dùng số người do camera đếm; không lưu hay gửi hình ảnh. Không hiển thị khi ít người.',
  ],
  license: ['オープンデータ（CC BY 4.0）', 'オープンデータ（CC BY 4.0）', 'Open data (CC BY 4.0)', '开放数据（CC BY 4.0）', '開放資料（CC BY 4.0）', '오픈 데이터 (CC BY 4.0)', 'Dữ liệu mở (CC BY 4.0)'],
};

let lang = localStorage.getItem('wait.lang') || (LANGS.find(l => navigator.language && navigator.language.startsWith(l)) || 'ja');
let data = null;

function t(key, vars) {
  let text = T[key][Math.max(0, LANGS.indexOf(lang))];
  for (const [k, v] of Object.entries(vars || {})) text = text.replace('{' + k + '}', String(v));
  return text;
}

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function tokyoHour() {
  return new Date(Date.now() + 9 * 3600e3).getUTCHours();
}

function area(a) {
  const now = tokyoHour();
  return h('div', { class: 'area', 'data-area': a.id, 'data-band': a.band },
    h('h3', {}, `${a.player} · ${a.zone}`),
    h('p', {}, `${t('now')}: `, h('span', { class: 'band ' + a.band }, t(a.band)),
      a.people !== null && a.people !== undefined ? ` ${t('people', { n: a.people })}` : ''),
    // Without history there is nothing usual to tell.
    a.hours.some(x => x.band !== 'unknown') ? [
      h('p', {}, t('usual')),
      h('div', { class: 'hourbar', role: 'list' }, a.hours.map(x => h('span', { role: 'listitem', class: x.band + (x.hour === now ? ' now' : ''),
        'aria-label': `${t('hour', { h: x.hour })} ${t(x.band)}` }, String(x.hour)))),
      a.busy_hours.length ? h('p', {}, `${t('busy_hours')}: ${a.busy_hours.map(x => t('hour', { h: x })).join(', ')}`) : null,
      a.best_hour !== null && a.best_hour !== undefined ? h('p', { class: 'best' }, h('strong', {}, `${t('best')}: ${t('hour', { h: a.best_hour })}`)) : null,
    ] : null,
    a.updated_at ? h('p', { class: 'hours' }, `${t('updated')}: ${new Date(a.updated_at).toLocaleTimeString(lang, { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit' })}`) : null);
}

function ward(w) {
  const name = w.names[lang] || w.names.ja;
  if (w.alert) {
    const headline = w.alert.headlines[lang] || w.alert.headlines.ja || Object.values(w.alert.headlines)[0] || '';
    return h('section', { class: 'ward', 'data-ward': w.ward }, h('h2', {}, name),
      h('div', { class: 'alert', role: 'alert', 'data-alert': w.alert.id }, `${t('alert')}: ${headline}`));
  }
  return h('section', { class: 'ward', 'data-ward': w.ward }, h('h2', {}, name),
    h('p', { class: 'hours' }, w.open_today ? `${t('hours')}: ${w.hours || ''}` : t('closed')),
    w.areas.map(area));
}

function draw() {
  document.documentElement.lang = lang;
  document.title = t('title');
  document.getElementById('title').textContent = t('title');
  document.getElementById('lang-label').textContent = t('lang');
  document.getElementById('privacy').textContent = t('privacy');
  document.getElementById('license').textContent = t('license');
  document.getElementById('lang').value = lang;
  const main = document.getElementById('main');
  if (!data) return;
  main.replaceChildren(...(data.wards.length ? data.wards.map(ward) : [h('p', {}, t('none'))]));
  main.dataset.generated = data.generated_at;
}

async function load() {
  try {
    const r = await fetch('/api/v1/public/wait');
    if (r.ok) { data = await r.json(); draw(); }
  } catch { /* offline: keep what is shown */ }
}

document.getElementById('lang').addEventListener('change', (e) => {
  lang = e.target.value;
  localStorage.setItem('wait.lang', lang);
  draw();
});
draw();
load();
setInterval(load, 30000);
