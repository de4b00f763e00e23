import { Controller, Get, Inject, NotFoundException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { nextStep, type EscalationStep, type MemberRole, type TaskStatus } from '@app/navigation';
import type { Pathway } from '@app/pathway';
import { CLOCK, PATHWAY } from '@app/platform';
import { CareTeamStore, PathwayReadModels, type Clock, type EscalatingTaskView, type MemberLoad } from '@app/store';
import { CurrentCaller, type Caller } from '../access/caller';
import { Roles } from '../access/roles.decorator';

/** A colleague as the worklist page shows them: staff names and roles, never an email address. */
export interface Colleague {
  id: string;
  name: string;
  role: MemberRole;
  active: boolean;
}

export interface Me {
  role: Caller['role'];
  memberId: string;
  name: string;
  memberRole: MemberRole;
  team: { code: string; name: string };
  /** The team's members (leads first): who has a task, and whom a lead may give it to. */
  members: Colleague[];
}

export type EscalationInFlight = EscalatingTaskView & {
  /** The step still to come (to whom, when), or null when the chain has run its course. */
  nextEscalation: EscalationStep | null;
};

/**
 * The caller's own team, for the worklist page: who am I (sign-in), and for leads the team's load per member and
 * the escalations in flight. Navigator and lead keys are bound to one member of one team, and see only that team.
 */
@ApiTags('team')
@Controller()
export class MyTeamController {
  constructor(
    private readonly teams: CareTeamStore,
    private readonly readModels: PathwayReadModels,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PATHWAY) private readonly pathway: Pathway,
  ) {}

  @Get('me')
  @Roles('navigator', 'lead')
  @ApiOperation({ summary: "Who this key acts as: the member, their team and the team's members (no emails)" })
  async me(@CurrentCaller() caller: Caller): Promise<Me> {
    const team = caller.teamCode ? await this.teams.getTeam(caller.teamCode) : null;
    const me = team?.members.find((m) => m.id === caller.memberId);
    if (!team || !me) throw new NotFoundException('this key is not bound to a member of a team');
    return {
      role: caller.role,
      memberId: me.id,
      name: me.name,
      memberRole: me.role,
      team: { code: team.code, name: team.name },
      members: team.members.map(({ id, name, role, active }) => ({ id, name, role, active })),
    };
  }

  @Get('team/load')
  @Roles('lead')
  @ApiOperation({
    summary: "The lead's team: each member's open tasks (urgent, overdue, in progress, on hold, escalated)",
  })
  async load(@CurrentCaller() caller: Caller): Promise<{ members: MemberLoad[]; unassigned: number }> {
    return this.readModels.teamLoad(caller.teamCode ?? '', this.clock.now());
  }

  @Get('team/escalations')
  @Roles('lead')
  @ApiOperation({
    summary:
      "The lead's team: open tasks escalated (R-LR-ESCALATE 24 h / 48 h, R-SURV-OVERDUE) or whose escalation clock is running",
  })
  async escalations(@CurrentCaller() caller: Caller): Promise<{ items: EscalationInFlight[] }> {
    const tasks = await this.readModels.teamEscalations(caller.teamCode ?? '');
    const items = tasks
      .map((task) => ({
        ...task,
        nextEscalation: nextStep({ ...task, status: task.status as TaskStatus }, this.pathway.config),
      }))
      .filter((task) => task.escalationLevel > 0 || task.nextEscalation !== null);
    return { items };
  }
}
