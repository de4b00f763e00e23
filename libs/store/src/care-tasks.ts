import type { Pool, PoolClient } from 'pg';
import type { PathwayConfig, TaskType } from '@app/pathway';
import {
  dueEscalation,
  OPEN_TASK_STATUSES,
  planTaskAction,
  routeTask,
  type MemberRole,
  type RoutingMember,
  type RoutingRules,
  type TaskAction,
  type TaskActionInput,
  type TaskActor,
  type TaskStatus,
} from '@app/navigation';
import { alertJobs, type RecordedEffect } from './apply-clinical-event';
import { inTransaction } from './database';
import { enqueueDelivery, insertNotifications, type NewNotification } from './notifications';

/** A refused task action: the HTTP status and the server's message (nothing was changed). */
export class TaskActionRefused extends Error {
  constructor(
    readonly status: 403 | 404 | 409 | 422,
    message: string,
  ) {
    super(message);
  }
}

const OPEN_SQL = `(${OPEN_TASK_STATUSES.map((s) => `'${s}'`).join(', ')})`;

interface Member {
  id: string;
  teamCode: string;
  role: MemberRole;
  email: string;
  active: boolean;
  openTasks: number;
}

interface LockedTask {
  id: string;
  type: TaskType;
  priority: string;
  status: TaskStatus;
  held_from: TaskStatus | null;
  assignee_id: string | null;
  team_code: string | null;
  patient_id: string;
  surveillance_item_key: string | null;
  escalate: boolean;
  created_at: string;
  due_at: string;
  accepted_at: string | null;
  escalation_level: number;
}

/**
 * The navigator side of tasks: routing to a team and member, the lifecycle actions with their audit trail, and
 * escalation. Every change is one transaction over the locked task rows that also writes the history and the
 * notification rows; email goes out afterwards from those rows (NotificationStore), so nothing is told twice.
 */
export class CareTaskStore {
  constructor(
    private readonly pool: Pool,
    private readonly routing: RoutingRules,
    private readonly pathwayConfig: PathwayConfig,
  ) {}

  /**
   * Routes those of `taskIds` that are open and have nobody yet; returns the notification ids written (the new
   * assignee, and the team's navigator lead for an urgent task). Tasks another router holds are skipped.
   */
  async route(taskIds: string[], now: Date): Promise<string[]> {
    if (taskIds.length === 0) return [];
    return (await inTransaction(this.pool, (client) => this.routeInTransaction(client, taskIds, now))).notificationIds;
  }

