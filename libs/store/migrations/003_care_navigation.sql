-- Care navigation: teams and their members, API keys bound to roles, task routing and lifecycle with an audit
-- trail, email notifications as durable rows, and surveillance items linked to the tasks that chase them.

CREATE TABLE care_teams (
  -- A code, as upstream systems name it in `careTeam` (e.g. SARC-NORTH), or a routing target (surgical-oncology).
  code       text        PRIMARY KEY,
  name       text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Staff, not patients: a member's name and work email are what routing and email need.
CREATE TABLE team_members (
  id         uuid        PRIMARY KEY,
  team_code  text        NOT NULL REFERENCES care_teams (code),
  name       text        NOT NULL,
  email      text        NOT NULL,
  -- navigator | coordinator (receive routed tasks), navigator-lead, clinical-lead (receive escalations)
  role       text        NOT NULL,
  active     boolean     NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (team_code, email)
);

-- Only the SHA-256 of a key is kept; the secret is shown once, when the key is created.
CREATE TABLE api_keys (
  id         uuid        PRIMARY KEY,
  key_hash   text        NOT NULL UNIQUE,
  -- the first characters of the secret, so an operator can tell keys apart
  prefix     text        NOT NULL,
  -- integration | navigator | lead | admin
  role       text        NOT NULL,
  -- navigators and leads act as a team member (their team is the one they see)
  member_id  uuid        REFERENCES team_members (id),
  label      text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

ALTER TABLE tasks
  ADD COLUMN team_code            text,
  ADD COLUMN assignee_id          uuid,
  ADD COLUMN accepted_at          timestamptz,
  -- the open status a task had before it was put on hold (resuming returns to it)
  ADD COLUMN held_from            text,
  -- 0 = none; 1 = navigator lead; 2 = clinical lead (R-LR-ESCALATE step 5, R-SURV-OVERDUE)
  ADD COLUMN escalation_level     integer NOT NULL DEFAULT 0,
  ADD COLUMN surveillance_item_key text;

-- The worklist: a team's (or a person's) open tasks by priority then due date.
CREATE INDEX tasks_open_team_idx ON tasks (team_code, due_at)
  WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold');
CREATE INDEX tasks_open_assignee_idx ON tasks (assignee_id, due_at)
  WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold');
-- The sweeper: open tasks not yet routed (a lost `tasks-created` job), and escalations that may be due.
CREATE INDEX tasks_unrouted_idx ON tasks (created_at) WHERE assignee_id IS NULL AND status = 'requested';
CREATE INDEX tasks_escalating_idx ON tasks (created_at)
  WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold') AND (escalate OR type = 'surveillance-overdue');

-- Every change of a task: who (a member id, an api key id, or 'system'), when, why.
CREATE TABLE task_history (
  id          bigserial   PRIMARY KEY,
  task_id     uuid        NOT NULL,
  at          timestamptz NOT NULL,
  actor       text        NOT NULL,
  action      text        NOT NULL,
  from_status text,
  to_status   text,
  assignee_id uuid,
  reason      text
);
CREATE INDEX task_history_task_idx ON task_history (task_id, id);

-- Emails to send, written before they are sent: the row's id is the notification id, so a retried job sends
-- nothing twice, and a lost job is found again by the sweeper (status 'pending').
CREATE TABLE notifications (
  id           text        PRIMARY KEY,
  kind         text        NOT NULL,
  task_id      uuid        NOT NULL,
  member_id    uuid        NOT NULL,
  email        text        NOT NULL,
  -- what the message says beyond the task's own facts: { template, level, afterHours } (codes, never patient data)
  detail       jsonb       NOT NULL DEFAULT '{}',
  -- pending | sent | failed (permanent failure: dead-lettered, shown to leads) | skipped (the task closed first)
  status       text        NOT NULL DEFAULT 'pending',
  attempts     integer     NOT NULL DEFAULT 0,
  last_error   text,
  created_at   timestamptz NOT NULL,
  sent_at      timestamptz
);
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'pending';
CREATE INDEX notifications_task_idx ON notifications (task_id);

-- Item status gains 'missed': overdue, with a later item of the same kind overdue too (the later one is chased).
ALTER TABLE surveillance_items
  ADD COLUMN done_at timestamptz,
  -- the event (imaging.reported, clinic.visited) or the task whose completion fulfilled the item
  ADD COLUMN done_by text,
  -- when the sweeper opened the item's order task (imaging-order / visit-reminder), and its overdue task
  ADD COLUMN ordered_at timestamptz,
  ADD COLUMN overdue_task_at timestamptz;
-- The sweeper's two questions: which planned items need their order now, which are past their window.
CREATE INDEX surveillance_items_to_order_idx ON surveillance_items (due_at)
  WHERE status = 'planned' AND ordered_at IS NULL;
CREATE INDEX surveillance_items_overdue_idx ON surveillance_items (overdue_at)
  WHERE status = 'planned' AND overdue_task_at IS NULL;
DROP INDEX surveillance_items_due_idx;

-- How far the sweeper has written a patient's plan in force beyond what its events wrote (the rolling horizon of
-- migration 001 moves on with time, not only with events). Keyed by the plan's anchor: a new plan starts afresh.
CREATE TABLE surveillance_horizons (
  patient_id      text        PRIMARY KEY,
  anchor_event_id text        NOT NULL,
  written_until   timestamptz NOT NULL
);

