-- The write half of the event door as one statement: the event-log row, the patient's new state (only if
-- nobody changed it since it was read: optimistic concurrency on `version`), tasks closed and opened,
-- surveillance items cancelled and planned, and outbox rows. One call is one atomic statement.
--
-- Returns the event's log position, or NULL when the event id is already in the log (a duplicate: nothing
-- is written). Raises SQLSTATE 40001 when the patient moved on since the read; the caller reads again and
-- re-decides. The message names no patient (logs carry no patient-identifying data).
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
  -- the new plan's items as parallel arrays (cheaper to send and read than a jsonb array of objects)
  p_item_keys text[],
  p_item_kinds text[],
  p_item_rule_ids text[],
  p_item_modalities text[],
  p_item_regions text[],
  p_item_due_at timestamptz[],
  p_item_overdue_at timestamptz[],
  p_outbox jsonb,
  p_now timestamptz
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
  v_rows integer;
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

  -- A new plan replaces the old one; cancelling first leaves the new items planned.
  IF p_cancel_items THEN
    UPDATE surveillance_items SET status = 'cancelled', updated_at = p_now
     WHERE patient_id = p_patient_id AND status = 'planned';
  END IF;

  IF cardinality(p_item_keys) > 0 THEN
    INSERT INTO surveillance_items (patient_id, item_key, plan_event_id, kind, rule_id, modality, region, due_at,
                                    overdue_at, created_at, updated_at)
    SELECT p_patient_id, i.key, p_event_id, i.kind, i.rule_id, i.modality, i.region, i.due_at, i.overdue_at, p_now, p_now
      FROM unnest(p_item_keys, p_item_kinds, p_item_rule_ids, p_item_modalities, p_item_regions, p_item_due_at,
                  p_item_overdue_at) AS i(key, kind, rule_id, modality, region, due_at, overdue_at)
    ON CONFLICT (patient_id, item_key) DO NOTHING;
  END IF;

  IF jsonb_array_length(p_outbox) > 0 THEN
    INSERT INTO outbox (event_id, jobs, created_at) VALUES (p_event_id, p_outbox, p_now);
  END IF;

  RETURN v_seq;
END;
$$;
