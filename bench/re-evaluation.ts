/**
 * `npm run bench:re-evaluation`: a re-evaluation replays every stored event log through the pure pathway (a rule
 * changed: every patient's state is recomputed from its events) and writes the recomputed states back.
 *
 * 1. Replay, in memory, on one core: each patient's log folded with `pathway.evolve` in clinical order, as the
 *    event door rebuilds a state (libs/store/src/apply-clinical-event.ts). The logs are a synthetic cohort
 *    (libs/cohort), generated before the clock starts. Target: >= 200,000 events/s. For comparison, one pass with
 *    `pathway.step` (decide + evolve: what the worker runs per event), which also checks that both give the same
 *    states.
 * 2. The rewrite that would follow: each patient's recomputed state written back to a scratch database holding
 *    those patients, in batches of `UPDATE patients ... FROM unnest(...)`, optimistic on the version read (a
 *    patient who moved on meanwhile is left for the next pass). Reported in patients/s.
 *
 * Environment (full size / BENCH_SMALL=1):
 *   BENCH_PATIENTS (100000 / 2000)   patients in the cohort
 *   BENCH_EVENTS   (1000000 / 20000) events replayed: each patient's log up to the same depth (round-robin), so a
 *                                    log is the patient's record as stored at some date; 0 = every event
 *   BENCH_PASSES   (5 / 2)           replay passes (the first one warms the JIT up); the median is reported
 *   BENCH_SEED     (42)
 *   BENCH_BATCH    (2000)            patients per UPDATE statement
 *   BENCH_CONNECTIONS (2)            rewrite statements in flight (the machine has two cores)
 *   BENCH_REWRITE  (1)               0 skips the database part
 *   BENCH_PG_URL   (postgres://postgres@127.0.0.1:5432); scratch database sarcoma_bench_reevaluation (kept and
 *                                    reused; BENCH_REBUILD=1 drops it first)
 */
import { generateCohort } from '@app/cohort';
import type { ClinicalEvent } from '@app/contracts';
import { createPathway, type PatientState } from '@app/pathway';
import type { Pool } from 'pg';
import { count, flag, median, printResult, round, secondsSince, size, SMALL, timed } from './support/bench-env';
import { openScratchDatabase } from './support/scratch-database';

const PATIENTS = size('BENCH_PATIENTS', 100_000, 2_000);
const EVENTS = size('BENCH_EVENTS', 1_000_000, 20_000);
const PASSES = Math.max(1, size('BENCH_PASSES', 5, 2));
const SEED = size('BENCH_SEED', 42, 42);
const BATCH = Math.max(1, size('BENCH_BATCH', 2_000, 500));
const REWRITE = process.env.BENCH_REWRITE !== '0';
const CONNECTIONS = Math.max(1, size('BENCH_CONNECTIONS', 2, 2));
const DATABASE = 'sarcoma_bench_reevaluation';
const ID_PREFIX = 'reval';

interface Log {
  patientId: string;
  events: ClinicalEvent[];
}

/**
 * Each patient's log, cut to the same depth across patients until `events` are taken (round-robin: every
 * patient's first event, then every second, ...), so each log is a prefix in clinical order.
 */
function logs(patients: number, events: number, seed: number): Log[] {
  const cohort = generateCohort({ patients, seed, idPrefix: ID_PREFIX });
  const total = cohort.reduce((n, p) => n + p.events.length, 0);
  if (events === 0 || events >= total) return cohort.map((p) => ({ patientId: p.patientId, events: p.events }));
  const depth = new Array<number>(cohort.length).fill(0);
  let taken = 0;
  for (let round = 0; taken < events; round += 1) {
    for (let i = 0; i < cohort.length && taken < events; i += 1) {
      if (round < cohort[i].events.length) {
        depth[i] = round + 1;
        taken += 1;
      }
    }
  }
  return cohort.map((p, i) => ({ patientId: p.patientId, events: p.events.slice(0, depth[i]) }));
}

type Fold = (state: PatientState, event: ClinicalEvent) => PatientState;

/**
 * One replay pass: every log folded from the initial state. Wall-clock seconds, and the process's CPU seconds (this
 * machine is shared: when another process takes the core, wall time grows and CPU time does not; the garbage
 * collector's helper threads count in CPU time, so it can exceed the wall time on an idle machine).
 */
