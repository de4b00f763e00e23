import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { PathwayReadModels, type PatientView, type TimelineEntry } from '@app/store';
import { PatientScoped } from '../access/patient-scope';
import { Roles } from '../access/roles.decorator';

@ApiTags('patients')
@Roles('navigator', 'lead')
@PatientScoped()
@Controller('patients')
export class PatientsController {
  constructor(private readonly readModels: PathwayReadModels) {}

  @Get(':patientId')
  @ApiOperation({ summary: 'Pathway state, risk profile, version, open tasks and surveillance plan of one patient' })
  async patient(@Param('patientId') patientId: string): Promise<PatientView> {
    const view = await this.readModels.patient(patientId);
    if (!view) throw new NotFoundException('no such patient');
    return view;
  }

  @Get(':patientId/timeline')
  @ApiOperation({
    summary:
      'Every event of the patient in clinical order (seq = arrival), with the effects it caused and their rule ids',
  })
  async timeline(@Param('patientId') patientId: string): Promise<{ patientId: string; events: TimelineEntry[] }> {
    const events = await this.readModels.timeline(patientId);
    if (!events) throw new NotFoundException('no such patient');
    return { patientId, events };
  }
}