-- The event door learns one more effect: a visit or a scan fulfils the earliest planned item of its kind due by
-- a date, and completes the tasks chasing that item. Same statement, same guarantees as migration 002.
DROP FUNCTION apply_clinical_event(text, text, text, timestamptz, text, text, jsonb, text, integer, text, jsonb, jsonb,
  text, timestamptz, text, jsonb, jsonb, boolean, text[], text[], text[], text[], text[], timestamptz[], timestamptz[],
  jsonb, timestamptz);

CREATE FUNCTION apply_clinical_event(
  p_event_id text,
  p_patient_id text,
  p_type text,
  p_occurred_at timestamptz,
  p_source text,
  p_correlation_id text,
  p_envelope jsonb,
  p_applied_by text,
  p_read_version integer,
  p_outcome text,
  p_effects jsonb,
  p_state jsonb,
  p_pathway text,
  p_last_occurred_at timestamptz,
  p_last_event_id text,
  p_close_tasks jsonb,
  p_open_tasks jsonb,
  p_cancel_items boolean,
  p_item_keys text[],
  p_item_kinds text[],
  p_item_rule_ids text[],
  p_item_modalities text[],
  p_item_regions text[],
  p_item_due_at timestamptz[],
  p_item_overdue_at timestamptz[],
  p_outbox jsonb,
  p_now timestamptz,
  -- fulfil-surveillance: the item kind (NULL = none), when it was done, the latest due date it may fulfil
  p_fulfil_kind text,
  p_fulfil_done_at timestamptz,
  p_fulfil_due_by timestamptz
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
  v_rows integer;
  v_item text;
BEGIN
  INSERT INTO clinical_events (event_id, patient_id, type, occurred_at, source, correlation_id, envelope, applied_by,
                               outcome, effects, patient_version)
  VALUES (p_event_id, p_patient_id, p_type, p_occurred_at, p_source, p_correlation_id, p_envelope, p_applied_by,
          p_outcome, p_effects, p_read_version + 1)
  ON CONFLICT (event_id) DO NOTHING
  RETURNING seq INTO v_seq;
  IF v_seq IS NULL THEN
    RETURN NULL;
  END IF;

  IF p_read_version = 0 THEN
    INSERT INTO patients (patient_id, pathway, state, version, last_occurred_at, last_event_id, created_at, updated_at)
    VALUES (p_patient_id, p_pathway, p_state, 1, p_last_occurred_at, p_last_event_id, p_now, p_now)
    ON CONFLICT (patient_id) DO NOTHING;
  ELSE
    UPDATE patients
       SET state = p_state, pathway = p_pathway, version = p_read_version + 1, updated_at = p_now,
           last_occurred_at = p_last_occurred_at, last_event_id = p_last_event_id
     WHERE patient_id = p_patient_id AND version = p_read_version;
  END IF;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  IF v_rows = 0 THEN
    RAISE EXCEPTION 'patient state changed since it was read; re-read and re-decide' USING ERRCODE = '40001';
  END IF;

  IF jsonb_array_length(p_close_tasks) > 0 THEN
    UPDATE tasks SET status = c.outcome, closed_at = p_now, updated_at = p_now, closed_by_event_id = p_event_id
      FROM jsonb_to_recordset(p_close_tasks) AS c(type text, outcome text)
     WHERE tasks.patient_id = p_patient_id AND tasks.type = c.type
       AND tasks.status NOT IN ('completed', 'cancelled', 'rejected');
  END IF;

  IF jsonb_array_length(p_open_tasks) > 0 THEN
    INSERT INTO tasks (id, task_key, patient_id, event_id, type, rule_id, priority, due_at, reason, modality, region,
                       escalate, created_at, updated_at)
    SELECT t.id, t.task_key, p_patient_id, p_event_id, t.type, t.rule_id, t.priority, t.due_at, t.reason, t.modality,
           t.region, t.escalate, p_now, p_now
      FROM jsonb_to_recordset(p_open_tasks) AS t(id uuid, task_key text, type text, rule_id text, priority text,
                                                 due_at timestamptz, reason text, modality text, region text,
                                                 escalate boolean)
    ON CONFLICT (id) DO NOTHING;
  END IF;

  IF p_cancel_items THEN
    UPDATE surveillance_items SET status = 'cancelled', updated_at = p_now
     WHERE patient_id = p_patient_id AND status = 'planned';
    -- the old plan's order and overdue tasks go with it
    UPDATE tasks SET status = 'cancelled', closed_at = p_now, updated_at = p_now, closed_by_event_id = p_event_id
     WHERE patient_id = p_patient_id AND surveillance_item_key IS NOT NULL
       AND status NOT IN ('completed', 'cancelled', 'rejected');
  END IF;

  IF cardinality(p_item_keys) > 0 THEN
    INSERT INTO surveillance_items (patient_id, item_key, plan_event_id, kind, rule_id, modality, region, due_at,
                                    overdue_at, created_at, updated_at)
    SELECT p_patient_id, i.key, p_event_id, i.kind, i.rule_id, i.modality, i.region, i.due_at, i.overdue_at, p_now, p_now
      FROM unnest(p_item_keys, p_item_kinds, p_item_rule_ids, p_item_modalities, p_item_regions, p_item_due_at,
                  p_item_overdue_at) AS i(key, kind, rule_id, modality, region, due_at, overdue_at)
    ON CONFLICT (patient_id, item_key) DO NOTHING;
  END IF;

  IF p_fulfil_kind IS NOT NULL THEN
    UPDATE surveillance_items SET status = 'done', done_at = p_fulfil_done_at, done_by = p_event_id, updated_at = p_now
     WHERE patient_id = p_patient_id
       AND item_key = (SELECT item_key FROM surveillance_items
                        WHERE patient_id = p_patient_id AND kind = p_fulfil_kind AND status = 'planned'
                          AND due_at <= p_fulfil_due_by
                        ORDER BY due_at, item_key LIMIT 1)
    RETURNING item_key INTO v_item;
    IF v_item IS NOT NULL THEN
      UPDATE tasks SET status = 'completed', closed_at = p_now, updated_at = p_now, closed_by_event_id = p_event_id
       WHERE patient_id = p_patient_id AND surveillance_item_key = v_item
         AND status NOT IN ('completed', 'cancelled', 'rejected');
    END IF;
  END IF;

  IF jsonb_array_length(p_outbox) > 0 THEN
    INSERT INTO outbox (event_id, jobs, created_at) VALUES (p_event_id, p_outbox, p_now);
  END IF;

  RETURN v_seq;
END;
$$;
