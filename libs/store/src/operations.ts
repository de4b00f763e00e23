import type { Pool } from 'pg';

/** The numbers an on-call operator watches, read in one round trip (each from an index). */
export interface OperationsSnapshot {
  outboxRows: number;
  /** Seconds since the oldest unrelayed outbox row was written (0 when empty). */
  outboxLagSeconds: number;
  deadLettersOpen: { channel: string; count: number }[];
  openTasks: { priority: string; count: number }[];
  unroutedTasks: number;
  overdueSurveillanceItems: number;
  notifications: { status: string; count: number }[];
  inboundRefused: number;
}

export class OperationsQueries {
  constructor(private readonly pool: Pool) {}

  async snapshot(now: Date): Promise<OperationsSnapshot> {
    const { rows } = await this.pool.query<OperationsSnapshot>(
      `SELECT
         (SELECT count(*)::int FROM outbox) AS "outboxRows",
         COALESCE((SELECT extract(epoch FROM $1::timestamptz - min(created_at))::float FROM outbox), 0) AS "outboxLagSeconds",
         (SELECT COALESCE(json_agg(json_build_object('channel', channel, 'count', n)), '[]')
            FROM (SELECT channel, count(*)::int AS n FROM dead_letters WHERE status = 'open' GROUP BY channel) d) AS "deadLettersOpen",
         (SELECT COALESCE(json_agg(json_build_object('priority', priority, 'count', n)), '[]')
            FROM (SELECT priority, count(*)::int AS n FROM tasks
                   WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold') GROUP BY priority) t) AS "openTasks",
         (SELECT count(*)::int FROM tasks WHERE assignee_id IS NULL AND status = 'requested') AS "unroutedTasks",
         (SELECT count(*)::int FROM surveillance_items WHERE status = 'planned' AND overdue_at < $1) AS "overdueSurveillanceItems",
         (SELECT COALESCE(json_agg(json_build_object('status', status, 'count', n)), '[]')
            FROM (SELECT status, count(*)::int AS n FROM notifications WHERE status IN ('pending', 'failed') GROUP BY status) s)
           AS "notifications",
         (SELECT count(*)::int FROM inbound_messages WHERE ack_code IN ('AE', 'AR')) AS "inboundRefused"`,
      [now.toISOString()],
    );
    return { ...rows[0], outboxLagSeconds: Math.max(0, Number(rows[0].outboxLagSeconds)) };
  }
}
