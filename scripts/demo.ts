/**
 * `npm run demo`: starts the api and the worker against Redis and PostgreSQL on their standard ports,
 * plays a synthetic cohort through the real queue as upstream systems would (with a duplicate delivery and
 * a few invalid events), and prints what the service did. Leaves the service running until Ctrl-C
 * (or exits after the summary with --exit).
 *
 *   npm run demo -- --patients 300 --seed 1 [--exit]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { chronological, generateCohort } from '@app/cohort';
import { CLINICAL_EVENTS_QUEUE, clinicalEventJob } from '@app/contracts';
import { loadConfig } from '@app/config';
import { DEFAULT_ROUTING, parseRoutingRules } from '@app/navigation';
import { pathologyBundle } from '../libs/interop/src/fhir/testing';
import { sarcomaOru } from '../libs/interop/src/hl7v2/testing';
import { DEFAULT_PATHWAY_CONFIG } from '@app/pathway';
import {
  CareTaskStore,
  createPool,
  ensureDatabase,
  loadCareTeamSeed,
  migrate,
  NotificationStore,
  seedCareTeams,
  SurveillanceSweeper,
} from '@app/store';
import { redisConnection } from '@app/platform';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const PATIENTS = option('patients', 300);
const SEED = option('seed', 1);
const EXIT = args.includes('--exit');

const config = loadConfig();
const distRoot = join(__dirname, '..');
const repoRoot = join(distRoot, '..');
// The demo seed's keys (config/demo-teams.json): published secrets, for local use only.
const KEYS = { integration: 'demo-integration-key', navigator: 'demo-navigator-key', lead: 'demo-lead-key' };
const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
const children: ChildProcess[] = [];

function start(name: 'api' | 'worker'): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-r', 'tsconfig-paths/register', join(distRoot, 'apps', name, 'src', 'main.js')],
    {
      env: {
        ...process.env,
        TS_NODE_BASEURL: distRoot,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        MAIL_OUTBOX_DIR: config.MAIL_OUTBOX_DIR,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`${name} exited with ${code}`);
      process.exit(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
async function stop(code = 0): Promise<never> {
  stopping = true;
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) =>
          c.exitCode !== null ? resolve() : (c.on('exit', () => resolve()), c.kill('SIGTERM')),
        ),
    ),
  );
  process.exit(code);
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function table(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) return console.log('  (none)');
  const keys = Object.keys(rows[0]);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join('  ')}`;
  console.log(line(keys));
  for (const r of rows) console.log(line(keys.map((k) => String(r[k]))));
}

/** Sends HL7 v2 messages over one MLLP connection and returns their ACKs, in order. */
async function sendMllp(port: number, messages: string[]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const acks: string[] = [];
  let buffer = '';
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\x1c\r'); end >= 0; end = buffer.indexOf('\x1c\r')) {
        acks.push(buffer.slice(buffer.indexOf('\x0b') + 1, end));
        buffer = buffer.slice(end + 2);
        if (acks.length === messages.length) resolve();
      }
    });
    socket.once('close', () => (acks.length === messages.length ? resolve() : reject(new Error('MLLP closed early'))));
  });
  for (const message of messages) socket.write(`\x0b${message}\x1c\r`);
  await done;
  socket.end();
  return acks;
}

