/**
 * The navigator's worklist page (issue 7) in a real browser: Debian's chromium driven by playwright-core, against the
 * real api, worker, Redis and PostgreSQL. A navigator signs in, sees a task that an event just created appear by
 * itself, reads why it exists, accepts and completes it, is refused an illegal move by the server; a lead sees the
 * team's load, the escalations in flight and the dead letters (and replays one), and reassigns a task, which leaves
 * the navigator's list without a reload. Time is a fake clock (2030-06-01 08:00 UTC) shared by the api and worker.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { FakeClock } from '@app/store';
import { WORKLIST_PAGE_CSP } from '../../apps/api/src/web/web.controller';
import { startApi, seedDemoTeams } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { clinicalEvent, localRecurrenceJourney } from '../support/events';
import { UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startWorker } from '../support/worker';

// The browser's globals, for the functions evaluated in the page (the project's TypeScript has no DOM library).
declare const document: any;
declare const sessionStorage: any;
declare const localStorage: any;
declare function getComputedStyle(element: unknown): { color: string; backgroundColor: string };

const clock = new FakeClock(new Date('2030-06-01T08:00:00.000Z'));
const NAVIGATOR = 'demo-navigator-key'; // Maren Holt, navigator, sarcoma-north
const LEAD = 'demo-lead-key'; // Idris Calloway, navigator lead, sarcoma-north
const INTEGRATION = 'demo-integration-key';
const PATIENT = 'P-BROWSER-1';
const TITLE = 'Worklist · Sarcoma care pathway';

let db: TestDatabase;
let api: INestApplication;
let worker: INestApplicationContext;
let upstream: UpstreamPublisher;
let browser: Browser;
let base: string;
let pageUrl: string;
const contexts: BrowserContext[] = [];
/** Console errors and uncaught exceptions of every page (a CSP violation is one), except refused requests. */
const problems: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('browser');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('browser');
  upstream = new UpstreamPublisher(prefix);
  // The browser first and each part kept as it starts: a part that fails to start must not leave the others running
  // past the test (a worker's relay loop then kept jest from ever exiting).
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  worker = await startWorker({ databaseUrl: db.url, prefix, clock });
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix, clock }));
  // The page polls every second here (15 s by default).
  pageUrl = `${base}/app/?refresh=1`;
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await api?.close();
  await worker?.close();
  await upstream?.destroy();
  await db?.drop();
});

