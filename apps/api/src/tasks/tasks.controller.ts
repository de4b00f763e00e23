import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { TASK_STATUSES, type TaskAction } from '@app/navigation';
import { TASK_PRIORITIES, TASK_TYPES } from '@app/pathway';
import { CLOCK } from '@app/platform';
import {
  CareTaskStore,
  PathwayReadModels,
  TaskActionRefused,
  type Clock,
  type TaskDetail,
  type TaskView,
  type WorklistRow,
} from '@app/store';
import { CurrentCaller, type Caller } from '../access/caller';
import { Roles } from '../access/roles.decorator';

const booleanQuery = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class WorklistQueryDto {
  @ApiPropertyOptional({ enum: ['mine', 'team'], description: "mine: assigned to me; team: my team's open tasks" })
  @IsOptional()
  @IsIn(['mine', 'team'])
  scope?: 'mine' | 'team';
  @ApiPropertyOptional({ enum: TASK_TYPES }) @IsOptional() @IsIn(TASK_TYPES) type?: string;
  @ApiPropertyOptional({ enum: TASK_PRIORITIES }) @IsOptional() @IsIn(TASK_PRIORITIES) priority?: string;
  @ApiPropertyOptional({ description: 'only tasks past their due date' })
  @IsOptional()
  @Transform(booleanQuery)
  @IsBoolean()
  overdue?: boolean;
  @ApiPropertyOptional({ description: 'only tasks due at or before this ISO 8601 date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  dueBefore?: string;
  @ApiPropertyOptional({ default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

export class TaskQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) patientId?: string;
  @ApiPropertyOptional({ enum: TASK_TYPES }) @IsOptional() @IsIn(TASK_TYPES) type?: string;
  @ApiPropertyOptional({ enum: TASK_STATUSES }) @IsOptional() @IsIn(TASK_STATUSES) status?: string;
  @ApiPropertyOptional({ enum: TASK_PRIORITIES }) @IsOptional() @IsIn(TASK_PRIORITIES) priority?: string;
  @ApiPropertyOptional({ default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

export class TaskActionDto {
  @ApiPropertyOptional({ description: 'why (required for hold, reject, cancel, reassign): kept in the audit trail' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class ReassignDto {
  @ApiProperty({ description: 'the team member who gets the task' }) @IsUUID() assigneeId!: string;
  @ApiProperty({ description: 'why: kept in the audit trail' }) @IsString() @MaxLength(500) reason!: string;
}

const ACTIONS: Exclude<TaskAction, 'reassign'>[] = [
  'accept',
  'start',
  'complete',
  'hold',
  'resume',
  'reject',
  'cancel',
];

/**
 * The navigator's work: the worklist, a task with its audit trail, and the lifecycle actions (FHIR Task status
 * codes; the server enforces the transitions: an illegal one is 409 and changes nothing).
 */
@ApiTags('tasks')
@Controller()
export class TasksController {
  constructor(
    private readonly readModels: PathwayReadModels,
    private readonly tasks: CareTaskStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('worklist')
  @Roles('navigator', 'lead')
  @ApiOperation({
    summary: "My open tasks (scope=mine, the default) or my team's (scope=team): urgent first, then by due date",
  })
  async worklist(
    @Query() query: WorklistQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<{ items: WorklistRow[]; total: number; limit: number; offset: number; scope: 'mine' | 'team' }> {
    const scope = query.scope ?? 'mine';
    const page = await this.readModels.worklist({
      ...(scope === 'mine' ? { assigneeId: caller.memberId ?? '' } : { teamCode: caller.teamCode ?? '' }),
      type: query.type,
      priority: query.priority,
      overdue: query.overdue,
      dueBefore: query.dueBefore,
      now: this.clock.now(),
      limit: query.limit,
      offset: query.offset,
    });
    return { ...page, limit: query.limit, offset: query.offset, scope };
  }

  @Get('tasks')
  @Roles('lead')
  @ApiOperation({
    summary:
      "Every task of the lead's team (any status) and any task nobody could route; filter by patient, type, status",
  })
  async list(
    @Query() query: TaskQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<{ items: TaskView[]; total: number; limit: number; offset: number }> {
    const page = await this.readModels.tasks({ ...query, teamCode: caller.teamCode ?? '' });
    return { ...page, limit: query.limit, offset: query.offset };
  }

  @Get('tasks/:id')
  @Roles('navigator', 'lead')
  @ApiOperation({ summary: 'One task: why it exists (rule id and reason), who has it, and every change (audit trail)' })
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentCaller() caller: Caller): Promise<TaskDetail> {
    const task = await this.readModels.task(id, this.clock.now());
    if (!task) throw new NotFoundException(`task ${id} not found`);
    if (task.teamCode !== null && task.teamCode !== caller.teamCode)
      throw new ForbiddenException(`task ${id} belongs to team ${task.teamCode}`);
    return task;
  }

  @Post('tasks/:id/reassign')
  @HttpCode(200)
  @Roles('lead')
  @ApiOperation({
    summary: 'A lead gives the task to another member of the team (the reason goes into the audit trail)',
  })
  async reassign(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ReassignDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TaskDetail> {
    return this.act(id, 'reassign', caller, body);
  }

  @Post('tasks/:id/:action')
  @HttpCode(200)
  @Roles('navigator', 'lead')
  @ApiParam({ name: 'action', enum: ACTIONS })
  @ApiOperation({
    summary:
      'accept | start | complete | hold | resume | reject | cancel (lead). requested → accepted → in-progress → completed; ' +
      'requested/accepted → rejected (routed to someone else); open → on-hold → back; open → cancelled',
  })
  async action(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('action') action: string,
    @Body() body: TaskActionDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TaskDetail> {
    if (!(ACTIONS as string[]).includes(action))
      throw new NotFoundException(`unknown task action '${action}'; one of: ${ACTIONS.join(', ')}, reassign`);
    return this.act(id, action as TaskAction, caller, body);
  }

  private async act(
    id: string,
    action: TaskAction,
    caller: Caller,
    input: { reason?: string; assigneeId?: string },
  ): Promise<TaskDetail> {
    try {
      await this.tasks.act(id, action, caller, input, this.clock.now());
    } catch (err) {
      if (err instanceof TaskActionRefused)
        throw new HttpException({ statusCode: err.status, message: err.message }, err.status);
      throw err;
    }
    return (await this.readModels.task(id, this.clock.now()))!;
  }
}
