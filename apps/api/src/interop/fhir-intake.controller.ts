import { Body, Controller, Header, HttpCode, HttpException, Inject, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { eventsOf, pathologyFromBundle } from '@app/interop';
import { CLOCK } from '@app/platform';
import { InboundMessageStore, type Clock } from '@app/store';
import { Roles } from '../access/roles.decorator';
import { SignedIntake } from '../security/request-signature';
import { IntakeEvents, IntakeUnavailableError } from './intake-events';

export const FHIR_JSON = 'application/fhir+json';

/**
 * FHIR R4 pathology intake: a Bundle with a DiagnosticReport and its Observations becomes the same events as an
 * HL7 v2 result. Stored raw before it is answered; every answer is an OperationOutcome (200, with a
 * warning for a report that needs abstraction; 422 when nothing could be used; 503 when it was not queued).
 */
@ApiTags('interop')
@Controller('fhir')
export class FhirIntakeController {
  constructor(
    private readonly inbound: InboundMessageStore,
    private readonly events: IntakeEvents,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(200)
  @Roles('integration')
  @SignedIntake()
  @Header('content-type', `${FHIR_JSON}; charset=utf-8`)
  @ApiConsumes(FHIR_JSON, 'application/json')
  @ApiBody({ description: 'a FHIR R4 Bundle: DiagnosticReport, its Observations, the Patient (identifier type MR)' })
  @ApiOperation({ summary: 'FHIR R4 pathology result (Bundle) in; an OperationOutcome out' })
  async receive(@Body() body: unknown, @Req() request: { rawBody?: Buffer }): Promise<OperationOutcome> {
    // The bundle as sent (re-serialising the parsed body could not be done for every input: a deeply nested one
    // overflows JSON.stringify). JSON text holds no raw NUL, so PostgreSQL takes it as it is.
    const raw = request.rawBody ? request.rawBody.toString('utf8') : JSON.stringify(body ?? null);
    const inboundId = await this.inbound.receive('fhir', 'fhir+json', raw, this.clock.now()).catch(() => {
      throw outcome(503, [issue('error', 'transient', 'the message could not be stored; resend it')]);
    });
    const result = pathologyFromBundle(body, 'fhir');
    const { valid, problems } = this.events.check(eventsOf(result));
    const issues: OperationOutcomeIssue[] = [
      ...result.issues,
      ...problems.map((p) => issue('error', 'invalid', p)),
      ...result.outcomes
        .filter((o) => o.kind === 'needs-abstraction')
        .map((o) =>
          issue(
            'warning',
            'incomplete',
            `report ${(o.event.payload as { reportId: string }).reportId} needs manual abstraction: ${(o.kind === 'needs-abstraction' ? o.missing : []).join(', ')} not coded; kept, and a data-quality review is opened (R-PATH-ABSTRACTION)`,
          ),
        ),
    ];
    try {
      await this.events.publish(valid);
    } catch (err) {
      if (err instanceof IntakeUnavailableError) throw outcome(503, [issue('error', 'transient', err.message)]);
      throw err;
    }
    const refused = valid.length === 0;
    const code = refused ? 'AR' : issues.length > 0 ? 'AE' : 'AA';
    await this.inbound.answer(
      inboundId,
      {
        sender: null,
        controlId: null,
        messageType: 'Bundle',
        ackCode: code,
        // diagnostics can quote the sender's report number, NUL and all: PostgreSQL text cannot hold a NUL
        reason: issues.length > 0 ? storableText(issues.map((i) => i.diagnostics).join('; ')) : null,
        eventIds: valid.map((e) => e.eventId),
      },
      this.clock.now(),
    );
    if (refused) throw outcome(422, issues);
    return {
      resourceType: 'OperationOutcome',
      issue: [
        ...valid.map((e) => issue('information', 'informational', `accepted as event ${e.eventId} (${e.type})`)),
        ...issues,
      ],
    };
  }
}

function storableText(text: string): string {
  return text.replace(/\u0000/g, '\ufffd');
}

function issue(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
): OperationOutcomeIssue {
  return { severity, code, diagnostics };
}

function outcome(status: number, issues: OperationOutcomeIssue[]): HttpException {
  return new HttpException({ resourceType: 'OperationOutcome', issue: issues } satisfies OperationOutcome, status);
}