async function main(): Promise<void> {
  console.log(`Sarcoma pathway demo: ${PATIENTS} synthetic patients (seed ${SEED})`);
  await ensureDatabase(config.DATABASE_URL);
  const { applied } = await migrate(config.DATABASE_URL);
  console.log(`- database ready (${applied.length} migrations applied now)`);
  const seedPool = createPool(config.DATABASE_URL, 2);
  const seed = loadCareTeamSeed(join(repoRoot, 'config', 'demo-teams.json'));
  await seedCareTeams(seedPool, seed);
  await seedPool.end();
  console.log(
    `- ${seed.teams.length} care teams and ${seed.apiKeys.length} demo API keys loaded (config/demo-teams.json)`,
  );
  start('worker');
  start('api');
  const base = `http://127.0.0.1:${config.PORT}`;
  await until(
    () => fetch(`${base}/health/ready`).then((r) => r.status),
    (s) => s === 200,
    'the api to be ready',
  );
  console.log(`- api and worker running`);

  // Ids are new on every run: the queue keeps completed job ids for a day (BullMQ dedupes on them), so a re-run
  // with the same ids against a fresh database would be ignored as duplicates. The cohort itself is the seed's.
  const run = `demo${SEED}r${Date.now().toString(36)}`;
  const cohort = generateCohort({ patients: PATIENTS, seed: SEED, idPrefix: run });
  const events = chronological(cohort);
  const queue = new Queue(CLINICAL_EVENTS_QUEUE, {
    connection: redisConnection(config.REDIS_URL, 'producer'),
    prefix: config.QUEUE_PREFIX,
  });
  for (let i = 0; i < events.length; i += 500)
    await queue.addBulk(events.slice(i, i + 500).map((e) => clinicalEventJob(e)));
  // What upstream systems also do: deliver one event twice, and send a few events that break the contract.
  const again = events[Math.floor(events.length / 2)];
  await queue.add('pathology.reported', { ...again }, { jobId: `${again.eventId}` });
  const invalid = [
    {
      ...events[1],
      eventId: `${run}-bad-margin`,
      type: 'pathology.reported',
      payload: {
        reportId: 'RPT-X',
        status: 'final',
        margin: 'R3',
        grade: 2,
        sizeCm: 4,
        depth: 'deep',
        histology: 'liposarcoma',
      },
    },
    { ...events[2], eventId: `${run}-bad-date`, occurredAt: 'last Tuesday' },
  ];
  for (const bad of invalid) await queue.add(bad.type, bad, { jobId: bad.eventId, attempts: 3 });
  const viaHttp = await fetch(`${base}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.integration}` },
    body: JSON.stringify({ ...events[3], eventId: `${run}-bad-field`, ward: '7B' }),
  });
  console.log(
    `- published ${events.length} events through the queue (+1 duplicate, +2 invalid); POST /events with an unknown field answered ${viaHttp.status}`,
  );

  const pool = createPool(config.DATABASE_URL, 2);
  const prefix = `${run}-%`;
  let last = -1;
  let lastLine = 0;
  // On a terminal the count updates in place; elsewhere (CI, a log file) a plain line every two seconds.
  const progress = (n: number) => {
    if (process.stdout.isTTY) {
      if (n !== last) {
        const width = 30;
        const filled = Math.round((n / events.length) * width);
        process.stdout.write(
          `\r- applying events [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${n}/${events.length}`,
        );
      }
    } else if (Date.now() - lastLine > 2000 || n >= events.length) {
      console.log(`- applied ${n}/${events.length} events`);
      lastLine = Date.now();
    }
  };
  await until(
    async () => {
      const n = (
        await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM clinical_events WHERE event_id LIKE $1', [
          prefix,
        ])
      ).rows[0].n;
      progress(n);
      last = n;
      return n;
    },
    (n) => n >= events.length,
    'all events to be applied',
  );
  if (process.stdout.isTTY) process.stdout.write('\n');

  // What a lab's interface engine does: pathology results over MLLP (HL7 v2) and FHIR, for two of the cohort's
  // patients: a coded result (AA), a report whose margin is not coded (AE: a data-quality review), a resend.
  const labPatients = cohort.slice(0, 2).map((p) => p.patientId);
  const oru = (controlId: string, mrn: string, margin: 'R0' | 'R1' | null) =>
    sarcomaOru({ controlId: `${run}-${controlId}`, mrn, reportId: `LAB-${run}-${controlId}`, margin });
  const mllp = await sendMllp(config.MLLP_PORT, [
    oru('1', labPatients[0], 'R1'),
    oru('2', labPatients[1], null),
    oru('1', labPatients[0], 'R1'),
  ]);
  const fhir = await fetch(`${base}/fhir`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${KEYS.integration}` },
    body: JSON.stringify(pathologyBundle({ mrn: labPatients[1], reportId: `FHIR-${run}`, margin: 'R0' })),
  });
  console.log(
    `- lab traffic: 3 HL7 v2 messages over MLLP answered ${mllp.map((ack) => /MSA\|(A[AER])/.exec(ack)?.[1]).join(', ')} ` +
      `(the third is a resend: a duplicate); a FHIR DiagnosticReport bundle answered ${fhir.status}`,
  );

  // What the worker's scheduled sweep does every SWEEP_EVERY_MS, once now: the cohort's dates are historical, so
  // plans are written up to a year from today, missed items are chased, and today's orders are opened.
  const pathwayConfig = DEFAULT_PATHWAY_CONFIG;
  const careTasks = new CareTaskStore(
    pool,
    config.ROUTING_RULES ? parseRoutingRules(config.ROUTING_RULES) : DEFAULT_ROUTING,
    pathwayConfig,
  );
  const sweep = await new SurveillanceSweeper(pool, pathwayConfig, careTasks, new NotificationStore(pool), {
    emailDigestAfter: config.EMAIL_DIGEST_AFTER,
  }).sweep(new Date());
  console.log(
    `- sweep: plans written ahead for ${sweep.horizonsExtended} patients, ${sweep.ordersOpened} imaging orders and visit reminders, ` +
      `${sweep.overdueOpened} overdue items chased (R-SURV-OVERDUE), ${sweep.escalations} escalations; ` +
      `${sweep.emailDigests} digest emails in place of ${sweep.emailsDigested} task emails (EMAIL_DIGEST_AFTER)`,
  );
  await until(
    async () =>
      (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM notifications WHERE status = 'pending' OR task_id IN
             (SELECT id FROM tasks WHERE assignee_id IS NULL AND status = 'requested')`,
        )
      ).rows[0].n,
    (n) => n === 0,
    'every task routed and every email written',
  );

  const patientIds = cohort.map((p) => p.patientId);
  console.log('\nPatients per pathway state:');
  table(
    (
      await pool.query(
        'SELECT pathway AS state, count(*)::int AS patients FROM patients WHERE patient_id = ANY($1) GROUP BY 1 ORDER BY 2 DESC',
        [patientIds],
      )
    ).rows,
  );
  console.log('\nTasks by type and rule (open = not completed or cancelled):');
  table(
    (
      await pool.query(
        `SELECT type, rule_id AS rule, priority, count(*)::int AS tasks,
                count(*) FILTER (WHERE status NOT IN ('completed', 'cancelled'))::int AS open
           FROM tasks WHERE patient_id = ANY($1) GROUP BY 1, 2, 3 ORDER BY 1, 2`,
        [patientIds],
      )
    ).rows,
  );
  console.log('\nWho has the open tasks (routed by type, the care team first, then the least-loaded navigator):');
  table(
    (
      await pool.query(
        `SELECT t.team_code AS team, m.role, count(*)::int AS open_tasks,
                count(*) FILTER (WHERE t.priority = 'urgent')::int AS urgent, count(*) FILTER (WHERE t.due_at < now())::int AS overdue
           FROM tasks t LEFT JOIN team_members m ON m.id = t.assignee_id
          WHERE t.patient_id = ANY($1) AND t.status IN ('requested', 'accepted', 'in-progress', 'on-hold')
          GROUP BY 1, 2 ORDER BY 1, 2`,
        [patientIds],
      )
    ).rows,
  );
  console.log('\nSurveillance items (done by a visit or scan in the cohort, planned, or cancelled by a new plan):');
  table(
    (
      await pool.query(
        `SELECT rule_id AS rule, status, count(*)::int AS items,
                count(*) FILTER (WHERE status = 'planned' AND overdue_at < now())::int AS overdue
           FROM surveillance_items WHERE patient_id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`,
        [patientIds],
      )
    ).rows,
  );
  console.log(
    `\nEmails (${config.SMTP_URL ? 'sent over SMTP' : `written as .eml files to ${config.MAIL_OUTBOX_DIR}/`}):`,
  );
  table(
    (
      await pool.query(
        // a digest is about many tasks (task_ids): counted once
        `SELECT n.kind, n.status, count(DISTINCT n.id)::int AS emails
           FROM notifications n JOIN tasks t ON t.id = n.task_id OR t.id = ANY(n.task_ids)
          WHERE t.patient_id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`,
        [patientIds],
      )
    ).rows,
  );
  console.log('\nEvent outcomes:');
  table(
    (
      await pool.query(
        `SELECT outcome, count(*)::int AS events FROM clinical_events WHERE event_id LIKE $1 GROUP BY 1 ORDER BY 1`,
        [prefix],
      )
    ).rows,
  );
  const letters = await fetch(`${base}/dead-letters?status=open`, as(KEYS.lead)).then(
    (r) =>
      r.json() as Promise<{
        items: { id: number; channel: string; eventId: string; errors: { field: string; reason: string }[] }[];
      }>,
  );
  console.log('\nDead letters of this run (invalid input kept for an operator):');
  table(
    letters.items
      .filter((l) => (l.eventId ?? '').startsWith(run))
      .map((l) => ({
        id: l.id,
        channel: l.channel,
        eventId: l.eventId,
        problem: l.errors.map((e) => `${e.field}: ${e.reason}`).join('; '),
      })),
  );
  // a patient of the demo navigator's team (sarcoma-north): keys read only their team's patients (docs/security.md)
  const northern = (p: (typeof cohort)[number]) =>
    p.events.some((e) => e.type === 'patient.registered' && e.payload.careTeam === 'sarcoma-north');
  const example =
    cohort.find((p) => p.scenario === 'local-recurrence' && northern(p)) ?? cohort.find(northern) ?? cohort[0];
  console.log(`\nOne patient (${example.scenario}): GET ${base}/patients/${example.patientId}/timeline`);
  const timeline = await fetch(`${base}/patients/${example.patientId}/timeline`, as(KEYS.navigator)).then(
    (r) =>
      r.json() as Promise<{
        events: {
          type: string;
          occurredAt: string;
          outcome: string;
          effects: { kind: string; ruleId: string; type?: string; to?: string }[];
        }[];
      }>,
  );
  for (const e of timeline.events) {
    const effects = e.effects
      .filter((x) => x.kind !== 'notify')
      .map((x) =>
        x.kind === 'transition'
          ? `→ ${x.to}`
          : x.kind === 'open-task'
            ? `task ${x.type} (${x.ruleId})`
            : `${x.kind} (${x.ruleId})`,
      );
    console.log(`  ${e.occurredAt.slice(0, 10)}  ${e.type.padEnd(22)} ${effects.join(', ')}`);
  }
  await pool.end();
  await queue.close();

  console.log(`\nThe service is running (demo keys in config/demo-teams.json; see the README):
  my worklist       curl -H 'Authorization: Bearer ${KEYS.navigator}' ${base}/worklist
  team worklist     curl -H 'Authorization: Bearer ${KEYS.lead}' '${base}/worklist?scope=team&priority=urgent'
  a patient         curl -H 'Authorization: Bearer ${KEYS.navigator}' ${base}/patients/${example.patientId}
  dead letters      curl -H 'Authorization: Bearer ${KEYS.lead}' ${base}/dead-letters
  emails            ${config.SMTP_URL ? config.SMTP_URL : `${config.MAIL_OUTBOX_DIR}/*.eml`}
  OpenAPI docs      ${base}/docs
  queues            ${base}/queues  (user: anything, password: demo-lead-key)
  metrics           curl -H 'Authorization: Bearer demo-admin-key' ${base}/metrics
  HL7 v2 (MLLP)     tcp://127.0.0.1:${config.MLLP_PORT}
  readiness         ${base}/health/ready`);
  if (EXIT) await stop(0);
  console.log('Press Ctrl-C to stop.');
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
}

main().catch(async (err: Error) => {
  console.error(`demo failed: ${err.message}`);
  await stop(1);
});
