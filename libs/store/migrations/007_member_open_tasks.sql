-- Routing's load: how many open tasks each team member holds. Routing gives a task to the least-loaded member, and it
-- counted each candidate's open tasks in the tasks table on every decision: a cost that grows with the load itself.
-- After a 100,000-patient backfill (docs/performance.md) three members held 127,000-146,000 open tasks each, one
-- routing decision took 240 ms, and an email after a live event waited 6-10 s behind them.
--
-- The count is now kept by the tasks table's own triggers, so every path that opens, assigns, reassigns or closes a
-- task (the event door's SQL function, the batch door, routing, a navigator's action, the sweeper) is counted, in the
-- same transaction. The triggers only append deltas: an UPDATE of a shared counter row would make every transaction
-- that touches one member's tasks wait for the others (and deadlock when two touch two members in opposite orders).
-- A member's load is the folded count plus the deltas since; the sweeper folds the deltas in on each pass.

CREATE TABLE member_open_tasks (
  member_id  uuid PRIMARY KEY,
  open_tasks bigint NOT NULL
);

CREATE TABLE member_open_task_deltas (
  id        bigserial PRIMARY KEY,
  member_id uuid NOT NULL,
  delta     integer NOT NULL
);
CREATE INDEX member_open_task_deltas_member_idx ON member_open_task_deltas (member_id) INCLUDE (delta);

-- open: requested, accepted, in-progress, on-hold (OPEN_TASK_STATUSES in libs/navigation)
CREATE FUNCTION task_is_open(status text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT status IN ('requested', 'accepted', 'in-progress', 'on-hold') $$;

-- Rows inserted add to their assignee's count, rows deleted take from it: the one transition table, changed_tasks.
CREATE FUNCTION count_open_tasks_added_or_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO member_open_task_deltas (member_id, delta)
  SELECT assignee_id, CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END FROM changed_tasks
   WHERE assignee_id IS NOT NULL AND task_is_open(status)
   GROUP BY assignee_id;
  RETURN NULL;
END $$;

CREATE FUNCTION count_open_tasks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO member_open_task_deltas (member_id, delta)
  SELECT member_id, sum(delta) FROM (
    SELECT assignee_id AS member_id, 1 AS delta FROM new_tasks WHERE assignee_id IS NOT NULL AND task_is_open(status)
    UNION ALL
    SELECT assignee_id, -1 FROM old_tasks WHERE assignee_id IS NOT NULL AND task_is_open(status)
  ) changes
  GROUP BY member_id HAVING sum(delta) <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION count_open_tasks_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM member_open_task_deltas;
  DELETE FROM member_open_tasks;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_open_count_insert AFTER INSERT ON tasks
  REFERENCING NEW TABLE AS changed_tasks FOR EACH STATEMENT EXECUTE FUNCTION count_open_tasks_added_or_removed();
CREATE TRIGGER tasks_open_count_update AFTER UPDATE ON tasks
  REFERENCING OLD TABLE AS old_tasks NEW TABLE AS new_tasks FOR EACH STATEMENT EXECUTE FUNCTION count_open_tasks_updated();
CREATE TRIGGER tasks_open_count_delete AFTER DELETE ON tasks
  REFERENCING OLD TABLE AS changed_tasks FOR EACH STATEMENT EXECUTE FUNCTION count_open_tasks_added_or_removed();
CREATE TRIGGER tasks_open_count_truncate AFTER TRUNCATE ON tasks
  FOR EACH STATEMENT EXECUTE FUNCTION count_open_tasks_truncated();

-- Folds the deltas into the counts (the sweeper, each pass). Concurrent writers only append, so nothing waits; a
-- delta committed after this statement's snapshot stays for the next fold.
CREATE FUNCTION fold_member_open_tasks() RETURNS bigint LANGUAGE sql AS $$
  WITH moved AS (DELETE FROM member_open_task_deltas RETURNING member_id, delta),
       sums AS (SELECT member_id, sum(delta) AS delta FROM moved GROUP BY member_id),
       folded AS (
         INSERT INTO member_open_tasks AS c (member_id, open_tasks) SELECT member_id, delta FROM sums
         ON CONFLICT (member_id) DO UPDATE SET open_tasks = c.open_tasks + EXCLUDED.open_tasks)
  SELECT count(*) FROM moved
$$;

INSERT INTO member_open_tasks (member_id, open_tasks)
SELECT assignee_id, count(*) FROM tasks WHERE assignee_id IS NOT NULL AND task_is_open(status) GROUP BY assignee_id;
