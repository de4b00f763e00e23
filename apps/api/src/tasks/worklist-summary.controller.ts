import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { TASK_PRIORITIES, TASK_TYPES } from '@app/pathway';
import { CLOCK } from '@app/platform';
import { PathwayReadModels, type Clock } from '@app/store';
import { CurrentCaller, type Caller } from '../access/caller';
import { Roles } from '../access/roles.decorator';

/** Matches no member (navigator and lead keys always have one). */
const NOBODY = '00000000-0000-0000-0000-000000000000';

/** "New since yesterday": created in the last 24 hours of the server's clock. */
export const NEW_WINDOW_MS = 24 * 3_600_000;

export class WorklistSummaryQueryDto {
  @ApiPropertyOptional({ enum: ['mine', 'team'], description: "mine: assigned to me; team: my team's open tasks" })
  @IsOptional()
  @IsIn(['mine', 'team'])
  scope?: 'mine' | 'team';
}

export interface WorklistSummaryView {
  scope: 'mine' | 'team';
  /** The server's clock: what "overdue" and "new" were measured against. */
  now: string;
  /** Tasks created at or after this are new (24 hours before now). */
  newSince: string;
  total: number;
  overdue: number;
  /** Created since `newSince`. */
  new: number;
  /** Every priority and type, zero included, in the contract's order. */
  byPriority: Record<string, number>;
  byType: Record<string, number>;
  /** Changes whenever this worklist would show something different: poll this, reload the list when it changes. */
  version: string;
}

/** The counts behind the worklist's filters, and the cheap "anything new?" the worklist page polls. */
@ApiTags('tasks')
@Controller()
export class WorklistSummaryController {
  constructor(
    private readonly readModels: PathwayReadModels,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('worklist/summary')
  @Roles('navigator', 'lead')
  @ApiOperation({
    summary:
      "Counts of my (scope=mine) or my team's (scope=team) open tasks: overdue, new in 24 h, per priority and type; " +
      'and a version that changes when the worklist does',
  })
  async summary(
    @Query() query: WorklistSummaryQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<WorklistSummaryView> {
    const scope = query.scope ?? 'mine';
    const now = this.clock.now();
    const newSince = new Date(now.getTime() - NEW_WINDOW_MS);
    const counts = await this.readModels.worklistSummary({
      ...(scope === 'mine' ? { assigneeId: caller.memberId ?? NOBODY } : { teamCode: caller.teamCode ?? '' }),
      now,
      newSince,
    });
    const every = (keys: readonly string[], found: Record<string, number>) =>
      Object.fromEntries(keys.map((key) => [key, found[key] ?? 0]));
    return {
      scope,
      now: now.toISOString(),
      newSince: newSince.toISOString(),
      total: counts.total,
      overdue: counts.overdue,
      new: counts.created,
      byPriority: every([...TASK_PRIORITIES].reverse(), counts.byPriority),
      byType: every(TASK_TYPES, counts.byType),
      version: counts.version,
    };
  }
}
