import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { validateClinicalEvent } from '@app/contracts';
import { DeadLetterStore } from '@app/store';
import { ClinicalEventPublisher } from './clinical-event-publisher';
import { Roles } from '../access/roles.decorator';
import { SignedIntake } from '../security/request-signature';

@ApiTags('events')
@Roles('integration')
@Controller('events')
export class EventsController {
  constructor(
    private readonly publisher: ClinicalEventPublisher,
    private readonly deadLetters: DeadLetterStore,
  ) {}

  @Post()
  @HttpCode(202)
  @SignedIntake()
  @ApiOperation({ summary: 'Submit a clinical event (contract v1, see docs/events.md); same validation as the queue' })
  @ApiBody({ description: 'A v1 clinical event envelope', schema: { type: 'object' } })
  @ApiResponse({ status: 202, description: 'Accepted onto the clinical-events queue: { eventId, status: "accepted" }' })
  @ApiResponse({ status: 400, description: 'Invalid: { errors: [{ field, reason }], deadLetterId }' })
  @ApiResponse({ status: 413, description: 'The body is larger than 64 kB' })
  @ApiResponse({ status: 429, description: 'Intake rate limit for this key reached: retry after Retry-After seconds' })
  async submit(@Body() body: unknown): Promise<{ eventId: string; status: 'accepted' }> {
    const result = validateClinicalEvent(body);
    if (!result.ok) {
      const letter = await this.deadLetters.record('http', body, result.errors);
      throw new BadRequestException({
        message: 'invalid clinical event',
        errors: result.errors,
        deadLetterId: letter.id,
      });
    }
    await this.publisher.publish(result.event);
    return { eventId: result.event.eventId, status: 'accepted' };
  }
}
