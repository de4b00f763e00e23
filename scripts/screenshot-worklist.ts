/**
 * Takes the README's picture of the navigator's worklist page (docs/images/worklist.png): a throwaway database with
 * the demo teams, the api and the worker in this process on a fixed clock, a few synthetic sarcoma-north patients
 * sent through the real queue, then Debian's chromium (driven by playwright-core) signs in as the demo navigator,
 * opens an escalating task and takes the picture at a laptop's 1440 × 900. Needs Redis and PostgreSQL, as the tests.
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only scripts/screenshot-worklist.ts [--out <png>] [--height <px>]
 *
 * Everything it made (the database, the queue keys) is removed at the end. CHROMIUM (default /usr/bin/chromium),
 * SCREENSHOT_PG_URL (default postgres://postgres@127.0.0.1:5432) and REDIS_URL change where it looks.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue } from 'bullmq';
import { chromium } from 'playwright-core';
import { CLINICAL_EVENTS_QUEUE, SCHEMA_VERSION, clinicalEventJob, type ClinicalEvent } from '@app/contracts';
import { redisConnection } from '@app/platform';
import {
  createPool,
  ensureDatabase,
  FakeClock,
  loadCareTeamSeed,
  migrate,
  PathwayReadModels,
  seedCareTeams,
  SurveillanceSweeper,
} from '@app/store';
import { createApiApp } from '../apps/api/src/bootstrap';
import { WorkerModule } from '../apps/worker/src/worker.module';

const args = process.argv.slice(2);
const OUT = resolve(args.includes('--out') ? args[args.indexOf('--out') + 1] : 'docs/images/worklist.png');
const PG_BASE = process.env.SCREENSHOT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const NOW = new Date('2030-06-01T08:00:00.000Z');
const DAY = 24 * 3_600_000;

/** A date `days` before the clock's now (negative: after). */
const ago = (days: number, hour = 9) => {
  const at = new Date(NOW.getTime() - days * DAY);
  at.setUTCHours(hour, 0, 0, 0);
  return at.toISOString();
};

function event(id: string, patientId: string, type: string, occurredAt: string, payload: object): ClinicalEvent {
  return {
    eventId: `shot-${id}`,
    type,
    patientId,
    occurredAt,
    source: 'screenshot',
    schemaVersion: SCHEMA_VERSION,
    payload,
  } as ClinicalEvent;
}

const registered = (id: string, patientId: string, days: number, site: string) =>
  event(`${id}-reg`, patientId, 'patient.registered', ago(days), {
    primarySite: site,
    diagnosisDate: ago(days + 5).slice(0, 10),
    careTeam: 'sarcoma-north',
  });

/**
 * Synthetic sarcoma-north patients, in three batches the service learns of at different times (so that some tasks
 * are new since yesterday and some are not): a distant metastasis and an unexpected radiotherapy three days ago, a
 * local recurrence 30 hours ago (not accepted: escalated to the navigator lead), an unplanned excision today.
 */
function journeys(): { learnedAt: Date; events: ClinicalEvent[] }[] {
  const a = [
    registered('a', 'SYN-0412', 120, 'thigh'),
    event('a-surg', 'SYN-0412', 'surgery.performed', ago(110), {
      procedure: 'wide-excision',
      performedAt: ago(110),
    }),
    event('a-path', 'SYN-0412', 'pathology.reported', ago(103), {
      reportId: 'RPT-SHOT-A',
      status: 'final',
      margin: 'R0',
      grade: 1,
      sizeCm: 3,
      depth: 'superficial',
      histology: 'liposarcoma',
    }),
    event('a-lr', 'SYN-0412', 'recurrence.detected', new Date(NOW.getTime() - 31 * 3_600_000).toISOString(), {
      kind: 'local',
    }),
  ];
  const b = [
    registered('b', 'SYN-0977', 200, 'retroperitoneum'),
    event('b-surg', 'SYN-0977', 'surgery.performed', ago(190), {
      procedure: 'wide-excision',
      performedAt: ago(190),
    }),
    event('b-path', 'SYN-0977', 'pathology.reported', ago(183), {
      reportId: 'RPT-SHOT-B',
      status: 'final',
      margin: 'R0',
      grade: 3,
      sizeCm: 4,
      depth: 'deep',
      histology: 'leiomyosarcoma',
    }),
    event('b-dm', 'SYN-0977', 'recurrence.detected', ago(3), { kind: 'distant' }),
  ];
  const c = [
    registered('c', 'SYN-1130', 9, 'forearm'),
    event('c-surg', 'SYN-1130', 'surgery.performed', ago(6), {
      procedure: 'unplanned-excision',
      performedAt: ago(6),
    }),
  ];
  const d = [
    registered('d', 'SYN-0218', 80, 'calf'),
    event('d-surg', 'SYN-0218', 'surgery.performed', ago(70), {
      procedure: 'wide-excision',
      performedAt: ago(70),
    }),
    event('d-path', 'SYN-0218', 'pathology.reported', ago(63), {
      reportId: 'RPT-SHOT-D',
      status: 'final',
      margin: 'R0',
      grade: 1,
      sizeCm: 2,
      depth: 'superficial',
      histology: 'myxoid liposarcoma',
    }),
    event('d-rt', 'SYN-0218', 'radiotherapy.completed', ago(50), { completedAt: ago(50), setting: 'adjuvant' }),
  ];
  return [
    { learnedAt: new Date(NOW.getTime() - 3 * DAY), events: [...b, ...d] },
    { learnedAt: new Date(NOW.getTime() - 30 * 3_600_000), events: a },
    { learnedAt: NOW, events: c },
  ];
}