  /**
   * For the sweeper: open tasks still unrouted from before `before` (their tasks-created job was lost, or nobody could
   * take them), a page at a time. `skip` passes over the ones an earlier page could not route, so tasks nobody can
   * take never hold up the ones behind them.
   */
  async routeUnrouted(
    now: Date,
    before: Date,
    limit: number,
    skip: number,
  ): Promise<{ candidates: number; routed: number }> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM tasks WHERE assignee_id IS NULL AND status = 'requested' AND created_at < $1
        ORDER BY created_at, id LIMIT $2 OFFSET $3`,
      [before.toISOString(), limit, skip],
    );
    if (rows.length === 0) return { candidates: 0, routed: 0 };
    return inTransaction(this.pool, async (client) => {
      const { routed, notificationIds } = await this.routeInTransaction(
        client,
        rows.map((r) => r.id),
        now,
      );
      await enqueueDelivery(client, notificationIds, 'sweep-routing', now);
      const ids = rows.map((r) => r.id);
      if (routed > 0) await this.alertAgain(client, ids, now);
      return { candidates: rows.length, routed };
    });
  }

  /**
   * A task nobody routed most likely lost its tasks-created job with Redis, and the alerts of its event (R-LR-ESCALATE
   * step 3, R-DM) went with it: they are asked for again, from the event log, under the same job ids (BullMQ ignores a
   * job it still has; an alert run again writes and sends nothing twice).
   */
  private async alertAgain(client: PoolClient, taskIds: string[], now: Date): Promise<void> {
    const { rows } = await client.query<{ event_id: string; correlation_id: string | null; effects: RecordedEffect[] }>(
      `SELECT e.event_id, e.correlation_id, e.effects FROM clinical_events e
        WHERE e.event_id IN (SELECT event_id FROM tasks WHERE id = ANY($1) AND assignee_id IS NOT NULL)
          AND e.effects @> '[{"kind": "notify"}]'`,
      [taskIds],
    );
    const jobs = rows.flatMap((r) => alertJobs(r.event_id, r.correlation_id ?? r.event_id, r.effects));
    if (jobs.length === 0) return;
    await client.query('INSERT INTO outbox (event_id, jobs, created_at) VALUES ($1, $2, $3)', [
      'sweep-alerts',
      JSON.stringify(jobs),
      now.toISOString(),
    ]);
  }

  /**
   * Routing inside the caller's transaction (the sweeper routes the tasks it opens in the same one). With
   * `holdEmails`, the emails of non-urgent tasks are written 'held' and not returned: the sweeper sends them, or a
   * digest of them, at the end of its pass (releaseHeldEmails in notifications.ts). An urgent task's emails go at once.
   */
  async routeInTransaction(
    client: PoolClient,
    taskIds: string[],
    now: Date,
    { holdEmails = false }: { holdEmails?: boolean } = {},
  ): Promise<{ routed: number; notificationIds: string[] }> {
    const none = { routed: 0, notificationIds: [] };
    const { rows: tasks } = await client.query<LockedTask & { care_team: string | null; rejected_by: string[] }>(
      `SELECT t.id, t.type, t.priority, t.status, t.patient_id, p.state ->> 'careTeam' AS care_team,
              ARRAY(SELECT h.actor FROM task_history h WHERE h.task_id = t.id AND h.action = 'reject') AS rejected_by
         FROM tasks t LEFT JOIN patients p ON p.patient_id = t.patient_id
        WHERE t.id = ANY($1) AND t.assignee_id IS NULL AND t.status = 'requested'
        ORDER BY t.id
        FOR UPDATE OF t SKIP LOCKED`,
      [taskIds],
    );
    if (tasks.length === 0) return none;
    const members = await this.members(client, [
      this.routing.fallbackTeam,
      ...tasks.flatMap((t) => [t.care_team, this.routing.byType[t.type]?.team ?? null]),
    ]);
    const teams = new Map<string, RoutingMember[]>();
    for (const m of members) teams.set(m.teamCode, [...(teams.get(m.teamCode) ?? []), m]);
    const notifications: NewNotification[] = [];
    const assignments: { id: string; team: string; assignee: string; via: string }[] = [];
    for (const task of tasks) {
      const decision = routeTask(
        { type: task.type, careTeam: task.care_team, exclude: task.rejected_by },
        teams,
        this.routing,
      );
      if (!decision) continue; // stays unrouted: the sweeper tries again, operators see it in GET /tasks
      const assignee = members.find((m) => m.id === decision.assigneeId)!;
      assignee.openTasks += 1;
      assignments.push({ id: task.id, team: decision.teamCode, assignee: assignee.id, via: decision.via });
      const assigned = notification('task-assigned', task.id, assignee, `assigned.${task.id}.${assignee.id}`);
      notifications.push(holdEmails && task.priority !== 'urgent' ? { ...assigned, held: true } : assigned);
      if (task.priority === 'urgent') {
        for (const lead of leadsOf(members, decision.teamCode, 'navigator-lead').filter((l) => l.id !== assignee.id))
          notifications.push(notification('task-assigned', task.id, lead, `assigned.${task.id}.${lead.id}`));
      }
    }
    if (assignments.length === 0) return none;
    await client.query(
      `UPDATE tasks SET team_code = a.team, assignee_id = a.assignee, updated_at = $2
         FROM jsonb_to_recordset($1) AS a(id uuid, team text, assignee uuid)
        WHERE tasks.id = a.id`,
      [JSON.stringify(assignments), now.toISOString()],
    );
    await client.query(
      `INSERT INTO task_history (task_id, at, actor, action, from_status, to_status, assignee_id, reason)
       SELECT a.id, $2, 'system', 'routed', 'requested', 'requested', a.assignee, 'to team ' || a.team || ' (' || a.via || ')'
         FROM jsonb_to_recordset($1) AS a(id uuid, team text, assignee uuid, via text)`,
      [JSON.stringify(assignments), now.toISOString()],
    );
    return { routed: assignments.length, notificationIds: await insertNotifications(client, notifications, now) };
  }

  /**
   * A navigator or lead acts on a task. Refusals (TaskActionRefused) change nothing. Completing a task that chases a
   * surveillance item marks the item done and completes its other tasks; a rejection routes the task again.
   */
  async act(
    taskId: string,
    action: TaskAction,
    actor: TaskActor,
    input: TaskActionInput,
    now: Date,
  ): Promise<{ notificationIds: string[] }> {
    return inTransaction(this.pool, async (client) => {
      const task = await this.lock(client, taskId);
      if (!task) throw new TaskActionRefused(404, `task ${taskId} not found`);
      const plan = planTaskAction(
        { status: task.status, heldFrom: task.held_from, assigneeId: task.assignee_id, teamCode: task.team_code },
        action,
        actor,
        input,
      );
      if (!plan.ok) throw new TaskActionRefused(plan.status, plan.message);
      const members = plan.newAssignee ? await this.members(client, [task.team_code]) : [];
      const newAssignee = plan.newAssignee ? members.find((m) => m.id === plan.assigneeId) : undefined;
      if (plan.newAssignee && (!newAssignee || !newAssignee.active || newAssignee.teamCode !== task.team_code))
        throw new TaskActionRefused(
          422,
          `assignee ${plan.assigneeId} is not an active member of team ${task.team_code}`,
        );

      const closes = plan.to === 'completed' || plan.to === 'cancelled';
      await client.query(
        `UPDATE tasks SET status = $2, assignee_id = $3, held_from = $4, updated_at = $5,
                accepted_at = CASE WHEN $6 THEN COALESCE(accepted_at, $5) ELSE accepted_at END,
                closed_at = CASE WHEN $7 THEN $5 ELSE NULL END
          WHERE id = $1`,
        [taskId, plan.to, plan.assigneeId, plan.heldFrom, now.toISOString(), plan.accepted, closes],
      );
      await this.history(
        client,
        taskId,
        now,
        actor.memberId ?? 'unknown',
        action,
        task.status,
        plan.to,
        plan.assigneeId,
        input.reason,
      );

      const notifications: NewNotification[] = [];
      if (newAssignee) {
        notifications.push(
          notification(
            'task-reassigned',
            taskId,
            newAssignee,
            `reassigned.${taskId}.${now.getTime()}.${newAssignee.id}`,
          ),
        );
      }
      if (plan.to === 'completed' && task.surveillance_item_key) {
        await this.fulfilItem(client, task, now, `task:${taskId}`);
      }
      let routed: string[] = [];
      if (plan.reroute) {
        // Rejected goes back to routing: requested again, for someone other than who rejected it.
        await client.query(`UPDATE tasks SET status = 'requested', assignee_id = NULL WHERE id = $1`, [taskId]);
        await this.history(client, taskId, now, 'system', 'back-to-routing', 'rejected', 'requested', null, null);
        routed = (await this.routeInTransaction(client, [taskId], now)).notificationIds;
      }
      const ids = [...(await insertNotifications(client, notifications, now)), ...routed];
      await enqueueDelivery(client, ids, `task:${taskId}`, now);
      return { notificationIds: ids };
    });
  }

  /** The item a completed order/overdue task chased is done; the item's other open tasks are completed with it. */
  private async fulfilItem(client: PoolClient, task: LockedTask, now: Date, by: string): Promise<void> {
    await client.query(
      `UPDATE surveillance_items SET status = 'done', done_at = $3, done_by = $4, updated_at = $3
        WHERE patient_id = $1 AND item_key = $2 AND status = 'planned'`,
      [task.patient_id, task.surveillance_item_key, now.toISOString(), by],
    );
    const { rows } = await client.query<{ id: string; status: TaskStatus }>(
      `UPDATE tasks t SET status = 'completed', closed_at = $3, updated_at = $3
         FROM tasks old
        WHERE t.id = old.id AND t.patient_id = $1 AND t.surveillance_item_key = $2 AND t.id <> $4
          AND t.status IN ${OPEN_SQL}
       RETURNING t.id, old.status`,
      [task.patient_id, task.surveillance_item_key, now.toISOString(), task.id],
    );
    for (const sibling of rows)
      await this.history(
        client,
        sibling.id,
        now,
        'system',
        'completed-with-item',
        sibling.status,
        'completed',
        null,
        `the surveillance item was done (${by})`,
      );
  }

  /**
   * Applies every escalation step of this task that is due at `now` (R-LR-ESCALATE step 5, R-SURV-OVERDUE), after
   * re-reading it: a timer that fires for a task already accepted, closed or escalated does nothing.
   */
  async escalate(taskId: string, now: Date): Promise<{ steps: number; notificationIds: string[] }> {
    return this.escalateMany([taskId], now);
  }

  /**
   * The escalation steps due at `now` for these tasks, in one transaction (the sweeper catching up after a gap has
   * many): the tasks locked in id order, the teams' members read once, and the notifications, levels and history
   * written with one statement each. A task closed, accepted or already escalated meanwhile gets no step.
   */
  async escalateMany(taskIds: string[], now: Date): Promise<{ steps: number; notificationIds: string[] }> {
    const ids = [...new Set(taskIds.filter((id) => /^[0-9a-f-]{36}$/i.test(id)))].sort();
    if (ids.length === 0) return { steps: 0, notificationIds: [] };
    return inTransaction(this.pool, async (client) => {
      const { rows: tasks } = await client.query<LockedTask>(
        `SELECT id, type, priority, status, held_from, assignee_id, team_code, patient_id, surveillance_item_key, escalate,
                created_at, due_at, accepted_at, escalation_level
           FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [ids],
      );
      const notifications: NewNotification[] = [];
      const levels: { id: string; level: number }[] = [];
      const history: { id: string; status: string; assignee: string | null; reason: string }[] = [];
      let members: Member[] | null = null;
      let steps = 0;
      for (const task of tasks) {
        let level = task.escalation_level;
        for (;;) {
          const step = dueEscalation(
            {
              type: task.type,
              status: task.status,
              escalate: task.escalate,
              createdAt: task.created_at,
              dueAt: task.due_at,
              acceptedAt: task.accepted_at,
              escalationLevel: level,
            },
            now,
            this.pathwayConfig,
          );
          if (!step) break;
          level = step.level;
          members ??= await this.members(client, [...tasks.map((t) => t.team_code), this.routing.fallbackTeam]);
          const team = task.team_code ?? this.routing.fallbackTeam;
          let leads = leadsOf(members, team, step.recipient);
          if (leads.length === 0) leads = leadsOf(members, this.routing.fallbackTeam, step.recipient);
          const assignee = members.find((m) => m.id === task.assignee_id);
          const detail = { level: step.recipient, afterHours: step.afterHours ?? null, ruleId: step.ruleId };
          const recipients = [...leads, ...(assignee && !leads.includes(assignee) ? [assignee] : [])];
          notifications.push(
            ...recipients.map((m) =>
              notification('task-escalated', task.id, m, `escalated.${task.id}.${step.level}.${m.id}`, detail),
            ),
          );
          history.push({
            id: task.id,
            status: task.status,
            assignee: task.assignee_id,
            reason: `${step.ruleId}: to the ${step.recipient}${leads.length ? '' : ' (none on file: nobody told)'}`,
          });
        }
        if (level !== task.escalation_level) {
          levels.push({ id: task.id, level });
          steps += level - task.escalation_level;
        }
      }
      if (levels.length === 0) return { steps: 0, notificationIds: [] };
      const notificationIds = await insertNotifications(client, notifications, now);
      await client.query(
        `UPDATE tasks t SET escalation_level = l.level, updated_at = $2
           FROM jsonb_to_recordset($1) AS l(id uuid, level int) WHERE t.id = l.id`,
        [JSON.stringify(levels), now.toISOString()],
      );
      // one row per step, in step order (the rows' serial ids follow the array's order)
      await client.query(
        `INSERT INTO task_history (task_id, at, actor, action, from_status, to_status, assignee_id, reason)
         SELECT h.id, $2, 'system', 'escalated', h.status, h.status, h.assignee, h.reason
           FROM jsonb_to_recordset($1) AS h(id uuid, status text, assignee uuid, reason text)`,
        [JSON.stringify(history), now.toISOString()],
      );
      return { steps, notificationIds };
    });
  }

  /** For the sweeper: tasks whose next escalation step may be due at `now`. */
  async escalationCandidates(now: Date, limit: number): Promise<string[]> {
    const { navigatorLeadAfterHours } = this.pathwayConfig.escalation;
    const { escalateAfterDays } = this.pathwayConfig.surveillanceOverdue;
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM tasks
        WHERE status IN ${OPEN_SQL} AND (escalate OR type = 'surveillance-overdue')
          AND ((escalate AND accepted_at IS NULL AND escalation_level < 2 AND created_at <= $1::timestamptz - make_interval(hours => $2))
               OR (type = 'surveillance-overdue' AND escalation_level = 0 AND due_at <= $1
                   AND created_at <= $1::timestamptz - make_interval(days => $4)))
        ORDER BY created_at LIMIT $3`,
      [now.toISOString(), navigatorLeadAfterHours, limit, escalateAfterDays],
    );
    return rows.map((r) => r.id);
  }

  /**
   * R-LR-ESCALATE step 3 and R-DM: an alert to the care team (every active member of the patient's care team, or
   * of the teams the tasks went to) or to the navigators who have the tasks. One email per person.
   */
  async alert(
    alertId: string,
    taskIds: string[],
    audience: 'care-navigator' | 'care-team',
    template: string,
    now: Date,
  ): Promise<string[]> {
    if (taskIds.length === 0) return [];
    // FOR SHARE waits for a router still holding these tasks, so the alert sees who has them.
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{
        id: string;
        assignee_id: string | null;
        team_code: string | null;
        care_team: string | null;
      }>(
        `SELECT t.id, t.assignee_id, t.team_code, p.state ->> 'careTeam' AS care_team
           FROM tasks t LEFT JOIN patients p ON p.patient_id = t.patient_id WHERE t.id = ANY($1) ORDER BY t.id
            FOR SHARE OF t`,
        [taskIds],
      );
      if (rows.length === 0) return [];
      const careTeam = rows[0].care_team;
      const members = await this.members(client, [careTeam, ...rows.map((r) => r.team_code)]);
      const recipients =
        audience === 'care-navigator'
          ? members.filter((m) => rows.some((r) => r.assignee_id === m.id))
          : members.filter((m) =>
              careTeam && members.some((x) => x.teamCode === careTeam)
                ? m.teamCode === careTeam
                : rows.some((r) => r.team_code === m.teamCode),
            );
      const unique = [...new Map(recipients.filter((m) => m.active).map((m) => [m.email, m])).values()];
      return insertNotifications(
        client,
        unique.map((m) =>
          notification('care-team-alert', rows[0].id, m, `alert.${alertId}.${m.id}`, { template, audience }),
        ),
        now,
      );
    });
  }

  private async lock(client: PoolClient, taskId: string): Promise<LockedTask | null> {
    if (!/^[0-9a-f-]{36}$/i.test(taskId)) return null;
    const { rows } = await client.query<LockedTask>(
      `SELECT id, type, priority, status, held_from, assignee_id, team_code, patient_id, surveillance_item_key, escalate,
              created_at, due_at, accepted_at, escalation_level
         FROM tasks WHERE id = $1 FOR UPDATE`,
      [taskId],
    );
    return rows[0] ?? null;
  }

  /**
   * The active members of these teams with their open-task counts (the routing load), as the tasks table's triggers
   * keep them (migration 007: the folded count plus the deltas since the sweeper's last fold), not counted from the
   * tasks themselves, which cost a scan of each member's open tasks on every decision.
   */
  private async members(client: PoolClient, teamCodes: (string | null)[]): Promise<Member[]> {
    const codes = [...new Set(teamCodes.filter((c): c is string => !!c))];
    if (codes.length === 0) return [];
    const { rows } = await client.query<Member>(
      `SELECT m.id, m.team_code AS "teamCode", m.role, m.email, m.active,
              (COALESCE((SELECT c.open_tasks FROM member_open_tasks c WHERE c.member_id = m.id), 0)
               + COALESCE((SELECT sum(d.delta) FROM member_open_task_deltas d WHERE d.member_id = m.id), 0))::int
                AS "openTasks"
         FROM team_members m WHERE m.active AND m.team_code = ANY($1) ORDER BY m.id`,
      [codes],
    );
    return rows;
  }

  private async history(
    client: PoolClient,
    taskId: string,
    at: Date,
    actor: string,
    action: string,
    from: string | null,
    to: string | null,
    assigneeId: string | null,
    reason: string | null | undefined,
  ): Promise<void> {
    await client.query(
      `INSERT INTO task_history (task_id, at, actor, action, from_status, to_status, assignee_id, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [taskId, at.toISOString(), actor, action, from, to, assigneeId, reason?.trim() || null],
    );
  }
}

function leadsOf(members: Member[], teamCode: string, role: MemberRole): Member[] {
  return members.filter((m) => m.teamCode === teamCode && m.role === role && m.active);
}

function notification(
  kind: NewNotification['kind'],
  taskId: string,
  member: Member,
  id: string,
  detail?: Record<string, unknown>,
): NewNotification {
  return { id, kind, taskId, memberId: member.id, email: member.email, ...(detail ? { detail } : {}) };
}