function replay(
  all: Log[],
  fold: Fold,
  initial: () => PatientState,
): { states: PatientState[]; seconds: number; cpuSeconds: number } {
  const states = new Array<PatientState>(all.length);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < all.length; i += 1) {
    let state = initial();
    for (const event of all[i].events) state = fold(state, event);
    states[i] = state;
  }
  const seconds = secondsSince(start);
  const used = process.cpuUsage(cpu);
  return { states, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

interface Rewrite {
  patients: number;
  updated: number;
  seconds: number;
  perSecond: number;
  statements: number;
  readSeconds: number;
}

// The states go as one JSON array (node-postgres escapes every element of a text[] parameter: sending 2,000 states
// as text[] cost ~300 ms of client CPU a statement, six times the statement itself), the rest as arrays.
const UPDATE = `
UPDATE patients p
   SET state = s.state, pathway = u.pathway, version = p.version + 1, updated_at = now(),
       last_occurred_at = u.last_occurred_at, last_event_id = u.last_event_id
  FROM unnest($1::text[], $3::text[], $4::int[], $5::timestamptz[], $6::text[]) WITH ORDINALITY
         AS u(patient_id, pathway, version, last_occurred_at, last_event_id, n)
  JOIN jsonb_array_elements($2::jsonb) WITH ORDINALITY AS s(state, n) USING (n)
 WHERE p.patient_id = u.patient_id AND p.version = u.version`;

/** The scratch database holds exactly these patients (inserted once, set-based; kept for the next run). */
async function ensurePatients(pool: Pool, all: Log[], states: PatientState[]): Promise<number> {
  const { rows } = await pool.query<{ n: number; ours: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE patient_id = ANY($1))::int AS ours FROM patients`,
    [[all[0].patientId, all[all.length - 1].patientId]],
  );
  if (rows[0].n === all.length && rows[0].ours === 2) return 0;
  const { seconds } = await timed(async () => {
    await pool.query('TRUNCATE patients');
    for (let from = 0; from < all.length; from += 5_000) {
      const slice = all.slice(from, from + 5_000);
      await pool.query(
        `INSERT INTO patients (patient_id, pathway, state, version, last_occurred_at, last_event_id)
         SELECT u.patient_id, u.pathway, s.state, 1, u.last_occurred_at, u.last_event_id
           FROM unnest($1::text[], $3::text[], $4::timestamptz[], $5::text[]) WITH ORDINALITY
                  AS u(patient_id, pathway, last_occurred_at, last_event_id, n)
           JOIN jsonb_array_elements($2::jsonb) WITH ORDINALITY AS s(state, n) USING (n)`,
        [
          slice.map((l) => l.patientId),
          JSON.stringify(states.slice(from, from + 5_000)),
          slice.map((_, i) => states[from + i].pathway),
          slice.map((l) => lastOf(l)?.occurredAt ?? null),
          slice.map((l) => lastOf(l)?.eventId ?? null),
        ],
      );
    }
    await pool.query('VACUUM ANALYZE patients');
  });
  return seconds;
}

/** The log is in clinical order: its last event is the patient's latest (the patient row keeps it). */
function lastOf(log: Log): ClinicalEvent | undefined {
  return log.events[log.events.length - 1];
}

/** The versions read (as a re-evaluation reads them with the logs), then the batched, version-checked rewrite. */
async function rewrite(pool: Pool, all: Log[], states: PatientState[]): Promise<Rewrite> {
  const read = await timed(async () => {
    const { rows } = await pool.query<{ patient_id: string; version: number }>(
      'SELECT patient_id, version FROM patients',
    );
    return new Map(rows.map((r) => [r.patient_id, r.version]));
  });
  const versions = read.result;
  let updated = 0;
  let statements = 0;
  let next = 0;
  const start = process.hrtime.bigint();
  // CONNECTIONS statements in flight: while PostgreSQL applies one batch, the next one is serialised.
  const writer = async () => {
    for (let from = next; from < all.length; from = next) {
      next += BATCH;
      await writeBatch(from);
    }
  };
  const writeBatch = async (from: number) => {
    const slice = all.slice(from, from + BATCH);
    const sliceStates = states.slice(from, from + BATCH);
    const last = slice.map(lastOf);
    const { rowCount } = await pool.query({
      name: 'reevaluation-rewrite',
      text: UPDATE,
      values: [
        slice.map((l) => l.patientId),
        JSON.stringify(sliceStates),
        sliceStates.map((s) => s.pathway),
        slice.map((l) => versions.get(l.patientId) ?? 0),
        last.map((e) => e?.occurredAt ?? null),
        last.map((e) => e?.eventId ?? null),
      ],
    });
    updated += rowCount ?? 0;
    statements += 1;
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, writer));
  const seconds = secondsSince(start);
  return {
    patients: all.length,
    updated,
    seconds,
    perSecond: all.length / seconds,
    statements,
    readSeconds: read.seconds,
  };
}

async function main(): Promise<void> {
  console.log(
    `re-evaluation benchmark${SMALL ? ' (small)' : ''}: ${count(PATIENTS)} patients, ${EVENTS ? count(EVENTS) : 'every'} events (seed ${SEED}); node ${process.version}`,
  );
  const generated = await timed(() => logs(PATIENTS, EVENTS, SEED));
  const all = generated.result;
  const events = all.reduce((n, l) => n + l.events.length, 0);
  const depth = all.reduce((n, l) => Math.max(n, l.events.length), 0);
  console.log(
    `cohort generated in ${generated.seconds.toFixed(1)} s (not timed): ${count(events)} events, ${count(all.length)} patients, up to ${depth} events a patient`,
  );

  const pathway = createPathway();
  console.log('\nreplay in memory (pathway.evolve, one core):');
  const passes: number[] = [];
  const cpuPasses: number[] = [];
  let states: PatientState[] = [];
  for (let pass = 1; pass <= PASSES; pass += 1) {
    const run = replay(all, pathway.evolve, pathway.initialState);
    states = run.states;
    passes.push(events / run.seconds);
    cpuPasses.push(events / run.cpuSeconds);
    console.log(
      `  pass ${pass}: ${count(events)} events in ${run.seconds.toFixed(2)} s = ${count(events / run.seconds)} events/s (${run.cpuSeconds.toFixed(2)} CPU s = ${count(events / run.cpuSeconds)} events per CPU s)`,
    );
  }
  const evolveRate = median(passes);
  const evolveCpuRate = median(cpuPasses);
  console.log(
    `  median ${count(evolveRate)} events/s, ${count(evolveCpuRate)} events per CPU second (target >= 200,000 events/s)`,
  );

  const stepped = replay(all, (s, e) => pathway.step(s, e).state, pathway.initialState);
  const stepRate = events / stepped.seconds;
  console.log(
    `  for comparison, pathway.step (decide + evolve): ${count(events)} events in ${stepped.seconds.toFixed(2)} s = ${count(stepRate)} events/s`,
  );
  const differing = states.filter((s, i) => JSON.stringify(s) !== JSON.stringify(stepped.states[i])).length;
  console.log(`  states from evolve and from step: ${differing === 0 ? 'identical' : `${differing} DIFFER`}`);
  const byPathway = new Map<string, number>();
  for (const s of states) byPathway.set(s.pathway, (byPathway.get(s.pathway) ?? 0) + 1);
  console.log(
    `  patients per pathway state: ${[...byPathway]
      .sort((a, b) => b[1] - a[1])
      .map(([p, n]) => `${p} ${count(n)}`)
      .join(', ')}`,
  );

  let written: Rewrite | null = null;
  if (REWRITE) {
    const { pool } = await openScratchDatabase(DATABASE, {
      fresh: flag('BENCH_REBUILD', 'rebuild'),
      poolSize: CONNECTIONS,
    });
    try {
      const populated = await ensurePatients(pool, all, states);
      if (populated > 0)
        console.log(
          `\nscratch database ${DATABASE}: ${count(all.length)} patients inserted in ${populated.toFixed(1)} s`,
        );
      await pool.query('VACUUM patients');
      written = await rewrite(pool, all, states);
      console.log(
        `\nrewrite into ${DATABASE} (UPDATE ... FROM unnest, ${BATCH} patients a statement, ${CONNECTIONS} connection${CONNECTIONS > 1 ? 's' : ''}):`,
      );
      console.log(`  versions read: ${count(all.length)} in ${written.readSeconds.toFixed(2)} s`);
      console.log(
        `  ${count(written.updated)} of ${count(written.patients)} patients written in ${written.seconds.toFixed(2)} s = ${count(written.perSecond)} patients/s (${written.statements} statements)`,
      );
    } finally {
      await pool.end();
    }
  }

  printResult('re-evaluation', {
    patients: all.length,
    events,
    passes: passes.map((r) => Math.round(r)),
    evolveEventsPerSecond: Math.round(evolveRate),
    evolveEventsPerCpuSecond: Math.round(evolveCpuRate),
    stepEventsPerSecond: Math.round(stepRate),
    statesIdentical: differing === 0,
    targetEventsPerSecond: 200_000,
    rewrite: written && {
      patients: written.patients,
      updated: written.updated,
      seconds: round(written.seconds, 2),
      patientsPerSecond: Math.round(written.perSecond),
      batch: BATCH,
      connections: CONNECTIONS,
    },
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
