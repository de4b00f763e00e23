/**
 * A database at the scale of issue 5, for the worklist and sweeper benchmarks: 100,000 patients, their surveillance
 * plans (~10 items a patient written 12 months ahead, and the items already behind them), ~1,000,000 tasks routed to
 * the demo care teams' members (plus extra navigators), and an API key per navigator. Generating that through the real
 * queue would take hours, so it is written with set-based SQL (INSERT ... SELECT generate_series) in the real schema
 * (every migration applied), shaped as the service would have left it on a healthy day:
 *
 * - patients: 65 % in surveillance (plan started up to 3 years ago), 20 % closed, 8 % metastatic, 1.5 % after a
 *   local recurrence (intensified plan), the rest in treatment (awaiting surgery or pathology, re-excision review,
 *   adjuvant evaluation);
 * - surveillance items: the plan's items (the real schedule: offsets taken from `surveillancePlan`) up to each
 *   patient's horizon; the past ones done (2 % late: rebooked through a surveillance-overdue task), the next ones
 *   planned; each item's order opened 14 days before it is due, as the sweeper does;
 * - tasks: an order task per item ordered, an overdue task per late item, the pathway's own tasks (MDT reviews,
 *   re-excision reviews, radiotherapy evaluations, local recurrence and metastasis escalations, data-quality reviews);
 *   most completed or cancelled, a few tens of thousands open, a few per navigator overdue or urgent; escalation
 *   levels as the timers would have left them.
 *
 * The data is as of `lastSweepAt` (the sweeper's last pass); the benchmark's "now" is a little later (`gapHours`), so
 * a sweep at "now" finds what came due in between: items to order, items newly overdue, horizons to move on,
 * escalations. Everything is derived from hashes of ids: the same options give the same database.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { DEFAULT_PATHWAY_CONFIG, surveillancePlan } from '@app/pathway';
import { ApiKeyStore, loadCareTeamSeed, seedCareTeams } from '@app/store';
import { count, timed } from './bench-env';

export interface ScaleOptions {
  patients: number;
  /** Navigators added to the demo teams (the demo has one per team). */
  extraNavigators: number;
  /** The benchmark's "now" (ISO). */
  now: string;
  /** Hours between the sweeper's last pass (the data's date) and "now". */
  gapHours: number;
}

export interface Navigator {
  memberId: string;
  teamCode: string;
  secret: string;
}

/** Bumped when the data's shape changes: a database built by another version is rebuilt. */
const SHAPE_VERSION = 2;

const DEMO_TEAMS = join(__dirname, '..', '..', '..', 'config', 'demo-teams.json');
const DEMO_TEAMS_FROM_SOURCE = join(__dirname, '..', '..', 'config', 'demo-teams.json');

/** Extra navigators per team, in proportion to where the tasks go (the two care teams take the navigation work). */
const EXTRA_SHARE: [string, number][] = [
  ['sarcoma-north', 0.36],
  ['sarcoma-south', 0.36],
  ['navigators', 0.08],
  ['surgical-oncology', 0.06],
  ['tumour-board', 0.06],
  ['radiotherapy', 0.04],
  ['medical-oncology', 0.04],
];

function signature(options: ScaleOptions): string {
  return JSON.stringify({ shape: SHAPE_VERSION, ...options });
}

/** The signature the database was built with (null when it was not built, or not finished). */
async function builtWith(pool: Pool): Promise<string | null> {
  const { rows } = await pool.query<{ signature: string }>(
    `SELECT value AS signature FROM bench_scale_meta WHERE key = 'signature'`,
  );
  return rows[0]?.signature ?? null;
}

