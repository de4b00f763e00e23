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
  -- pending | sent | failed (permanent failure: dead-lettered, shown to leads)
  status       text        NOT NULL DEFAULT 'pending',
  attempts     integer     NOT NULL DEFAULT 0,
  last_error   text,
  created_at   timestamptz NOT NULL,
  sent_at      timestamptz
);
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'pending';
CREATE INDEX notifications_task_idx ON notifications (task_id);

ALTER TABLE surveillance_items
  ADD COLUMN done_at timestamptz,
  -- the event (imaging.reported, clinic.visited) or the task whose completion fulfilled the item
  ADD COLUMN done_by text;
CREATE INDEX surveillance_items_overdue_idx ON surveillance_items (overdue_at) WHERE status = 'planned';
