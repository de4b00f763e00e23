-- Indexes for issue 5 (performance at scale), measured with bench/worklist.ts and bench/sweeper.ts at 100,000
-- patients and ~1,000,000 tasks (docs/performance.md).

-- The worklist: a member's or a team's open tasks in worklist order (urgent, high, routine; then due date), with the
-- columns its filters read (type, priority, due_at), so that a page's ids and the worklist's total come from the
-- index alone and only the page's fifty rows are read from the table. They replace migration 003's open-task
-- indexes, whose leading columns and predicate they keep (routing counts a member's open tasks with the same index).
-- The expression is the read model's PRIORITY_ORDER, to the character: the planner matches it as written.
DROP INDEX tasks_open_team_idx;
DROP INDEX tasks_open_assignee_idx;
CREATE INDEX tasks_worklist_team_idx
  ON tasks (team_code, (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END), due_at, id)
  INCLUDE (priority, type)
  WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold');
CREATE INDEX tasks_worklist_assignee_idx
  ON tasks (assignee_id, (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END), due_at, id)
  INCLUDE (priority, type)
  WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold');

-- The sweeper's overdue questions: which planned items are past their window. Migration 003's index answered only
-- "and have no overdue task yet"; recording an item as missed asks about every planned item past its window, and
-- scanned all of surveillance_items for it (1,400,000 rows at 100,000 patients, on every pass). Planned items past
-- their window are few (the not-yet-rebooked ones), so one index serves both questions.
DROP INDEX surveillance_items_overdue_idx;
CREATE INDEX surveillance_items_overdue_idx ON surveillance_items (overdue_at) WHERE status = 'planned';
