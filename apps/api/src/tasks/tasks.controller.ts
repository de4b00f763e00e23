import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { TASK_PRIORITIES, TASK_TYPES } from '@app/pathway';
import { PathwayReadModels, type TaskView } from '@app/store';

const TASK_STATUSES = [
  'requested',
  'accepted',
  'in-progress',
  'on-hold',
  'completed',
  'cancelled',
  'rejected',
] as const;

export class TaskQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) patientId?: string;
  @ApiPropertyOptional({ enum: TASK_TYPES }) @IsOptional() @IsIn(TASK_TYPES) type?: string;
  @ApiPropertyOptional({ enum: TASK_STATUSES }) @IsOptional() @IsIn(TASK_STATUSES) status?: string;
  @ApiPropertyOptional({ enum: TASK_PRIORITIES }) @IsOptional() @IsIn(TASK_PRIORITIES) priority?: string;
  @ApiPropertyOptional({ default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

@ApiTags('tasks')
@Controller('tasks')
export class TasksController {
  constructor(private readonly readModels: PathwayReadModels) {}

  @Get()
  @ApiOperation({ summary: 'Tasks, most urgent and soonest due first; filter by patient, type, status, priority' })
  async list(
    @Query() query: TaskQueryDto,
  ): Promise<{ items: TaskView[]; total: number; limit: number; offset: number }> {
    const page = await this.readModels.tasks(query);
    return { ...page, limit: query.limit, offset: query.offset };
  }
}
