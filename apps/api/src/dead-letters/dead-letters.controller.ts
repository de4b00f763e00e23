import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  Query,
  UnprocessableEntityException,
  ConflictException,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { validateClinicalEvent } from '@app/contracts';
import { CLOCK } from '@app/platform';
import { DeadLetterStore, NotificationStore, type Clock, type DeadLetter } from '@app/store';
import { ClinicalEventPublisher } from '../events/clinical-event-publisher';
import { Roles } from '../access/roles.decorator';

export class DeadLetterQueryDto {
  @ApiPropertyOptional({ enum: ['open', 'replayed'] }) @IsOptional() @IsIn(['open', 'replayed']) status?:
    'open' | 'replayed';
  @ApiPropertyOptional({ default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

@ApiTags('dead-letters')
@Roles('lead')
@Controller('dead-letters')
export class DeadLettersController {
  constructor(
    private readonly deadLetters: DeadLetterStore,
    private readonly publisher: ClinicalEventPublisher,
    private readonly notifications: NotificationStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Invalid or failed events, newest first, with payload, field and reason' })
  async list(@Query() query: DeadLetterQueryDto): Promise<{ items: DeadLetter[]; total: number }> {
    return this.deadLetters.list(query);
  }

  @Get(':id')
  async get(@Param('id', ParseIntPipe) id: number): Promise<DeadLetter> {
    const letter = await this.deadLetters.get(id);
    if (!letter) throw new NotFoundException('no such dead letter');
    return letter;
  }

  /**
   * Re-submits a dead letter through the normal door. With a body `{ event }`, the corrected event is
   * submitted instead of the stored payload (which is kept as it was, for audit).
   */
  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay a dead letter (optionally with a corrected event in the body as { event })' })
  @ApiBody({ required: false, schema: { type: 'object', properties: { event: { type: 'object' } } } })
  async replay(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { event?: unknown } | undefined,
  ): Promise<{ deadLetterId: number; eventId: string; status: 'accepted' }> {
    const letter = await this.deadLetters.get(id);
    if (!letter) throw new NotFoundException('no such dead letter');
    if (letter.status === 'replayed')
      throw new ConflictException(`already replayed as event ${letter.replayedEventId}`);
    if (letter.channel === 'email') return this.resendEmail(letter);
    const candidate = body && typeof body === 'object' && 'event' in body ? body.event : letter.payload;
    const result = validateClinicalEvent(candidate);
    if (!result.ok) {
      throw new UnprocessableEntityException({
        message: 'still invalid: send a corrected event as { event }',
        errors: result.errors,
      });
    }
    await this.publisher.republish(result.event);
    await this.deadLetters.markReplayed(id, result.event.eventId);
    return { deadLetterId: id, eventId: result.event.eventId, status: 'accepted' };
  }

  /** An email that failed for good (5xx, bad address): after the address is fixed, send it again, same id. */
  private async resendEmail(
    letter: DeadLetter,
  ): Promise<{ deadLetterId: number; eventId: string; status: 'accepted' }> {
    const notificationId = (letter.payload as { notificationId?: unknown } | null)?.notificationId;
    if (typeof notificationId !== 'string' || !(await this.notifications.resend(notificationId, this.clock.now())))
      throw new ConflictException('the email is no longer in a failed state');
    await this.deadLetters.markReplayed(letter.id, notificationId);
    return { deadLetterId: letter.id, eventId: notificationId, status: 'accepted' };
  }
}
