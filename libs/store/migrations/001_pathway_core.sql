-- Pathway core: the system of record. One row per patient (state + version), the event log, tasks,
-- surveillance items, the transactional outbox and the dead-letter store.

CREATE TABLE patients (
  patient_id   text PRIMARY KEY,
  pathway      text        NOT NULL,
  state        jsonb       NOT NULL,
  version      integer     NOT NULL DEFAULT 0,
  -- The latest event in clinical order (occurred_at, event_id): an event that sorts before it arrived late.
  last_occurred_at timestamptz,
  last_event_id    text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
-- Updated with every event: no secondary index and room in each page, so the update stays HOT (in-page).
) WITH (fillfactor = 80);

-- The event log: every accepted event exactly once (invariant 1), with the effects it caused.
CREATE TABLE clinical_events (
  event_id        text        PRIMARY KEY,
  -- arrival order (not indexed: nothing looks events up by it)
  seq             bigserial   NOT NULL,
  patient_id      text        NOT NULL,
  type            text        NOT NULL,
  occurred_at     timestamptz NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  source          text        NOT NULL,
  correlation_id  text,
  envelope        jsonb       NOT NULL,
  -- 'applied' | 'unexpected' (kept, with a data-quality-review task: invariant 4)
  outcome         text,
  effects         jsonb,
  patient_version integer,
  -- which worker instance (host:pid) applied it: for operators following a problem across processes
  applied_by      text
);
CREATE INDEX clinical_events_patient_idx ON clinical_events (patient_id, occurred_at);

CREATE TABLE tasks (
  -- derived from task_key (a name-based UUID), so the key's uniqueness is the primary key's
  id                 uuid        PRIMARY KEY,
  task_key           text        NOT NULL,
  patient_id         text        NOT NULL,
  event_id           text        NOT NULL,
  type               text        NOT NULL,
  rule_id            text        NOT NULL,
  priority           text        NOT NULL,
  -- FHIR Task status codes
  status             text        NOT NULL DEFAULT 'requested',
  due_at             timestamptz NOT NULL,
  reason             text        NOT NULL,
  modality           text,
  region             text,
  escalate           boolean     NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  closed_at          timestamptz,
  closed_by_event_id text
);
CREATE INDEX tasks_patient_idx ON tasks (patient_id);

CREATE TABLE surveillance_items (
  patient_id    text        NOT NULL,
  item_key      text        NOT NULL,
  plan_event_id text        NOT NULL,
  kind          text        NOT NULL,
  rule_id       text        NOT NULL,
  modality      text,
  region        text,
  due_at        timestamptz NOT NULL,
  overdue_at    timestamptz NOT NULL,
  -- 'planned' | 'done' | 'cancelled'
  status        text        NOT NULL DEFAULT 'planned',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- item keys are unique on their own (they carry the plan's event id); leading with the patient lets the
  -- same index serve "this patient's plan" (a plan is ~55 rows: every index costs on the hot path)
  PRIMARY KEY (patient_id, item_key)
);
CREATE INDEX surveillance_items_due_idx ON surveillance_items (due_at) WHERE status = 'planned';

-- Transactional outbox: one row per event that has jobs to publish (notifications, timers), written with the
-- state, relayed to BullMQ with each job's deterministic id (it names the event or task it came from), then
-- deleted. Only the primary key: every index and row here is paid for by every event that opens a task.
CREATE TABLE outbox (
  id         bigserial   PRIMARY KEY,
  event_id   text        NOT NULL,
  -- [{ queue, name, jobId, data, deliverAt }]
  jobs       jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Invalid input (invariant 5): kept with its payload, the fields and reasons, listed and replayable.
CREATE TABLE dead_letters (
  id          bigserial   PRIMARY KEY,
  dedupe_key  text        NOT NULL UNIQUE,
  channel     text        NOT NULL,
  event_id    text,
  event_type  text,
  payload     jsonb       NOT NULL,
  errors      jsonb       NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  status      text        NOT NULL DEFAULT 'open',
  replayed_at timestamptz,
  replayed_event_id text
);
CREATE INDEX dead_letters_open_idx ON dead_letters (id) WHERE status = 'open';
