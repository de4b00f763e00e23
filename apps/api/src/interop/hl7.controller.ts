import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  Query,
  ServiceUnavailableException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { InboundMessageStore, type InboundMessage } from '@app/store';
import { Roles } from '../access/roles.decorator';
import { SignedIntake } from '../security/request-signature';
import { Hl7Intake, IntakeUnavailableError } from './hl7-intake';

export const HL7_MEDIA_TYPES = ['x-application/hl7-v2+er7', 'application/hl7-v2', 'text/plain'];

export class InboundQueryDto {
  @ApiPropertyOptional({ description: 'only messages answered AE or AR' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  refused?: boolean;
  @ApiPropertyOptional({ default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

/** HL7 v2 over HTTP (the same intake as MLLP), and what was received, for leads. */
@ApiTags('interop')
@Controller('hl7/v2')
export class Hl7Controller {
  constructor(
    private readonly intake: Hl7Intake,
    private readonly inbound: InboundMessageStore,
  ) {}

  @Post()
  @HttpCode(200)
  @Roles('integration')
  @SignedIntake()
  @Header('content-type', 'x-application/hl7-v2+er7; charset=utf-8')
  @ApiConsumes(...HL7_MEDIA_TYPES)
  @ApiProduces('x-application/hl7-v2+er7')
  @ApiBody({ description: 'one HL7 v2 message (ORU^R01), segments separated by CR (LF tolerated)' })
  @ApiOperation({
    summary:
      'HL7 v2 ORU^R01 pathology result; answered with an HL7 ACK: AA (became events), AE (understood, not usable: the reason in MSA-3 and ERR), AR (unreadable or not taken). 503 when it could not be stored or queued: resend.',
  })
  async receive(@Body() body: unknown): Promise<string> {
    if (typeof body !== 'string' || body.length === 0)
      throw new UnsupportedMediaTypeException(`send the message as text with content-type ${HL7_MEDIA_TYPES[0]}`);
    try {
      return (await this.intake.receive(body, 'http')).ack;
    } catch (err) {
      if (err instanceof IntakeUnavailableError) throw new ServiceUnavailableException(err.message);
      throw err;
    }
  }

  @Get('messages')
  @Roles('lead')
  @ApiOperation({ summary: 'HL7 v2 and FHIR messages received, newest first, with the answer given and why' })
  async list(@Query() query: InboundQueryDto): Promise<{ items: InboundMessage[]; total: number }> {
    return this.inbound.list(query);
  }

  @Get('messages/:id')
  @Roles('lead')
  @ApiOperation({ summary: 'One message as received (raw), with its answer and the events it became' })
  async get(@Param('id', ParseIntPipe) id: number): Promise<InboundMessage> {
    const message = await this.inbound.get(id);
    if (!message) throw new NotFoundException(`no inbound message ${id}`);
    return message;
  }
}
