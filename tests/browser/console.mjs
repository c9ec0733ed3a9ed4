// Drives the console in Debian's headless Chromium (playwright-core, no browser download).
// Started by tests/tests/console_browser.rs, which runs the controller and players and passes
// everything through the environment. Exits non-zero, naming the step, on the first failure.
//
// CONSOLE_URL ADMIN_USER ADMIN_PASSWORD DISASTER_USER DISASTER_PASSWORD PR_USER PR_PASSWORD
// APPROVER_USER APPROVER_PASSWORD PLAYER WARD WARD_SCREENS PUBLIC_WARD IMAGE GREEN_IMAGE SHOTS_DIR
// [CHROMIUM] [FAILURE_SHOT]
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
for (const key of ['CONSOLE_URL', 'ADMIN_USER', 'ADMIN_PASSWORD', 'DISASTER_USER', 'DISASTER_PASSWORD', 'PR_USER', 'PR_PASSWORD',
  'APPROVER_USER', 'APPROVER_PASSWORD', 'PLAYER', 'WARD', 'WARD_SCREENS', 'PUBLIC_WARD', 'IMAGE', 'GREEN_IMAGE', 'SHOTS_DIR']) {
  if (!env[key]) { console.error(`missing environment variable ${key}`); process.exit(2); }
}
const url = env.CONSOLE_URL.replace(/\/$/, '') + '/';
mkdirSync(env.SHOTS_DIR, { recursive: true });
const shots = [];

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
const page = await context.newPage();
page.setDefaultTimeout(20_000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error' && !/status of (401|404|409|502|504)/.test(m.text())) console.error('[browser console]', m.text()); });

let current = '';
async function step(name, fn) {
  current = name;
  console.log(`==> ${name}`);
  await fn();
  if (pageErrors.length) throw new Error(`JavaScript errors in the page: ${pageErrors.join('; ')}`);
}

async function shot(name) {
  const path = join(env.SHOTS_DIR, `${name}.png`);
  await page.evaluate(() => document.getElementById('toast')?.replaceChildren());
  await page.screenshot({ path, fullPage: true });
  shots.push(path);
}

async function go(hash) {
  await page.goto(url + '#/' + hash);
  await page.waitForSelector(`main[data-page="${hash}"]`);
}

async function login(user, password) {
  await page.goto(url);
  await page.fill('input[name=account]', user);
  await page.fill('input[name=password]', password);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('nav a[href="#/screens"]');
}

async function logout() {
  await page.click('#who button:last-child');
  await page.waitForSelector('input[name=account]');
}

// The centre pixel of a player's thumbnail in the Screens page, or null.
function thumbColour(player) {
  return page.evaluate((p) => {
    const img = document.querySelector(`article[data-player="${p}"] .thumb img`);
    if (!img || !img.complete || !img.naturalWidth) return null;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
    return [d[0], d[1], d[2]];
  }, player);
}

async function poll(what, timeoutMs, fn) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last && last.ok) return last;
    await page.waitForTimeout(500);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; last: ${JSON.stringify(last)}`);
}

const isRed = (c) => c && c[0] > 170 && c[1] < 90 && c[2] < 90;
const isGreen = (c) => c && c[1] > 120 && c[0] < 90 && c[2] < 110;
let uploaded;

try {
  await step('the login page is Japanese by default and refuses a wrong password', async () => {
    await page.goto(url);
    if (await page.getAttribute('html', 'lang') !== 'ja') throw new Error('the page is not in Japanese');
    await shot('login');
    await page.fill('input[name=account]', env.ADMIN_USER);
    await page.fill('input[name=password]', 'wrong password!');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('form.login p.error:not(:empty)');
  });

  await step('log in as the administrator', () => login(env.ADMIN_USER, env.ADMIN_PASSWORD));

  await step('the Screens page shows the player online with a live thumbnail', async () => {
    await go('screens');
    await page.waitForSelector(`article[data-player="${env.PLAYER}"] .badge.online`, { timeout: 30_000 });
    const c = await poll('a thumbnail', 60_000, async () => { const c = await thumbColour(env.PLAYER); return { ok: !!c, c }; });
    if (isRed(c.c)) throw new Error(`the screen is red before anything red was scheduled: ${c.c}`);
  });

  await step('upload an image with a progress bar and see its preview', async () => {
    await go('content');
    await page.setInputFiles('input[type=file][name=file]', env.IMAGE);
    await page.waitForSelector('form.panel .previews img'); // local preview before sending
    await page.click('form.panel button[type=submit]');
    await page.waitForSelector('.upload-status[data-uploaded]');
    uploaded = await page.getAttribute('.upload-status', 'data-uploaded');
    const progress = await page.$eval('form.panel progress', (p) => p.value);
    if (progress !== 100) throw new Error(`progress ended at ${progress}`);
    await page.waitForFunction((id) => {
      const img = document.querySelector(`figure[data-asset="${id}"] img`);
      return img && img.complete && img.naturalWidth > 0;
    }, uploaded);
    await shot('content');
  });

  await step('schedule it for one player in the week calendar', async () => {
    await go('schedule');
    await page.selectOption('select[name=asset]', uploaded);
    await page.selectOption('select[name=target]', `player:${env.PLAYER}`);
    await page.click('#schedule-form button[type=submit]');
    await page.waitForSelector(`.day.today .slot:has-text("full-single-${uploaded.slice(0, 12)}")`);
    // The seeded overlapping entries are flagged.
    await page.waitForSelector('.slot.conflict');
    await shot('schedule');
  });

  await step("the player's screenshot turns to the scheduled image", async () => {
    await go('screens');
    await poll('a red thumbnail', 120_000, async () => { const c = await thumbColour(env.PLAYER); return { ok: isRed(c), c }; });
    await page.waitForSelector(`article[data-player="${env.PLAYER}"] .showing:has-text("full-single-")`);
    await shot('screens');
  });

  await step('write a Japanese and English text slide, see the preview drawn as screens draw it, save it', async () => {
    await go('content');
    await page.fill('#text-form input[name=text_title]', '窓口案内');
    await page.fill('#text-form input[name=ja_title]', '番号札をお取りください');
    await page.fill('#text-form textarea[name=ja_body]', '受付は2階です。');
    await page.fill('#text-form input[name=en_title]', 'Please take a number');
    await page.waitForSelector('#text-form img.text-preview[data-ready]');
    const size = await page.$eval('#text-form img.text-preview', (img) => new Promise((resolve) => {
      const done = () => resolve([img.naturalWidth, img.naturalHeight]);
      if (img.complete) done(); else img.onload = done;
    }));
    if (size[0] !== 1920 || size[1] !== 1080) throw new Error(`preview is ${size}`);
    // Too little contrast is refused before saving, with the reason.
    await page.$eval('#text-form input[name=text_colour]', (i) => { i.value = '#114477'; i.dispatchEvent(new Event('input')); });
    await page.waitForSelector('#text-form .preview-status.error:has-text("contrast")');
    await page.$eval('#text-form input[name=text_colour]', (i) => { i.value = '#ffffff'; i.dispatchEvent(new Event('input')); });
    await page.waitForSelector('#text-form .preview-status:not(.error)');
    await shot('content-text');
    await page.click('#text-form button[type=submit]');
    await page.waitForSelector('#text-form[data-saved]');
    await page.waitForSelector('#assets figcaption strong:has-text("窓口案内")');
  });

  await step('name, tag and date the poster, find it by tag, and a delete while in use is refused', async () => {
    await go('content');
    const card = `figure[data-asset="${uploaded}"]`;
    const fileName = env.IMAGE.split('/').pop();
    await page.waitForSelector(`${card} figcaption strong:has-text("${fileName}")`);
    await page.click(`${card} details summary`);
    await page.fill(`${card} input[name=title]`, '年末年始の閉庁のお知らせ');
    await page.fill(`${card} input[name=tags]`, 'お知らせ, 年末年始');
    await page.fill(`${card} input[name=owner]`, '総務課');
    const d = new Date(Date.now() + 7 * 86400_000);
    const pad = (n) => String(n).padStart(2, '0');
    await page.fill(`${card} input[name=shown_until]`, `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T17:00`);
    await page.click(`${card} form.asset-edit button[type=submit]`);
    await page.waitForSelector(`${card} figcaption strong:has-text("年末年始の閉庁のお知らせ")`);
    await page.waitForSelector(`${card} .tag:has-text("年末年始")`);
    await page.waitForSelector(`${card} .badge.window-showing`);
    await page.fill('input[name=search]', '年末年始');
    await page.waitForFunction((id) => {
      const cards = [...document.querySelectorAll('#assets figure')];
      return cards.length === 1 && cards[0].dataset.asset === id;
    }, uploaded);
    await shot('content-library');
    await page.fill('input[name=search]', 'no such poster');
    await page.waitForSelector('#assets p:has-text("ありません")');
    await page.fill('input[name=search]', '');
    await page.click(`${card} details summary`);
    page.once('dialog', (dialog) => dialog.accept());
    await page.click(`${card} form.asset-edit button.danger`);
    await page.waitForSelector('#toast p.error:has-text("in use by playlist")');
    await page.waitForSelector(card);
    await go('screens');
  });

  await step('English is switchable and remembered', async () => {
    await page.click('#who button[lang=en]');
    await page.waitForSelector('nav a:has-text("Screens")');
    await page.reload();
    await page.waitForSelector('nav a:has-text("Screens")');
    if (await page.getAttribute('html', 'lang') !== 'en') throw new Error('English was not remembered');
    await page.waitForSelector(`article[data-player="${env.PLAYER}"] .thumb img`);
    await shot('screens-en');
    await page.click('#who button[lang=ja]');
    await page.waitForSelector('nav a:has-text("画面")');
  });

  await step('layouts and playlists', async () => {
    await go('layouts');
    await page.waitForSelector('.layout-box div');
    await shot('layouts');
  });

  await step('visitors read the waiting page on a phone, in their language, without logging in', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
    const visitor = await phone.newPage();
    visitor.setDefaultTimeout(20_000);
    const area = `section[data-ward="${env.PUBLIC_WARD}"] .area[data-band="moderate"]`;
    await poll('the counter area on the public page', 60_000, async () => {
      await visitor.goto(url + 'wait');
      const found = await visitor.waitForSelector(area, { timeout: 3000 }).catch(() => null);
      return { ok: !!found };
    });
    const text = async () => visitor.$eval(area, (e) => e.textContent);
    for (const [lang, words] of [['ja', 'やや混雑'], ['en', 'Somewhat busy'], ['vi', 'Hơi đông'], ['ko', '약간 혼잡']]) {
      await visitor.selectOption('#lang', lang);
      const shown = await text();
      if (!shown.includes(words)) throw new Error(`in ${lang} the area says ${shown}`);
    }
    await visitor.selectOption('#lang', 'ja');
    if (!(await text()).includes('約10人')) throw new Error('the head count (12, rounded down to 10) is not shown');
    const wide = await visitor.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    if (wide) throw new Error('the page is wider than the phone');
    const path = join(env.SHOTS_DIR, 'wait-phone.png');
    await visitor.screenshot({ path, fullPage: true });
    shots.push(path);
    await phone.close();
  });

  await step('people flow shows charts or a placeholder', async () => {
    await go('flow');
    await page.waitForFunction(() => [...document.querySelectorAll('figure[data-report]')].length > 0
      && [...document.querySelectorAll('figure[data-report]')].every((f) => f.querySelector('img, .placeholder, p.muted')));
    await shot('flow');
  });

  await step('users: create a viewer, then disable it', async () => {
    await go('users');
    await page.fill('#user-form input[name=name]', 'viewer.test');
    await page.selectOption('#user-form select[name=role]', 'viewer');
    await page.fill('#user-form input[name=new-password]', 'a long viewer password');
    await page.click('#user-form button[type=submit]');
    await page.waitForSelector('tr[data-user="viewer.test"] .badge.online');
    await page.click('tr[data-user="viewer.test"] button.danger');
    await page.waitForSelector('tr[data-user="viewer.test"] .badge.offline');
    await shot('users');
  });

  await step('a new screen joins with a one-time code: it waits, the administrator approves it, and renames another', async () => {
    await go('screens');
    await page.fill('input[name=code_ward]', env.WARD);
    await page.fill('input[name=code_groups]', 'lobby');
    await page.click('section.fleet form button[type=submit]');
    const code = (await page.textContent('code.enrol-code', { timeout: 10_000 })).trim();
    if (!/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(code)) throw new Error(`not an enrolment code: ${code}`);
    // What \`signage-player enrol\` sends from the new screen: the code and its own password.
    const asked = await page.evaluate(async (c) => (await fetch('/api/v1/enrol', { method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: c, password: 'p'.repeat(40), name: '北区役所 3F 新しい画面' }) })).status, code);
    if (asked !== 202) throw new Error(`the enrolment request answered ${asked}`);
    await page.waitForSelector('article[data-enrolment] h3:has-text("北区役所 3F 新しい画面")', { timeout: 15_000 });
    await page.fill('article[data-enrolment] input[name=player_id]', 'kita-3f-new');
    await shot('screens-enrolment');
    await page.click('article[data-enrolment] form button[type=submit]');
    await page.waitForSelector('article[data-player="kita-3f-new"] h2:has-text("北区役所 3F 新しい画面")', { timeout: 15_000 });
    await page.waitForSelector('article[data-enrolment]', { state: 'detached' });
    // It was a trial: retired at once (out of every target, kept for history).
    const trial = 'article[data-player="kita-3f-new"]';
    await page.click(`${trial} details.fleet-controls summary`);
    page.once('dialog', (d) => d.accept());
    await page.click(`${trial} button[data-step=retire]`);
    await page.waitForSelector(`${trial} .badge:has-text("廃止")`, { timeout: 15_000 });
    const plain = 'article[data-player="kita-2f-window"]';
    await page.click(`${plain} details.fleet-controls summary`);
    await page.fill(`${plain} details.fleet-controls input[name=name]`, '北区役所 2F 窓口');
    await page.fill(`${plain} details.fleet-controls input[name=groups]`, 'counters, lobby');
    await page.click(`${plain} details.fleet-controls form button[type=submit]`);
    await page.waitForSelector(`${plain} h2:has-text("北区役所 2F 窓口")`, { timeout: 15_000 });
    await page.waitForSelector(`${plain} p:has-text("counters, lobby")`, { timeout: 15_000 });
    // A player build: uploaded under a version label, listed with its digest.
    await page.setInputFiles('#build-upload input[name=build_file]',
      { name: 'signage-player', mimeType: 'application/octet-stream', buffer: Buffer.from('#!/bin/sh\nexit 0\n') });
    await page.fill('#build-upload input[name=build_version]', 'walk-1.0');
    await page.click('#build-upload button[type=submit]');
    await page.waitForSelector('ul.builds li[data-version="walk-1.0"]:has-text("SHA-256")', { timeout: 15_000 });
    await page.$eval('#build-upload', (f) => f.scrollIntoView());
    await shot('screens-builds');
  });

  await step('the audit log lists the logins and the changes', async () => {
    await go('audit');
    await page.waitForSelector('tbody tr:has-text("user.update")');
    await page.waitForSelector('tbody tr:has-text("login")');
    await page.waitForSelector('tbody tr:has-text("enrolment.approve")');
    await page.waitForSelector('tbody tr:has-text("player.edit")');
    await page.waitForSelector('tbody tr:has-text("player.retire")');
    await shot('audit');
  });

  // ---- alerts: needs the alerts API (controller/src/alerting) ----
  await step('ALERTS API PRESENT (GET /api/v1/alerts must not 404)', async () => {
    await go('alerts');
    await page.waitForSelector('#alerts, [data-unavailable]');
    if (await page.$('[data-unavailable="alerts"]')) {
      await shot('alerts');
      throw new Error('ALERTS API NOT AVAILABLE: GET /api/v1/alerts answered 404, so the live alert, '
        + 'second-person confirmation, counter, cancel and drill steps cannot run');
    }
    if (await page.$('[data-unavailable="alert-templates"]')) {
      throw new Error('ALERTS API INCOMPLETE: GET /api/v1/alerts/templates is missing');
    }
  });

  if (env.STAGED_ALERT) {
    const staged = `.alert-card[data-alert="${env.STAGED_ALERT}"]`;
    await step('on any page, the menu counts the alert a feed staged', async () => {
      await go('screens');
      const badge = await page.waitForSelector('#staged-count:not([hidden])');
      const text = await badge.textContent();
      if (!text.includes('1')) throw new Error(`the staged count says ${text}`);
    });
    await step('a JMA alert staged by policy waits at the top with a cue, its source and the original', async () => {
      await go('alerts');
      await page.waitForSelector('#alerts .staged-banner');
      const first = await page.waitForSelector('#alerts > .alert-card');
      if (await first.getAttribute('data-alert') !== env.STAGED_ALERT) throw new Error('the staged alert is not the first card');
      if (await first.getAttribute('data-source') !== 'jma') throw new Error('the staged alert does not say it came from JMA');
      if (!(await page.evaluate(() => window.__stagedCues || 0))) throw new Error('no audible cue for the staged alert');
      await page.click(`${staged} details.originals summary`);
      await page.waitForSelector(`${staged} details.originals a[href^="/api/v1/intake/"]`);
      await shot('alerts-staged');
    });
    await step('an administrator confirms the staged alert, then cancels it', async () => {
      await page.click(`${staged} button.confirm`);
      await page.waitForSelector(`${staged}[data-phase="issued"]`);
      await page.click(`${staged} button.cancel`);
      await page.waitForSelector(`${staged}[data-phase="cancelled"]`);
    });
  }

  let alertId;
  await step(`issue a LIVE alert to ward ${env.WARD}`, async () => {
    await page.check('#alert-form input[name=mode][value=Actual]');
    await page.waitForSelector('#alert-form fieldset.mode-live');
    await page.check(`#alert-form input[name=target][value="ward:${env.WARD}"]`);
    await shot('alerts-form-live');
    page.once('dialog', (d) => d.accept());
    await page.click('#alert-form button[type=submit]');
    const card = await page.waitForSelector('.alert-card[data-status="Actual"][data-phase="pending_confirmation"]');
    alertId = await card.getAttribute('data-alert');
    if (await page.$(`.alert-card[data-alert="${alertId}"] button.confirm`)) {
      throw new Error('the author is offered to confirm their own live alert');
    }
  });

  await step('a second person (disaster role) confirms it', async () => {
    await logout();
    await login(env.DISASTER_USER, env.DISASTER_PASSWORD);
    await go('alerts');
    await page.click(`.alert-card[data-alert="${alertId}"] button.confirm`);
    await page.waitForSelector(`.alert-card[data-alert="${alertId}"][data-phase="issued"]`);
  });

  await step(`the counter reaches all ${env.WARD_SCREENS} screens of the ward`, async () => {
    const want = Number(env.WARD_SCREENS);
    await poll('showing = targeted', 60_000, async () => {
      const read = (k) => page.$eval(`.alert-card[data-alert="${alertId}"] [data-count="${k}"] strong`, (e) => Number(e.textContent)).catch(() => null);
      const [targeted, showing] = [await read('targeted'), await read('showing')];
      return { ok: targeted === want && showing === want, targeted, showing };
    });
    await shot('alerts-live');
  });

  await step('one click cancels it', async () => {
    await page.click(`.alert-card[data-alert="${alertId}"] button.cancel`);
    await page.waitForSelector(`.alert-card[data-alert="${alertId}"][data-phase="cancelled"]`);
  });

  await step('a drill is issued at once and marked 訓練 DRILL', async () => {
    await go('alerts');
    await page.check(`#alert-form input[name=target][value="ward:${env.WARD}"]`);
    await page.check('#alert-form input[name=mode][value=Exercise]');
    await page.click('#alert-form button[type=submit]');
    const card = await page.waitForSelector('.alert-card.mode-drill[data-status="Exercise"][data-phase="issued"]');
    const text = await card.textContent();
    if (!text.includes('訓練')) throw new Error(`the drill card does not say 訓練: ${text}`);
    await shot('alerts');
    const drillId = await card.getAttribute('data-alert');
    // People see ward names, not ids: on the card, and in the alert's English text.
    if (env.WARD === 'kita' && !text.includes('北区')) throw new Error(`the card names the ward by its id: ${text}`);
    const cap = await page.evaluate(async (id) => (await fetch(`/api/v1/alerts/${id}/cap`)).text(), drillId);
    if (env.WARD === 'kita' && !cap.includes('Kita Ward')) throw new Error('the English text does not say Kita Ward');
    await page.click(`.alert-card[data-alert="${drillId}"] button.cancel`);
    await page.waitForSelector(`.alert-card[data-alert="${drillId}"][data-phase="cancelled"]`);
  });

  // ---- content approval: a pr account's work waits for an approver (after the alerts, so
  // that they run on the screen the earlier steps scheduled) ----
  let green;
  await step('a pr account uploads a poster and writes a ticker; both wait for approval', async () => {
    await logout();
    await login(env.PR_USER, env.PR_PASSWORD);
    await go('content');
    await page.waitForSelector('#approval-notice');
    await page.setInputFiles('input[type=file][name=file]', env.GREEN_IMAGE);
    await page.click('form.panel button[type=submit]');
    await page.waitForSelector('.upload-status[data-uploaded]');
    green = await page.getAttribute('.upload-status', 'data-uploaded');
    await page.waitForSelector(`figure[data-asset="${green}"] .badge.pending[data-pending="new"]`);
    await page.selectOption('#text-form select[name=text_kind]', 'ticker');
    await page.fill('#text-form input[name=text_title]', '混雑のお知らせ');
    await page.fill('#text-form textarea[name=ja_body]', 'ただいま窓口が混み合っています');
    await page.fill('#text-form textarea[name=en_body]', 'The counters are busy now');
    await page.click('#text-form button[type=submit]');
    await page.waitForSelector('#text-form[data-saved]');
    await page.waitForSelector('#assets figure:has-text("混雑のお知らせ") .badge.pending');
  });

  await step('the pr account builds a two-zone layout on the grid and schedules it', async () => {
    await go('layouts');
    await page.selectOption('#playlist-form select[name=playlist_assets]', green);
    await page.fill('#playlist-form input[name=playlist_id]', 'green-loop');
    await page.uncheck('#playlist-form input[name=full_screen]');
    await page.click('#playlist-form button[type=submit]');
    await page.waitForSelector('tr[data-playlist="green-loop"] .badge.pending');
    // Portrait screens get a tall stage; this layout is for a landscape one.
    await page.selectOption('#layout-editor select[name=orientation]', 'portrait');
    const tall = await page.$eval('#layout-stage', (e) => e.getBoundingClientRect().height > e.getBoundingClientRect().width);
    if (!tall) throw new Error('the portrait stage is not taller than wide');
    await page.selectOption('#layout-editor select[name=orientation]', 'landscape');
    await page.fill('#layout-editor input[name=layout_id]', 'lobby-two');
    await page.selectOption('#layout-editor select[name=preset]', 'main_ticker');
    await page.waitForSelector('#layout-stage .zone[data-zone="zone2"]');
    // A zone dragged on the stage snaps to the grid: three cells to the right.
    await page.click('#zone-add');
    const stage = await page.$eval('#layout-stage', (e) => {
      e.scrollIntoView({ block: 'center' });
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height };
    });
    const cell = stage.w / 12;
    await page.mouse.move(stage.x + cell, stage.y + cell);
    await page.mouse.down();
    await page.mouse.move(stage.x + cell * 4.1, stage.y + cell, { steps: 5 });
    await page.mouse.up();
    const col = await page.inputValue('#layout-editor input[name=zone3_col]');
    if (col !== '3') throw new Error(`the dragged zone is in column ${col}, not 3`);
    await page.click('fieldset[data-zone="zone3"] button');
    await page.selectOption('#layout-editor select[name=main_content]', 'green-loop');
    await page.selectOption('#layout-editor select[name=zone2_source]', 'text');
    await page.selectOption('#layout-editor select[name=zone2_content]', { label: '混雑のお知らせ (テロップ)' });
    await page.waitForSelector('#layout-stage .zone[data-zone="main"] img');
    await shot('layout-editor');
    await page.click('#layout-editor button[type=submit]');
    await page.waitForSelector('article[data-layout="lobby-two"] .badge.pending');
    await page.waitForSelector('article[data-layout="lobby-two"] .layout-box [data-zone="main"] img');
    await go('schedule');
    await page.selectOption('#schedule-form select[name=layout]', 'lobby-two');
    await page.selectOption('#schedule-form select[name=target]', `player:${env.PLAYER}`);
    await page.fill('#schedule-form input[name=priority]', '20');
    await page.click('#schedule-form button[type=submit]');
    await page.waitForSelector('.day.today .slot:has-text("lobby-two") .badge.pending');
  });

  await step('the pr account asks for approval', async () => {
    await go('changes');
    await page.fill('textarea[name=note]', '1階ロビーの混雑案内です');
    await page.click('#change-submit');
    await page.waitForSelector('.change .badge[data-state="submitted"]');
  });

  await step('the approver sees what changes on which screen, previews it, and approves', async () => {
    await logout();
    await login(env.APPROVER_USER, env.APPROVER_PASSWORD);
    await go('changes');
    await page.waitForSelector(`.change tr[data-screen="${env.PLAYER}"] td.added:has-text("lobby-two")`);
    await page.waitForSelector('.change .note:has-text("混雑案内")');
    await page.selectOption('#change-preview select[name=preview_player]', env.PLAYER);
    await page.click('#change-preview button[type=submit]');
    await page.waitForSelector('#change-preview .screen-preview[data-layout="lobby-two"] [data-zone="main"] img');
    await shot('changes');
    await page.fill('textarea[name=comment]', '承認します');
    await page.click('#change-approve');
    await page.waitForSelector('.change .badge[data-state="approved"]');
  });

  await step('the approver closes the ward for a day and the week marks it, with the holidays', async () => {
    await go('schedule');
    const tomorrow = await page.evaluate(() => addDays(tokyoDate(new Date()), 1));
    await page.selectOption('select[name=scope]', `ward:${env.WARD}`);
    await page.selectOption('#calendar-form select[name=calendar_ward]', env.WARD);
    await page.fill('#calendar-form textarea[name=calendar_closed]', tomorrow);
    await page.click('#calendar-form button[type=submit]');
    // The page is drawn again after the save, in the same scope.
    await page.waitForSelector(`.day[data-date="${tomorrow}"] .badge.closed-day[data-closed="ward_closed"]`);
    await page.waitForSelector('select[name=scope]');
    if (await page.inputValue('select[name=scope]') !== `ward:${env.WARD}`) throw new Error('the scope was lost');
    // 年末年始 is closed without anyone setting it.
    const year = Number(tomorrow.slice(0, 4));
    await page.fill('input[name=week_of]', `${year}-12-28`);
    await page.$eval('input[name=week_of]', (i) => i.dispatchEvent(new Event('change')));
    await page.waitForSelector(`.day[data-date="${year}-12-29"] .badge.closed-day[data-closed="year_end"]`);
    await shot('schedule-calendar');
    // A power rule for every screen, saved and listed, then removed again (the walk's screens
    // must stay on whatever the hour).
    await page.fill('#power-form input[name=power_before]', '30');
    await page.click('#power-form button[type=submit]');
    await page.waitForSelector('ul.power-rules li[data-group=""]:has-text("30")');
    await shot('schedule-power');
    await page.click('ul.power-rules li[data-group=""] button');
    await page.waitForSelector('ul.power-rules li.muted');
  });

  await step("the player's screenshot shows the approved layout", async () => {
    await go('screens');
    await poll('a green thumbnail', 120_000, async () => { const c = await thumbColour(env.PLAYER); return { ok: isGreen(c), c }; });
    await page.waitForSelector(`article[data-player="${env.PLAYER}"] .showing:has-text("lobby-two")`);
    await logout();
    await login(env.ADMIN_USER, env.ADMIN_PASSWORD);
  });

  console.log(`screenshots: ${shots.join(' ')}`);
  console.log('console browser test: all steps passed');
  await browser.close();
} catch (e) {
  console.error(`FAILED at step "${current}": ${e.message}`);
  if (env.FAILURE_SHOT) {
    try { await page.screenshot({ path: env.FAILURE_SHOT, fullPage: true }); console.error(`page at failure: ${env.FAILURE_SHOT}`); } catch { /* ignore */ }
  }
  console.log(`screenshots: ${shots.join(' ')}`);
  await browser.close();
  process.exit(1);
}
