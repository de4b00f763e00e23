import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../access/roles.decorator';
import { RULE_VIEWS, type RuleView } from './rule-text';

/** The pathway's rule table (libs/pathway/src/rules.ts), so a navigator can read why a task exists. */
@ApiTags('tasks')
@Controller('rules')
export class RulesController {
  @Get()
  @Roles('navigator', 'lead')
  // The table changes only with a release: a browser may keep it for an hour.
  @Header('Cache-Control', 'private, max-age=3600')
  @ApiOperation({
    summary: 'The rule table: each rule id with what it says and its evidence, also in plain words (no patient data)',
  })
  list(): { items: readonly RuleView[] } {
    return { items: RULE_VIEWS };
  }
}
