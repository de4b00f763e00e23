import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpException,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
} from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiKeyError,
  CareTeamError,
  CareTeamStore,
  type CareTeamSummary,
  type CareTeamWithMembers,
  type TeamMember,
} from '@app/store';
import { ApiKeyCache } from '../access/api-key.guard';
import { Roles } from '../access/roles.decorator';
import { AddMemberDto, CreateTeamDto, UpdateMemberDto } from './dto';

/** A store refusal (nothing changed) becomes its HTTP status with the store's message; anything else is a 500. */
export function asHttp(err: unknown): never {
  if (err instanceof CareTeamError || err instanceof ApiKeyError)
    throw new HttpException({ statusCode: err.status, message: err.message }, err.status);
  throw err;
}

@ApiTags('teams')
@Roles('admin')
@Controller()
export class TeamsController {
  constructor(
    private readonly teams: CareTeamStore,
    private readonly keyCache: ApiKeyCache,
  ) {}

  @Post('teams')
  @ApiOperation({ summary: 'Create a care team (code as upstream systems name it, or a routing target)' })
  @ApiConflictResponse({ description: 'A team with that code exists' })
  async create(@Body() body: CreateTeamDto): Promise<CareTeamWithMembers> {
    return this.teams.createTeam(body).catch(asHttp);
  }

  @Get('teams')
  @ApiOperation({ summary: 'Every care team, with its number of active members' })
  async list(): Promise<{ items: CareTeamSummary[] }> {
    return { items: await this.teams.listTeams() };
  }

  @Get('teams/:code')
  @ApiOperation({ summary: 'One care team with its members (leads first)' })
  @ApiNotFoundResponse({ description: 'No such team' })
  async get(@Param('code') code: string): Promise<CareTeamWithMembers> {
    const team = await this.teams.getTeam(code);
    if (!team) throw new NotFoundException(`no team '${code}'`);
    return team;
  }

  @Post('teams/:code/members')
  @ApiOperation({ summary: 'Add a member (navigator, coordinator, navigator-lead, clinical-lead) to a team' })
  @ApiNotFoundResponse({ description: 'No such team' })
  @ApiConflictResponse({ description: 'The team already has a member with that email' })
  async addMember(@Param('code') code: string, @Body() body: AddMemberDto): Promise<TeamMember> {
    return this.teams.addMember(code, body).catch(asHttp);
  }

  @Patch('members/:id')
  @ApiOperation({
    summary: 'Change a member: active, role, name, email. Deactivating one also stops the keys bound to it',
  })
  @ApiNotFoundResponse({ description: 'No such member' })
  @ApiConflictResponse({ description: 'The team already has a member with that email' })
  async updateMember(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: UpdateMemberDto): Promise<TeamMember> {
    if (Object.values(body).every((v) => v === undefined))
      throw new BadRequestException('nothing to change: send one or more of active, role, name, email');
    const member = await this.teams.updateMember(id, body).catch(asHttp);
    // An inactive member's keys, and a lead key whose member is no longer a lead, stop working now, not in 5 s.
    this.keyCache.clear();
    return member;
  }
}