/** Until every event is in the log and every open task has someone. */
async function settled(pool: ReturnType<typeof createPool>, events: number): Promise<void> {
  for (let tries = 0; ; tries++) {
    const { rows } = await pool.query<{ logged: number; unrouted: number }>(
      `SELECT (SELECT count(*)::int FROM clinical_events) AS logged,
              (SELECT count(*)::int FROM tasks WHERE assignee_id IS NULL AND status = 'requested') AS unrouted`,
    );
    if (rows[0].logged === events && rows[0].unrouted === 0) return;
    if (tries > 300) throw new Error('the events were not applied and routed within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const suffix = randomBytes(3).toString('hex');
  const databaseUrl = `${PG_BASE}/sarcoma_screenshot_${suffix}`;
  const prefix = `screenshot-${suffix}`;
  const mailDir = join(tmpdir(), prefix);
  const clock = new FakeClock(NOW);
  const height = args.includes('--height') ? Number(args[args.indexOf('--height') + 1]) : 900;
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  const pool = createPool(databaseUrl, 4);
  const queue = new Queue(CLINICAL_EVENTS_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  let api: INestApplication | undefined;
  let worker: INestApplicationContext | undefined;
  try {
    await seedCareTeams(pool, loadCareTeamSeed(join(__dirname, '..', 'config', 'demo-teams.json')));
    const config = { DATABASE_URL: databaseUrl, REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'error' as const };
    worker = await NestFactory.createApplicationContext(
      WorkerModule.forRoot({ config: { ...config, METRICS_PORT: 0, MAIL_OUTBOX_DIR: mailDir }, clock }),
      { logger: ['error'] },
    );
    await worker.init();
    api = await createApiApp({ config: { ...config, MLLP_PORT: 0 }, clock });
    await api.listen(0, '127.0.0.1');
    const base = await api.getUrl();

    let events = 0;
    for (const batch of journeys()) {
      clock.set(batch.learnedAt);
      await queue.addBulk(batch.events.map((e) => clinicalEventJob(e)));
      events += batch.events.length;
      await settled(pool, events);
    }
    // what the sweeper finds now: escalations due, surveillance items missed or coming up
    await worker.get(SurveillanceSweeper).sweep(NOW);
    await settled(pool, events);
    const readModels = new PathwayReadModels(pool);
    const maren = (await pool.query<{ id: string }>(`SELECT id FROM team_members WHERE name = 'Maren Holt'`)).rows[0]
      .id;
    const mine = await readModels.worklist({ assigneeId: maren, now: NOW, limit: 50, offset: 0 });
    const escalating = mine.items.find((t) => t.ruleId === 'R-LR-ESCALATE' && t.region === 'chest') ?? mine.items[0];

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    try {
      const context = await browser.newContext({
        viewport: { width: 1440, height },
        locale: 'en-GB',
        timezoneId: 'Europe/London',
      });
      const page = await context.newPage();
      await page.goto(`${base}/app/`);
      await page.getByLabel('API key').fill('demo-navigator-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator(`#task-rows button[data-task-id="${escalating.id}"]`).click();
      await page.locator('#timeline > li').first().waitFor();
      await page.locator('#task').evaluate((panel) => panel.scrollTo(0, 0));
      // the keyboard focus ring on the task's heading is not part of the picture
      await page.evaluate('document.activeElement && document.activeElement.blur()');
      await mkdir(dirname(OUT), { recursive: true });
      await page.screenshot({ path: OUT });
      console.log(`wrote ${OUT}: ${mine.total} tasks on Maren Holt's worklist, task ${escalating.type} open`);
    } finally {
      await browser.close();
    }
  } finally {
    await api?.close();
    await worker?.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await pool.end();
    await rm(mailDir, { recursive: true, force: true });
    const admin = createPool(`${PG_BASE}/postgres`, 1);
    await admin.query(`DROP DATABASE IF EXISTS "sarcoma_screenshot_${suffix}" WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
