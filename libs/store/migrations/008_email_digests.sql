-- Email digests (docs/navigation.md, "Many surveillance tasks at once"). A sweep can open many surveillance tasks at
-- once: the first sweep after a backfill opened 243,000 at 100,000 patients and emailed each one (256,472 emails,
-- docs/performance.md). The sweeper now holds back the emails of the non-urgent tasks it opens ('held'), and at the end of its pass sends a
-- member either those emails, when they are few, or one digest that lists the tasks, when they are more than
-- EMAIL_DIGEST_AFTER. A held email a crash left behind is sent (or digested) by the next pass.

-- A digest is about several tasks: task_ids lists them and task_id stays empty. Every other email is about one task.
ALTER TABLE notifications ALTER COLUMN task_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN task_ids uuid[];
ALTER TABLE notifications ADD CONSTRAINT notifications_about_tasks
  CHECK (CASE WHEN kind = 'task-digest' THEN task_id IS NULL AND task_ids IS NOT NULL ELSE task_id IS NOT NULL END);

-- status gains 'held' (waiting for the end of the sweep's pass) and 'digested' (sent as part of digest_id)
ALTER TABLE notifications ADD COLUMN digest_id text;
CREATE INDEX notifications_held_idx ON notifications (member_id) WHERE status = 'held';