/** Builds the data unless the database already holds it (same options); `rebuild` forces it. */
export async function ensureScaleData(
  pool: Pool,
  options: ScaleOptions,
  rebuild: boolean,
): Promise<{ built: boolean; seconds: number }> {
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_scale_meta (key text PRIMARY KEY, value text NOT NULL)`);
  if (!rebuild && (await builtWith(pool)) === signature(options)) return { built: false, seconds: 0 };
  const { seconds } = await timed(() => build(pool, options));
  return { built: true, seconds };
}

/** The navigators (and the coordinator) with a key each: `bench-navigator-<email>`. */
export async function navigators(pool: Pool): Promise<Navigator[]> {
  const { rows } = await pool.query<{ memberId: string; teamCode: string; email: string }>(
    `SELECT id AS "memberId", team_code AS "teamCode", email FROM team_members
      WHERE active AND role IN ('navigator', 'coordinator') ORDER BY team_code, email`,
  );
  return rows.map((r) => ({ memberId: r.memberId, teamCode: r.teamCode, secret: `bench-navigator-${r.email}` }));
}

async function build(pool: Pool, options: ScaleOptions): Promise<void> {
  const client = await pool.connect();
  const step = async (what: string, sql: string, params: unknown[] = []) => {
    const { result, seconds } = await timed(() => client.query(sql, params));
    console.log(
      `  ${what}: ${result.rowCount === null ? '' : `${count(result.rowCount)} rows, `}${seconds.toFixed(1)} s`,
    );
  };
  try {
    console.log(`building the scale data (${count(options.patients)} patients; once, then reused):`);
    await client.query(`SET TimeZone = 'UTC'`);
    await client.query(
      `CREATE FUNCTION pg_temp.iso(timestamptz) RETURNS text IMMUTABLE LANGUAGE sql
         AS $$ SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$`,
    );
    // As loaded: no trigger or foreign key is in the way, and the tables are emptied with their sequences.
    await client.query(`DELETE FROM bench_scale_meta`);
    await client.query(
      `TRUNCATE patients, clinical_events, tasks, task_history, surveillance_items, surveillance_horizons, outbox,
                notifications, dead_letters, api_keys, team_members, care_teams RESTART IDENTITY`,
    );
    await seedTeams(pool, options.extraNavigators);

    // Parameters: the last sweep (the data's date) is $1 (the items also take "now" as $1 and the last sweep as $2).
    const now = new Date(options.now);
    const lastSweep = new Date(now.getTime() - options.gapHours * 3_600_000).toISOString();
    await client.query(`DROP TABLE IF EXISTS bench_p, bench_plan, bench_members`);
    await client.query(
      `CREATE UNLOGGED TABLE bench_plan (schedule text, kind text, rule_id text, modality text, region text, n int,
                                         due_months int, overdue_months int)`,
    );
    await client.query(
      `INSERT INTO bench_plan SELECT * FROM jsonb_to_recordset($1) AS t(schedule text, kind text, rule_id text,
         modality text, region text, n int, due_months int, overdue_months int)`,
      [JSON.stringify(planTemplate())],
    );
    await client.query(
      `CREATE UNLOGGED TABLE bench_members AS
       SELECT team_code, id, (row_number() OVER (PARTITION BY team_code ORDER BY email) - 1)::int AS idx,
              count(*) OVER (PARTITION BY team_code)::int AS size
         FROM team_members WHERE active AND role IN ('navigator', 'coordinator')`,
    );

    // One row per patient with the facts the rows below are derived from. h1..h4: independent uniforms in [0, 1).
    await step(
      'patients (facts)',
      `CREATE UNLOGGED TABLE bench_p AS
       WITH base AS (
         SELECT i, 'SCALE-MRN' || lpad(i::text, 7, '0') AS patient_id, 'scale-p' || i AS pfx,
                (hashint4(i) & 1048575) / 1048576.0 AS h1,
                (hashint4(i # 1431655765) & 1048575) / 1048576.0 AS h2,
                (hashint4(i # 858993459) & 1048575) / 1048576.0 AS h3,
                (hashint4(i # 252645135) & 1048575) / 1048576.0 AS h4,
                (hashint4(i # 2004318071) & 1048575) / 1048576.0 AS h5
           FROM generate_series(1, $2::int) AS i
       ), cat AS (
         SELECT *, CASE WHEN h1 < 0.67 THEN 'surveillance' WHEN h1 < 0.87 THEN 'closed' WHEN h1 < 0.95 THEN 'metastatic'
                        WHEN h1 < 0.955 THEN 'local-recurrence' WHEN h1 < 0.975 THEN 'awaiting-surgery'
                        WHEN h1 < 0.985 THEN 'awaiting-pathology' WHEN h1 < 0.99 THEN 're-excision-review'
                        ELSE 'adjuvant-evaluation' END AS pathway,
                   CASE WHEN h2 < 0.5 THEN 'sarcoma-north' ELSE 'sarcoma-south' END AS care_team,
                   CASE WHEN h3 < 0.7 THEN 'high-grade' ELSE 'low-grade' END AS schedule
           FROM base
       )
       SELECT *,
              -- the event that put the patient where they are: plan start (surveillance: up to 3 years ago), the
              -- recurrence (up to 40 days ago), metastasis (up to 3 years ago), or the treatment step (days ago)
              $1::timestamptz - CASE pathway
                WHEN 'surveillance' THEN make_interval(secs => 86400 + h4 * 3 * 365 * 86400)
                WHEN 'local-recurrence' THEN make_interval(secs => h4 * 40 * 86400)
                WHEN 'metastatic' THEN make_interval(secs => h4 * 3 * 365 * 86400)
                WHEN 'closed' THEN make_interval(secs => 30 * 86400 + h4 * 4 * 365 * 86400)
                ELSE make_interval(secs => h4 * 8 * 86400) END AS event_at,
              pathway IN ('surveillance', 'local-recurrence') AS has_plan
         FROM cat`,
      [lastSweep, options.patients],
    );
    await step(
      'patients (plans)',
      `ALTER TABLE bench_p ADD COLUMN anchor_event_id text, ADD COLUMN last_event_at timestamptz,
         ADD COLUMN materialized_until timestamptz, ADD COLUMN written_until timestamptz`,
    );
    // The latest event: within the last 4 months (visits and scans come every 3 months or so), not before the
    // plan's start. The plan is written 12 months past the later of start and latest event; the sweeper moves that on
    // with time, so at its last pass every horizon was 11-12 months ahead of it (it writes when < 11 months ahead).
    await step(
      'patients (horizons)',
      `UPDATE bench_p SET
         anchor_event_id = CASE WHEN has_plan THEN pfx || (CASE WHEN pathway = 'local-recurrence' THEN '-0020' ELSE '-0005' END) END,
         last_event_at = GREATEST(event_at, $1::timestamptz - make_interval(secs => h2 * 120 * 86400)),
         materialized_until = CASE WHEN has_plan
           THEN GREATEST(event_at, $1::timestamptz - make_interval(secs => h2 * 120 * 86400)) + interval '12 months' END,
         written_until = CASE WHEN has_plan
           THEN $1::timestamptz + interval '12 months' - make_interval(secs => h5 * 30 * 86400) END`,
      [lastSweep],
    );
    await client.query(
      `UPDATE bench_p SET written_until = NULL WHERE written_until IS NOT NULL AND written_until <= materialized_until`,
    );
    await client.query(`ALTER TABLE bench_p ADD PRIMARY KEY (patient_id)`);

    await step(
      'patients',
      `INSERT INTO patients (patient_id, pathway, state, version, last_occurred_at, last_event_id, created_at, updated_at)
       SELECT patient_id, pathway,
              jsonb_build_object(
                'pathway', pathway, 'registered', true, 'primarySite', 'thigh', 'careTeam', care_team,
                'reports', jsonb_build_object('RPT-' || patient_id || '-1', jsonb_build_object(
                  'reportId', 'RPT-' || patient_id || '-1', 'status', 'final', 'margin', 'R0',
                  'grade', CASE WHEN schedule = 'high-grade' THEN 3 ELSE 1 END, 'sizeCm', 6.5, 'depth', 'deep',
                  'histology', 'myxofibrosarcoma', 'closestMarginMm', 4, 'eventId', pfx || '-0003',
                  'reportedAt', pg_temp.iso(event_at - interval '60 days'), 'supersedes', '[]'::jsonb)),
                'currentReportId', 'RPT-' || patient_id || '-1', 'unplannedExcision', false, 'anyPositiveMargin', false,
                'reExcisionReview', CASE WHEN pathway = 're-excision-review' THEN 'margin' END,
                'radiotherapy', CASE WHEN pathway = 'adjuvant-evaluation' THEN 'evaluation' ELSE 'completed' END,
                'localRecurrences', CASE WHEN pathway = 'local-recurrence' THEN 1 ELSE 0 END,
                'surveillance', CASE WHEN has_plan THEN jsonb_build_object(
                  'anchorEventId', anchor_event_id, 'anchorAt', pg_temp.iso(event_at), 'schedule',
                  CASE WHEN pathway = 'local-recurrence' THEN 'high-grade' ELSE schedule END,
                  'ruleId', CASE WHEN pathway = 'local-recurrence' THEN 'R-LR-ESCALATE' ELSE 'R-SURV-START' END,
                  'materializedUntil', pg_temp.iso(materialized_until)) END,
                'lastOccurredAt', pg_temp.iso(last_event_at), 'eventCount', 12, 'unexpectedEventCount', 0),
              12, last_event_at, pfx || '-0012', event_at - interval '200 days', last_event_at
         FROM bench_p`,
    );
    await step(
      'surveillance horizons',
      `INSERT INTO surveillance_horizons (patient_id, anchor_event_id, written_until)
       SELECT patient_id, anchor_event_id, written_until FROM bench_p WHERE written_until IS NOT NULL`,
    );

    // Items up to each plan's horizon. An item is done in the two weeks before it is due (its order task completed),
    // or 2 % late: after its window closed and a surveillance-overdue task rebooked it; one not done by now is planned. Its order was opened 14 days before
    // it was due, if that was before the last sweep; its overdue task when its window closed, likewise.
    await step(
      'surveillance items',
      `INSERT INTO surveillance_items (patient_id, item_key, plan_event_id, kind, rule_id, modality, region, due_at,
                                       overdue_at, status, created_at, updated_at, done_at, done_by, ordered_at,
                                       overdue_task_at)
       SELECT patient_id, item_key, anchor_event_id, kind, rule_id, modality, region, due_at, overdue_at,
              CASE WHEN done_at <= $1::timestamptz THEN 'done' ELSE 'planned' END,
              created_at, GREATEST(created_at, LEAST(done_at, $1::timestamptz)),
              CASE WHEN done_at <= $1::timestamptz THEN done_at END,
              CASE WHEN done_at <= $1::timestamptz THEN CASE WHEN late THEN 'task:seed' ELSE 'event:seed' END END,
              CASE WHEN due_at - interval '14 days' <= $2::timestamptz THEN due_at - interval '14 days' END,
              CASE WHEN late AND overdue_at <= $2::timestamptz THEN overdue_at END
         FROM (
           SELECT p.patient_id, p.anchor_event_id || '.' || t.rule_id || '.' || t.n AS item_key, p.anchor_event_id,
                  t.kind, t.rule_id, t.modality, t.region,
                  p.event_at + make_interval(months => t.due_months) AS due_at,
                  p.event_at + make_interval(months => t.overdue_months) AS overdue_at,
                  p.event_at AS created_at, u < 0.02 AS late,
                  CASE WHEN u < 0.02
                    THEN p.event_at + make_interval(months => t.overdue_months) + make_interval(secs => 86400 + u * 50 * 14 * 86400)
                    ELSE p.event_at + make_interval(months => t.due_months)
                         + make_interval(secs => -13 * 86400 + (u - 0.02) / 0.98 * 14 * 86400)
                  END AS done_at
             FROM bench_p p
             JOIN bench_plan t ON t.schedule = CASE WHEN p.pathway = 'local-recurrence' THEN 'high-grade' ELSE p.schedule END
             CROSS JOIN LATERAL (SELECT (hashtext(p.anchor_event_id || t.rule_id || t.n) & 1048575) / 1048576.0 AS u) r
            WHERE p.has_plan
              AND p.event_at + make_interval(months => t.due_months) <= GREATEST(p.materialized_until, p.written_until)
         ) i`,
      [now.toISOString(), lastSweep],
    );

    // Tasks. Open ones: requested, accepted, in progress or on hold; each routed to a member of its team.
    await step(
      'tasks: orders (imaging-order, visit-reminder)',
      taskInsert(`
       SELECT si.patient_id, si.item_key || ':order', si.plan_event_id,
              CASE WHEN si.kind = 'clinic-visit' THEN 'visit-reminder' ELSE 'imaging-order' END, si.rule_id, 'routine',
              CASE WHEN si.status = 'done' THEN 'completed' END, si.due_at,
              CASE si.kind WHEN 'clinic-visit' THEN 'surveillance clinic visit due: book the visit'
                           WHEN 'chest-imaging' THEN 'surveillance chest imaging due: order the scan'
                           ELSE 'surveillance MRI of the primary site due: order the scan' END || ' (' || si.rule_id || ')',
              si.modality, si.region, false, si.ordered_at, si.done_at, 0, si.item_key, p.care_team
         FROM surveillance_items si JOIN bench_p p USING (patient_id)
        WHERE si.ordered_at IS NOT NULL`),
    );
    await step(
      'tasks: surveillance-overdue',
      taskInsert(`
       SELECT si.patient_id, si.item_key || ':surveillance-overdue', si.plan_event_id, 'surveillance-overdue',
              'R-SURV-OVERDUE', 'high', CASE WHEN si.status = 'done' THEN 'completed' END,
              si.overdue_at + interval '14 days',
              'surveillance item not done by the end of its window (' || si.rule_id || '): contact the patient to rebook (R-SURV-OVERDUE)',
              si.modality, si.region, false, si.overdue_task_at, si.done_at,
              CASE WHEN si.overdue_at + interval '14 days' <= LEAST(COALESCE(si.done_at, $1::timestamptz), $1::timestamptz)
                   THEN 1 ELSE 0 END,
              si.item_key, p.care_team
         FROM surveillance_items si JOIN bench_p p USING (patient_id)
        WHERE si.overdue_task_at IS NOT NULL`),
      [lastSweep],
    );
    // The pathway's tasks: every patient's diagnosis (MDT), some positive margins (re-excision review + MDT), some
    // radiotherapy evaluations, data-quality reviews, local recurrences (three urgent, escalating tasks) and
    // metastases (two urgent). Closed long ago, except where the patient is in that step now (recent).
    await step(
      "tasks: the pathway's own",
      taskInsert(`
       SELECT p.patient_id, p.pfx || '-' || s.event_no || ':' || s.type || COALESCE(':' || s.discriminator, ''),
              p.pfx || '-' || s.event_no, s.type, s.rule_id, s.priority,
              CASE WHEN s.open_when = p.pathway AND p.event_at > $1::timestamptz - make_interval(days => s.open_days) THEN NULL
                   WHEN p.pathway = 'closed' AND p.h2 < 0.3 THEN 'cancelled' ELSE 'completed' END,
              s.at + make_interval(days => s.due_days), s.reason || ' (' || s.rule_id || ')', s.modality, s.region,
              s.escalate, s.at, s.at + interval '5 days', 0, NULL, p.care_team
         FROM bench_p p
         CROSS JOIN LATERAL (VALUES
           ('0003', 'mdt-review', 'new', 'R-MDT-NEW', 'routine', 14, 'new sarcoma diagnosis: MDT (tumour board) review',
            NULL, NULL, false, NULL, 0, p.event_at - interval '150 days', true),
           ('0003', 're-excision-review', NULL, 'R-MARGIN-R1', 'high', 7, 'R1 margin: re-excision review',
            NULL, NULL, false, 're-excision-review', 12, CASE WHEN p.pathway = 're-excision-review' THEN p.event_at ELSE p.event_at - interval '150 days' END,
            p.pathway = 're-excision-review' OR p.h3 < 0.3),
           ('0003', 'mdt-review', 'margin', 'R-MARGIN-R1', 'high', 7, 'R1 margin: MDT review',
            NULL, NULL, false, 're-excision-review', 12, CASE WHEN p.pathway = 're-excision-review' THEN p.event_at ELSE p.event_at - interval '150 days' END,
            p.pathway = 're-excision-review' OR p.h3 < 0.3),
           ('0004', 'radiotherapy-evaluation', NULL, 'R-RT-EVAL', 'high', 14, 'high-risk tumour: adjuvant radiotherapy evaluation',
            NULL, NULL, false, 'adjuvant-evaluation', 12, CASE WHEN p.pathway = 'adjuvant-evaluation' THEN p.event_at ELSE p.event_at - interval '120 days' END,
            p.pathway = 'adjuvant-evaluation' OR (p.h3 >= 0.3 AND p.h3 < 0.6)),
           ('0002', 'data-quality-review', 'unexpected', 'R-UNEXPECTED', 'routine', 7, 'event recorded but it does not fit the pathway state: please review',
            NULL, NULL, false, 'data-quality', 0, p.event_at - interval '170 days', p.h4 < 0.08),
           ('0020', 'mdt-review', NULL, 'R-LR-ESCALATE', 'urgent', 2, 'local recurrence: urgent MDT review',
            NULL, NULL, true, 'local-recurrence', 3, p.event_at, p.pathway = 'local-recurrence'),
           ('0020', 'imaging-order', 'chest', 'R-LR-ESCALATE', 'urgent', 2, 'local recurrence: restaging chest CT',
            'CT', 'chest', true, 'local-recurrence', 3, p.event_at, p.pathway = 'local-recurrence'),
           ('0020', 'imaging-order', 'primary-site', 'R-LR-ESCALATE', 'urgent', 2, 'local recurrence: MRI of the primary site',
            'MRI', 'primary-site', true, 'local-recurrence', 3, p.event_at, p.pathway = 'local-recurrence'),
           ('0030', 'mdt-review', NULL, 'R-DM', 'urgent', 2, 'distant metastasis: urgent MDT review',
            NULL, NULL, false, 'metastatic', 5, p.event_at, p.pathway = 'metastatic'),
           ('0030', 'medical-oncology-referral', NULL, 'R-DM', 'urgent', 2, 'distant metastasis: medical-oncology referral',
            NULL, NULL, false, 'metastatic', 5, p.event_at, p.pathway = 'metastatic')
         ) AS s(event_no, type, discriminator, rule_id, priority, due_days, reason, modality, region, escalate, open_when,
                open_days, at, applies)
        WHERE s.applies`),
      [lastSweep],
    );
    // One open data-quality review in a hundred patients, raised in the last six days (due after seven).
    await step(
      'tasks: open data-quality reviews',
      taskInsert(`
       SELECT patient_id, pfx || '-0013:data-quality-review:unexpected', pfx || '-0013', 'data-quality-review',
              'R-UNEXPECTED', 'routine', NULL, at + interval '7 days',
              'event recorded but it does not fit the pathway state: please review (R-UNEXPECTED)', NULL, NULL, false,
              at, NULL::timestamptz, 0, NULL, care_team
         FROM (SELECT *, $1::timestamptz - make_interval(secs => h5 * 6 * 86400) AS at FROM bench_p
                WHERE h4 >= 0.5 AND h4 < 0.51 AND pathway <> 'closed') p`),
      [lastSweep],
    );

    await step(
      'tasks: escalation levels (as the timers left them)',
      `UPDATE tasks SET escalation_level = CASE WHEN created_at <= $1::timestamptz - interval '48 hours' THEN 2 ELSE 1 END
        WHERE escalate AND accepted_at IS NULL AND status IN ('requested', 'accepted', 'in-progress', 'on-hold')
          AND created_at <= $1::timestamptz - interval '24 hours'`,
      [lastSweep],
    );
    await step(
      'task history (routed)',
      `INSERT INTO task_history (task_id, at, actor, action, from_status, to_status, assignee_id, reason)
       SELECT id, created_at, 'system', 'routed', 'requested', 'requested', assignee_id, 'to team ' || team_code || ' (seed)'
         FROM tasks WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold')`,
    );
    await client.query(`DROP TABLE bench_p, bench_plan, bench_members`);
    await step('VACUUM ANALYZE', `VACUUM ANALYZE`);
    await client.query(`INSERT INTO bench_scale_meta VALUES ('signature', $1), ('now', $2), ('last_sweep', $3)`, [
      signature(options),
      options.now,
      lastSweep,
    ]);
  } finally {
    client.release();
  }
}

// Columns filled by the SELECTs above, in this order: patient, key, event, type, rule, priority, closed status (NULL:
// open), due, reason, modality, region, escalate, created, closed at, escalation level, item, care team. The id is the
// key's md5 as a uuid (the service uses a name-based SHA-1 uuid; any unique id does here); the status of an open task,
// its acceptance and its assignee (a member of the team its type goes to, the patient's care team for navigation
// work) are drawn from hashes of the key.
const taskInsert = (rows: string) => `
WITH seed_rows (patient_id, task_key, event_id, type, rule_id, priority, closed_status, due_at, reason, modality, region,
                escalate, created_at, closed_at_in, escalation_level, item_key, care_team) AS (${rows})
INSERT INTO tasks (id, task_key, patient_id, event_id, type, rule_id, priority, status, due_at, reason, modality, region,
                   escalate, created_at, updated_at, closed_at, team_code, assignee_id, accepted_at, held_from,
                   escalation_level, surveillance_item_key)
SELECT md5('sarcoma-pathway/task/' || x.task_key)::uuid, x.task_key, x.patient_id, x.event_id, x.type, x.rule_id,
       x.priority, x.status, x.due_at, x.reason, x.modality, x.region, x.escalate, x.created_at,
       COALESCE(x.closed_at, x.created_at), x.closed_at, m.team_code, m.id,
       CASE WHEN x.status <> 'requested' THEN x.created_at + make_interval(secs => 3600 + x.u * 20 * 3600) END,
       CASE WHEN x.status = 'on-hold' THEN 'accepted' END, x.escalation_level, x.item_key
  FROM (
    SELECT y.*, CASE WHEN y.closed_status IS NOT NULL THEN y.closed_status
                     WHEN y.u < 0.5 THEN 'requested' WHEN y.u < 0.85 THEN 'accepted'
                     WHEN y.u < 0.95 THEN 'in-progress' ELSE 'on-hold' END AS status,
           CASE WHEN y.closed_status IS NOT NULL THEN COALESCE(y.closed_at_in, y.created_at + interval '3 days') END AS closed_at,
           CASE y.type WHEN 're-excision-review' THEN 'surgical-oncology' WHEN 'mdt-review' THEN 'tumour-board'
                       WHEN 'radiotherapy-evaluation' THEN 'radiotherapy' ELSE y.care_team END AS team
      FROM (
        SELECT t.*, (hashtext(t.task_key) & 1048575) / 1048576.0 AS u, hashtext(t.task_key || '/member') & 2147483647 AS pick
          FROM seed_rows t
      ) y
  ) x
  JOIN bench_members m ON m.team_code = x.team AND m.idx = x.pick % m.size`;

/** Rows of each schedule's plan as month offsets from the anchor (the real schedule, from the pathway). */
function planTemplate() {
  const anchor = '2000-01-01T00:00:00.000Z';
  const months = (iso: string) => (Number(iso.slice(0, 4)) - 2000) * 12 + Number(iso.slice(5, 7)) - 1;
  return (['high-grade', 'low-grade'] as const).flatMap((schedule) =>
    surveillancePlan('a', anchor, schedule, 'R-SURV-START', DEFAULT_PATHWAY_CONFIG).items.map((item) => ({
      schedule,
      kind: item.kind,
      rule_id: item.ruleId,
      modality: item.modality ?? null,
      region: item.region ?? null,
      n: Number(item.key.split('.').pop()),
      due_months: months(item.dueAt),
      overdue_months: months(item.overdueAt),
    })),
  );
}

/** The demo teams and keys, `extra` navigators spread over the teams, and a key per navigator. */
async function seedTeams(pool: Pool, extra: number): Promise<void> {
  let seed;
  try {
    seed = loadCareTeamSeed(DEMO_TEAMS);
  } catch {
    seed = loadCareTeamSeed(DEMO_TEAMS_FROM_SOURCE);
  }
  await seedCareTeams(pool, seed);
  let added = 0;
  for (const [index, [team, share]] of EXTRA_SHARE.entries()) {
    const n = index === EXTRA_SHARE.length - 1 ? extra - added : Math.round(extra * share);
    for (let i = 1; i <= n; i += 1) {
      await pool.query(
        `INSERT INTO team_members (id, team_code, name, email, role) VALUES ($1, $2, $3, $4, 'navigator')`,
        [randomUUID(), team, `Bench Navigator ${team} ${i}`, `bench.${team}.${i}@hospital.example`],
      );
    }
    added += n;
  }
  const keys = new ApiKeyStore(pool);
  for (const n of await navigators(pool)) {
    await keys.ensureKey({ secret: n.secret, role: 'navigator', memberId: n.memberId, label: 'worklist benchmark' });
  }
}
