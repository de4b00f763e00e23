import {
  Inject,
  Injectable,
  NotFoundException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { textFormReason } from '@app/contracts';
import { PG_POOL } from '@app/platform';
import type { Caller, RequestWithCaller } from './caller';

/** What a refused or unknown patient is answered with: the same words, so the answer never says an id exists. */
export const NO_SUCH_PATIENT = 'no such patient';

/**
 * Whether a team may see a patient (docs/security.md, "Team scope"): the patient's care team (from registration) is
 * the team, or the team has or had a task of the patient, or the patient has a task nobody could route (which any
 * lead may pick up, as GET /tasks shows them). One indexed query.
 */
export async function teamMaySeePatient(pool: Pool, teamCode: string, patientId: string): Promise<boolean> {
  const { rows } = await pool.query<{ allowed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM patients WHERE patient_id = $1 AND state ->> 'careTeam' = $2)
         OR EXISTS (SELECT 1 FROM tasks WHERE patient_id = $1 AND (team_code = $2 OR team_code IS NULL)) AS allowed`,
    [patientId, teamCode],
  );
  return rows[0]?.allowed === true;
}

/**
 * Team scope for routes under /patients/:patientId. A key bound to a team member (navigator, lead) sees only the
 * patients of its team; any other patient, like an id that is not a patient at all, is 404 "no such patient", so a
 * key cannot learn which medical record numbers exist. Keys bound to no member (integration, admin) are not team
 * members: such routes refuse their roles before this runs. Runs after ApiKeyGuard (a global guard runs first).
 */
@Injectable()
export class PatientScopeGuard implements CanActivate {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithCaller & { params?: Record<string, unknown> }>();
    const patientId = request.params?.patientId;
    // Not an id the contract would ever have accepted (a NUL would even make PostgreSQL fail): nobody's patient.
    if (typeof patientId !== 'string' || patientId.length > 100 || textFormReason(patientId) !== undefined)
      throw new NotFoundException(NO_SUCH_PATIENT);
    const caller: Caller | undefined = request.caller;
    if (!caller?.memberId) return true;
    if (!caller.teamCode || !(await teamMaySeePatient(this.pool, caller.teamCode, patientId)))
      throw new NotFoundException(NO_SUCH_PATIENT);
    return true;
  }
}

/** On a controller or handler with a :patientId parameter: the caller's team must be one of the patient's. */
export const PatientScoped = (): ClassDecorator & MethodDecorator => UseGuards(PatientScopeGuard);