async function openPage(): Promise<{ page: Page; loads: () => number }> {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  contexts.push(context);
  const page = await context.newPage();
  page.on('console', (message) => {
    // A 4xx answer the page then shows (401, 409, 422) is logged by chromium as "Failed to load resource".
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.push(error.message));
  let loads = 0;
  page.on('load', () => loads++);
  const response = await page.goto(pageUrl);
  expect(response?.status()).toBe(200);
  return { page, loads: () => loads };
}

async function call(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
const rowTexts = (page: Page) => page.locator('#task-rows tr').allInnerTexts();
const column = (page: Page, n: number) =>
  page.locator(`#task-rows tr td:nth-child(${n})`).evaluateAll((cells) => cells.map((c) => c.textContent?.trim()));
const optionTexts = (page: Page, id: string) =>
  page.locator(`#${id} option`).evaluateAll((options) => options.map((o) => o.textContent));
/** The value of a fact (<dt>term</dt><dd>value</dd>) in one of the task panel's lists. */
const fact = (page: Page, list: string, term: string) =>
  page.locator(`#${list} dt:text-is("${term}") + dd`).innerText();
/** Waits until the worklist shows `n` rows. */
async function rows(page: Page, n: number): Promise<void> {
  await page.waitForFunction((count) => document.querySelectorAll('#task-rows tr').length === count, n, {
    timeout: 15_000,
  });
}
/** Waits until `selector` shows `expected` (the page updates by itself: no reload). */
async function until(page: Page, selector: string, expected: string | RegExp, timeout = 15_000): Promise<void> {
  await page.locator(selector).filter({ hasText: expected }).first().waitFor({ timeout });
}

let navigator: Page;
let navigatorLoads: () => number;
/** The task the navigator works: the first urgent R-LR-ESCALATE imaging order. */
let taskId: string;

it('serves a page that runs under a strict Content-Security-Policy, with no inline script or style', async () => {
  const res = await fetch(pageUrl);
  expect(res.headers.get('content-security-policy')).toBe(WORKLIST_PAGE_CSP);
  expect(WORKLIST_PAGE_CSP).toMatch(/script-src 'self';.*style-src 'self';/);
  const html = await res.text();
  expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/app/app.mjs">']);
  expect(html).not.toMatch(/\sstyle=|\son[a-z]+=|<style/i);
  const script = await fetch(`${base}/app/app.mjs`);
  expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect((await fetch(`${base}/app/secrets.json`)).status).toBe(404);
  // the page's files need no key, and are not API routes (not in the OpenAPI document)
  const doc = (await (await fetch(`${base}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(doc.paths).filter((p) => p.startsWith('/app'))).toEqual([]);
});

it('signs in with an API key kept in sessionStorage only; a wrong key or another role is told why', async () => {
  ({ page: navigator, loads: navigatorLoads } = await openPage());
  expect(await navigator.title()).toBe(TITLE);
  // the key field has the focus from the start: a keyboard user types the key and presses Enter
  expect(await navigator.evaluate(() => document.activeElement?.id)).toBe('api-key');
  await navigator.keyboard.type('not-a-key');
  await navigator.keyboard.press('Enter');
  await until(navigator, '#sign-in-error', 'Not signed in: API key not recognised or revoked.');
  // An admin key is refused /me and /rules alike. /me is held back here so that /rules' refusal arrives first (as it
  // did once in CI): the message must still be about /me, the question of who signs in.
  await navigator.route('**/me', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await route.continue();
  });
  await signIn(navigator, 'demo-admin-key');
  await until(navigator, '#sign-in-error', /This page is for navigators and leads \(role 'admin' may not GET \/me/);
  await navigator.unroute('**/me');
  expect(await navigator.locator('#workspace').isHidden()).toBe(true);

  await signIn(navigator, NAVIGATOR);
  await until(navigator, '#who-name', 'Maren Holt · Navigator · North sarcoma care team');
  await until(navigator, '#summary', '0 open · 0 urgent · 0 overdue · 0 new since yesterday');
  // the summary and the empty-list message are drawn one after the other: wait for it (a busy machine is slow)
  await navigator.locator('#empty').waitFor({ state: 'visible', timeout: 10_000 });
  expect(await navigator.locator('#empty').isVisible()).toBe(true);
  expect(
    await navigator.evaluate(() => ({
      session: Object.entries(sessionStorage),
      local: localStorage.length,
      cookie: document.cookie,
    })),
  ).toEqual({ session: [['sarcoma.worklist.apiKey', NAVIGATOR]], local: 0, cookie: '' });
  expect(navigator.url()).toBe(pageUrl);
  // a navigator has no team overview and no lead-only actions
  expect(await navigator.getByRole('button', { name: 'Team overview' }).count()).toBe(0);
  expect(await navigator.locator('[data-lead-only]:visible').count()).toBe(0);
});

it('shows a task an event just created without a reload: urgent first, overdue said plainly, counts per filter', async () => {
  await upstream.publish(localRecurrenceJourney('browser', PATIENT));
  await until(navigator, '#summary', '3 open · 2 urgent · 1 overdue · 3 new since yesterday');
  await rows(navigator, 3);
  expect(navigatorLoads()).toBe(1);
  expect(await column(navigator, 1)).toEqual(['Urgent', 'Urgent', 'Routine']);
  const texts = await rowTexts(navigator);
  expect(texts[0]).toMatch(/Imaging order: (CT chest|MRI primary site)\s+R-LR-ESCALATE · patient P-BROWSER-1\s*New/);
  expect(texts[2]).toMatch(/Data quality review\s+R-UNEXPECTED/);
  // due 2030-04-08 (7 days after the unexpected radiotherapy), seen on 2030-06-01
  expect(texts[2]).toContain('Overdue by 54 days');
  // due 2 days after the recurrence (2030-05-30 09:00): in an hour
  expect(texts[0]).toContain('due in 1 hour');
  expect(await navigator.locator('#task-rows tr.is-overdue').count()).toBe(1);
  expect(await text(navigator, '#announcer')).toMatch(/^3 new tasks, the first: Imaging order/);

  expect(await optionTexts(navigator, 'filter-priority')).toEqual([
    'All priorities (3)',
    'Urgent (2)',
    'High (0)',
    'Routine (1)',
  ]);
  const types = await optionTexts(navigator, 'filter-type');
  expect(types).toEqual(expect.arrayContaining(['All types (3)', 'Imaging order (2)', 'Data quality review (1)']));
  expect(await text(navigator, '#filter-overdue-label')).toBe('Overdue only (1)');

  await navigator.getByLabel('Priority').selectOption('urgent');
  await rows(navigator, 2);
  expect(await column(navigator, 1)).toEqual(['Urgent', 'Urgent']);
  await navigator.getByLabel(/Overdue only/).check();
  await rows(navigator, 0);
  // the summary and the empty-list message are drawn one after the other: wait for it (a busy machine is slow)
  await navigator.locator('#empty').waitFor({ state: 'visible', timeout: 10_000 });
  expect(await navigator.locator('#empty').isVisible()).toBe(true);
  await navigator.getByLabel('Priority').selectOption('');
  await rows(navigator, 1);
  expect(await column(navigator, 1)).toEqual(['Routine']);
  await navigator.getByLabel(/Overdue only/).uncheck();
  await navigator.getByLabel('Type').selectOption('imaging-order');
  await rows(navigator, 2);
  expect(await column(navigator, 2)).toEqual([
    expect.stringMatching(/^Imaging order/),
    expect.stringMatching(/^Imaging order/),
  ]);
  await navigator.getByLabel('Type').selectOption('');
  await rows(navigator, 3);
});

it("opens a task from the keyboard: the rule's words and evidence, the patient's state, timeline and plan", async () => {
  const first = navigator.locator('#task-rows button[data-task-id]').first();
  taskId = (await first.getAttribute('data-task-id'))!;
  await first.focus();
  await navigator.keyboard.press('Enter');
  await until(navigator, '#task-title', /^Imaging order: .* · Urgent$/);
  expect(await navigator.evaluate(() => document.activeElement?.id)).toBe('task-title');

  const why = await text(navigator, '#task-why');
  expect(why).toContain('local recurrence (HR 8.4 for distant metastasis [1])');
  expect(why).toContain('R-LR-ESCALATE: local recurrence: state local-recurrence; urgent MDT review');
  expect(why).toContain('local recurrence raises the risk of distant metastasis 8.4-fold');
  expect(why).toContain('local recurrence raises the risk of death 3.4-fold');
  expect(await fact(navigator, 'task-facts', 'Status')).toBe('Requested');
  expect(await fact(navigator, 'task-facts', 'Assigned to')).toBe('You');

  await until(navigator, '#patient-facts', 'Local recurrence');
  expect(await fact(navigator, 'patient-facts', 'Patient')).toBe(PATIENT);
  const timeline = await navigator.locator('#timeline > li').allInnerTexts();
  expect(timeline.map((entry) => entry.split('\n')[0].replace(/^.*\d{2}:\d{2}\s+/, ''))).toEqual([
    'patient.registered',
    'surgery.performed',
    'pathology.reported',
    'radiotherapy.completed (unexpected)',
    'recurrence.detected',
  ]);
  expect(timeline[4]).toContain('opened a task: Imaging order: CT chest, urgent (R-LR-ESCALATE)');
  expect(timeline[4]).toContain('planned high-grade surveillance');
  // the intensified plan restarts at the recurrence (2030-05-30): high-grade visits and chest imaging, MRI
  const plan = await navigator.locator('#plan-rows tr').allInnerTexts();
  expect(plan.length).toBeGreaterThan(0);
  expect(plan.join('\n')).toMatch(/R-SURV-HG-VISIT[\s\S]*Planned/);
  expect(plan.join('\n')).toContain('R-SURV-MRI');
  const history = await navigator.locator('#history > li').allInnerTexts();
  expect(history.map((h) => h.replace(/^.*\d{2}:\d{2}\s+/, ''))).toEqual([
    expect.stringMatching(/^Created by a clinical event/),
    expect.stringMatching(/^Routed by the service to You/),
  ]);
  // nothing about the patient reaches the title or the address
  expect(await navigator.title()).toBe(TITLE);
  expect(navigator.url()).toBe(pageUrl);
});

it('accepts and completes the task; an illegal move shows the server’s 409 and changes nothing', async () => {
  const actions = navigator.getByRole('group', { name: 'Task lifecycle' });
  await actions.getByRole('button', { name: 'Accept' }).click();
  await until(navigator, '#action-done', 'Done: accept. The task is now accepted.');
  expect(await fact(navigator, 'task-facts', 'Status')).toBe('Accepted');

  await actions.getByRole('button', { name: 'Complete' }).click();
  await until(
    navigator,
    '#action-error',
    'Not done: cannot complete a task that is accepted; allowed now: start, hold, reject, cancel, reassign',
  );
  expect(await fact(navigator, 'task-facts', 'Status')).toBe('Accepted');
  expect((await call('GET', `/tasks/${taskId}`, NAVIGATOR)).body.status).toBe('accepted');
  // a hold needs a reason: the server says so (422), and nothing changes
  await actions.getByRole('button', { name: 'Put on hold' }).click();
  await until(navigator, '#action-error', 'Not done: hold needs a reason');
  expect((await call('GET', `/tasks/${taskId}`, NAVIGATOR)).body.status).toBe('accepted');

  await actions.getByRole('button', { name: 'Start' }).click();
  await until(navigator, '#action-done', 'The task is now in progress.');
  expect(await text(navigator, '#action-error')).toBe('');
  await actions.getByRole('button', { name: 'Complete' }).click();
  await until(navigator, '#action-done', 'The task is now completed.');
  expect(await fact(navigator, 'task-facts', 'Status')).toBe('Completed');
  expect((await call('GET', `/tasks/${taskId}`, NAVIGATOR)).body.status).toBe('completed');
  // it leaves my worklist; its history says who did what
  await until(navigator, '#summary', '2 open · 1 urgent · 1 overdue');
  expect(await navigator.locator(`#task-rows [data-task-id="${taskId}"]`).count()).toBe(0);
  const history = await navigator.locator('#history > li').allInnerTexts();
  expect(history.slice(2).map((h) => h.replace(/^.*\d{2}:\d{2}\s+/, ''))).toEqual([
    'Accept by you (Requested → Accepted)',
    'Start by you (Accepted → In progress)',
    'Complete by you (In progress → Completed)',
  ]);
});

it('labels every control, keeps text contrast at WCAG AA, and fits a laptop screen', async () => {
  const report = await navigator.evaluate(() => {
    const visible = (e: any) => e.offsetParent !== null;
    const unlabelled = [...document.querySelectorAll('input, select, textarea')]
      .filter(visible)
      .filter((e: any) => !e.labels?.length && !e.getAttribute('aria-label'))
      .map((e) => e.id || e.outerHTML);
    const nameless = [...document.querySelectorAll('button')]
      .filter(visible)
      .filter((b) => !b.textContent?.trim() && !b.getAttribute('aria-label'))
      .map((b) => b.outerHTML);
    const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]) => {
      const c = [r, g, b].map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (e: any): number[] => {
      for (let el = e; el; el = el.parentElement) {
        const [r, g, b, a = 1] = rgb(getComputedStyle(el).backgroundColor);
        if (a > 0) return [r, g, b];
      }
      return [255, 255, 255];
    };
    const selectors = [
      'body',
      '.badge',
      '.overdue-text',
      '.sub',
      '.hint',
      'button',
      'button.link',
      'th',
      '.done',
      '.error',
      '#who-name',
    ];
    const low = selectors.flatMap((selector) =>
      [...document.querySelectorAll(selector)]
        .filter((e) => visible(e) && e.textContent?.trim())
        .map((e) => {
          const [a, b] = [luminance(rgb(getComputedStyle(e).color)), luminance(background(e))];
          return {
            selector,
            text: e.textContent?.trim().slice(0, 30),
            ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
          };
        })
        .filter((r) => r.ratio < 4.5),
    );
    const checked = selectors.reduce((n, s) => n + document.querySelectorAll(s).length, 0);
    return { unlabelled, nameless, low, checked, width: document.documentElement.scrollWidth };
  });
  expect(report).toEqual({ unlabelled: [], nameless: [], low: [], checked: expect.any(Number), width: 1366 });
  expect(report.checked).toBeGreaterThan(20);
});

it("a lead sees the team's load, escalations and dead letters (replays one), and reassigns: the navigator's page follows", async () => {
  const { page: lead } = await openPage();
  await signIn(lead, LEAD);
  await until(lead, '#who-name', 'Idris Calloway · Navigator lead · North sarcoma care team');
  await lead.getByRole('button', { name: 'Team overview' }).click();
  expect(await lead.getByRole('button', { name: 'Team overview' }).getAttribute('aria-pressed')).toBe('true');

  const maren = lead.locator('#load-rows tr').filter({ hasText: 'Maren Holt' });
  await maren.waitFor();
  // open, urgent, overdue, in progress, on hold, escalated
  expect(await maren.locator('td.num').allInnerTexts()).toEqual(['2', '1', '1', '0', '0', '0']);
  expect(await text(lead, '#unassigned')).toBe('Open tasks of the team with nobody assigned: 0.');
  // the other urgent imaging order: nobody accepted it, so at 24 h it goes to the navigator lead
  const escalations = await lead.locator('#escalation-rows tr').allInnerTexts();
  expect(escalations).toHaveLength(1);
  expect(escalations[0]).toMatch(
    /Imaging order: .*\s+Urgent · R-LR-ESCALATE · patient P-BROWSER-1\s+Maren Holt\s+not yet\s+Navigator lead at/,
  );
  expect(escalations[0]).not.toContain(taskId);

  // an invalid registration, refused at the door and kept as a dead letter
  const invalid = clinicalEvent('browser-dl-1', 'P-BROWSER-DL', 'patient.registered', '2030-05-31T10:00:00Z', {
    primarySite: 'thigh',
    diagnosisDate: 'last week',
    careTeam: 'sarcoma-south',
  } as never);
  const refused = await call('POST', '/events', INTEGRATION, invalid);
  expect(refused.status).toBe(400);
  const letterId = String(refused.body.deadLetterId);
  const letter = lead.locator(`[data-dead-letter="${letterId}"]`);
  await letter.waitFor();
  expect(await letter.innerText()).toMatch(/payload\.diagnosisDate: /);
  await letter.getByRole('button', { name: 'Replay', exact: true }).click();
  await until(lead, '#dead-letter-error', `Dead letter #${letterId} not replayed: still invalid`);
  expect((await call('GET', `/dead-letters/${letterId}`, LEAD)).body.status).toBe('open');

  await letter.getByText('Correct and replay').click();
  const corrected = { ...invalid, payload: { ...invalid.payload, diagnosisDate: '2030-05-24' } };
  await letter.getByLabel('Corrected event (JSON)').fill(JSON.stringify(corrected));
  await letter.getByRole('button', { name: 'Replay corrected' }).click();
  await until(lead, '#dead-letter-done', `Dead letter #${letterId} replayed as browser-dl-1.`);
  expect((await call('GET', `/dead-letters/${letterId}`, LEAD)).body).toMatchObject({
    status: 'replayed',
    replayedEventId: 'browser-dl-1',
  });
  // applied (the event log); the patient is sarcoma-south's, so the sarcoma-north lead cannot read it (team scope)
  await waitFor(
    async () => (await db.pool.query(`SELECT 1 FROM clinical_events WHERE event_id = 'browser-dl-1'`)).rowCount,
    (n) => n === 1,
    { what: 'the corrected registration applied' },
  );
  expect((await call('GET', '/patients/P-BROWSER-DL', LEAD)).status).toBe(404);

  // ---- the lead reassigns the escalating task; the navigator's page follows by itself
  const escalating = lead.locator('#escalation-rows button[data-open-task]');
  const escalatingId = await escalating.getAttribute('data-open-task');
  await escalating.click();
  await until(lead, '#task-title', /^Imaging order: .* · Urgent$/);
  expect(await lead.locator('#worklist-view').isVisible()).toBe(true);
  expect(await fact(lead, 'task-facts', 'Assigned to')).toBe('Maren Holt');
  // a reassignment needs a reason: the server refuses it without one (400), and nothing changes
  await lead.getByLabel('Give the task to').selectOption({ label: 'Dr Sunniva Achterberg (clinical lead)' });
  await lead.getByRole('button', { name: 'Reassign' }).click();
  await until(lead, '#action-error', /^Not done: .*reason must be a string/);
  expect(await fact(lead, 'task-facts', 'Assigned to')).toBe('Maren Holt');
  await lead.getByLabel('Reason').fill('Maren is on leave this week');
  await lead.getByRole('button', { name: 'Reassign' }).click();
  await until(lead, '#action-done', 'Reassigned to Dr Sunniva Achterberg.');
  expect(await fact(lead, 'task-facts', 'Assigned to')).toBe('Dr Sunniva Achterberg');
  expect(await lead.locator('#history > li').last().innerText()).toMatch(
    /Reassign by you to Dr Sunniva Achterberg\s+Reason: Maren is on leave this week/,
  );
  const members = (await call('GET', '/me', LEAD)).body.members as { id: string; name: string }[];
  const clinicalLead = members.find((m) => m.name === 'Dr Sunniva Achterberg')!;
  expect((await call('GET', `/tasks/${escalatingId}`, LEAD)).body).toMatchObject({
    assigneeId: clinicalLead.id,
    status: 'requested',
  });

  // the navigator's page drops it from "My tasks" without a reload
  await until(navigator, '#summary', '1 open · 0 urgent · 1 overdue');
  expect(await column(navigator, 2)).toEqual([expect.stringMatching(/^Data quality review/)]);
  expect(navigatorLoads()).toBe(1);
  // the team's view still lists it, assigned to the clinical lead
  await navigator.getByLabel("My team's").check();
  await until(navigator, '#task-rows', 'Dr Sunniva Achterberg');
  expect(await column(navigator, 5)).toEqual(['Dr Sunniva Achterberg', 'You']);
});

it('signs out: the key and every piece of patient data leave the page', async () => {
  await navigator.getByRole('button', { name: 'Sign out' }).click();
  await navigator.getByLabel('API key').waitFor();
  expect(await navigator.evaluate(() => sessionStorage.length)).toBe(0);
  expect(await navigator.locator('body').innerText()).not.toContain(PATIENT);
  expect(await navigator.evaluate(() => document.body.textContent?.includes('P-BROWSER'))).toBe(false);
  // a reload stays signed out
  await navigator.reload();
  expect(await navigator.getByLabel('API key').isVisible()).toBe(true);
  expect(await navigator.title()).toBe(TITLE);
});

it('had no script errors and no Content-Security-Policy violations', () => {
  expect(problems).toEqual([]);
});
