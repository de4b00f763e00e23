import {
  Catch,
  Controller,
  ForbiddenException,
  Get,
  Header,
  HttpException,
  Inject,
  Logger,
  Param,
  Query,
  UseFilters,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Bundle, OperationOutcome, OperationOutcomeIssue, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { ServiceConfig } from '@app/config';
import { SERVICE_CONFIG } from '@app/platform';
import { FhirTaskQueries, type FhirTaskSearch, type TaskView } from '@app/store';
import {
  SERVICE_REQUEST_STATUS_TO_TASK,
  TASK_STATUS_CODES,
  operationOutcome,
  parseDateSearch,
  toFhirServiceRequest,
  toFhirTask,
  toSearchBundle,
} from '@app/interop';
import { CurrentCaller, type Caller } from '../access/caller';
import { Roles } from '../access/roles.decorator';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const DEFAULT_COUNT = 50;
const MAX_COUNT = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `_format` values that mean JSON (`+` arrives as a space when the client did not encode it). */
const JSON_FORMATS = ['json', 'application/json', 'application/fhir+json', 'application/fhir json'];

const ISSUE_CODE: Record<number, OperationOutcomeIssue['code']> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  406: 'not-supported',
  409: 'conflict',
  429: 'throttled',
  503: 'transient',
};

/** A FHIR error: an OperationOutcome with its HTTP status. */
class FhirError extends HttpException {
  constructor(status: number, code: OperationOutcomeIssue['code'], diagnostics: string) {
    super(operationOutcome('error', code, diagnostics), status);
  }
}

/**
 * Every error of these routes as an OperationOutcome (`application/fhir+json`), the guard's 401/403 included, so a
 * FHIR client never has to parse a second error format.
 */
@Catch()
export class FhirErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('FhirTasks');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{
      status(code: number): unknown;
      setHeader(name: string, value: string): unknown;
      send(body: string): unknown;
    }>();
    let status = 500;
    let body: OperationOutcome;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const answer = exception.getResponse();
      body =
        typeof answer === 'object' && (answer as { resourceType?: string }).resourceType === 'OperationOutcome'
          ? (answer as OperationOutcome)
          : operationOutcome(
              'error',
              ISSUE_CODE[status] ?? (status >= 500 ? 'exception' : 'processing'),
              message(answer),
            );
    } else {
      // The error's message may quote a query value (a patient id): the log gets its kind only.
      const err = exception as { name?: string; code?: string };
      this.logger.error(`FHIR task read failed: ${err?.name ?? 'error'}${err?.code ? ` (${err.code})` : ''}`);
      body = operationOutcome('error', 'exception', 'internal error');
    }
    res.status(status);
    res.setHeader('content-type', FHIR_JSON);
    res.send(JSON.stringify(body));
  }
}

function message(answer: string | object): string {
  if (typeof answer === 'string') return answer;
  const m = (answer as { message?: unknown }).message;
  return Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : 'error';
}

type RawQuery = Record<string, unknown>;

const TASK_PARAMS = ['owner', 'status', 'patient', '_lastUpdated', '_count', '_offset', '_format'];
const SERVICE_REQUEST_PARAMS = ['status', 'patient', '_lastUpdated', '_count', '_offset', '_format'];

/** A search, read from the query string: what to ask the store, the page, and the normalised query for links. */
interface ParsedSearch {
  search: FhirTaskSearch;
  /** A criterion nothing can match (an owner that is not one of our ids): the answer is empty without a query. */
  matchesNothing: boolean;
  links: [string, string][];
}

/**
 * Our tasks as FHIR R4, read-only, for downstream systems: `Task` (every task) and `ServiceRequest` (imaging orders,
 * same id as their Task). Integration keys see every task; navigator and lead keys see their team's tasks and the
 * ones nobody could route, as on GET /tasks/{id}. Mappings: libs/interop/src/fhir/task-resources.ts.
 */
@ApiTags('fhir')
@Roles('integration', 'navigator', 'lead')
@UseFilters(FhirErrorFilter)
@ApiProduces('application/fhir+json')
@Controller('fhir')
export class FhirTasksController {
  private readonly base: string;

  constructor(
    private readonly queries: FhirTaskQueries,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.base = `${config.PUBLIC_BASE_URL.replace(/\/+$/, '')}/fhir`;
  }

  @Get('Task')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({
    summary:
      'Search tasks as FHIR R4 Task (searchset Bundle, ordered by last update). priority: routine→routine, ' +
      'high→urgent, urgent→asap; owner: Practitioner/<member id>, or the team (logical Organization) when unassigned; ' +
      'focus: ServiceRequest/<id> for imaging orders, else the clinical event; reasonCode: the pathway rule id',
  })
  @ApiQuery({ name: 'owner', required: false, description: 'Practitioner/<team member id> or the bare id' })
  @ApiQuery({ name: 'status', required: false, description: 'FHIR task-status codes, comma-separated (any of)' })
  @ApiQuery({ name: 'patient', required: false, description: 'Patient/<id> or the bare id' })
  @ApiQuery({
    name: '_lastUpdated',
    required: false,
    isArray: true,
    description: 'repeatable, with a prefix eq|gt|ge|lt|le, e.g. ge2030-01-01 (no time zone: UTC)',
  })
  @ApiQuery({
    name: '_count',
    required: false,
    description: `page size, default ${DEFAULT_COUNT}, at most ${MAX_COUNT}`,
  })
  @ApiQuery({ name: '_offset', required: false, description: 'matches to skip, default 0' })
  async searchTasks(@Query() query: RawQuery, @CurrentCaller() caller: Caller): Promise<Bundle<Task>> {
    const parsed = this.parse(query, TASK_PARAMS, caller, (codes) => {
      const unknown = codes.filter((c) => !(TASK_STATUS_CODES as readonly string[]).includes(c));
      if (unknown.length) throw invalid(`status: '${unknown.join(', ')}' is not a FHIR task-status code`);
      return codes;
    });
    const { items, total } = await this.run(parsed);
    return this.bundle('Task', items.map(toFhirTask), total, parsed);
  }

  @Get('Task/:id')
  @Header('content-type', FHIR_JSON)
  @ApiParam({ name: 'id', description: 'the task id (a uuid)' })
  @ApiOperation({ summary: 'One task as a FHIR R4 Task' })
  async readTask(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<Task> {
    return toFhirTask(await this.read('Task', id, caller, () => true));
  }

  @Get('ServiceRequest')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({
    summary:
      'Search imaging orders as FHIR R4 ServiceRequest (searchset Bundle). status: requested/accepted/in-progress→' +
      'active, on-hold→on-hold, completed→completed, cancelled/rejected→revoked; code: <modality>-<region>',
  })
  @ApiQuery({ name: 'status', required: false, description: 'FHIR request-status codes, comma-separated (any of)' })
  @ApiQuery({ name: 'patient', required: false, description: 'Patient/<id> or the bare id' })
  @ApiQuery({ name: '_lastUpdated', required: false, isArray: true, description: 'as for Task' })
  @ApiQuery({ name: '_count', required: false })
  @ApiQuery({ name: '_offset', required: false })
  async searchServiceRequests(
    @Query() query: RawQuery,
    @CurrentCaller() caller: Caller,
  ): Promise<Bundle<ServiceRequest>> {
    const parsed = this.parse(query, SERVICE_REQUEST_PARAMS, caller, (codes) =>
      codes.flatMap((code) => {
        if (!Object.hasOwn(SERVICE_REQUEST_STATUS_TO_TASK, code))
          throw invalid(`status: '${code}' is not a FHIR request-status code`);
        return SERVICE_REQUEST_STATUS_TO_TASK[code as ServiceRequest['status']];
      }),
    );
    parsed.search.imagingOnly = true;
    const { items, total } = await this.run(parsed);
    return this.bundle('ServiceRequest', items.map(toFhirServiceRequest), total, parsed);
  }

  @Get('ServiceRequest/:id')
  @Header('content-type', FHIR_JSON)
  @ApiParam({ name: 'id', description: 'the imaging-order task id (a uuid)' })
  @ApiOperation({ summary: 'One imaging order as a FHIR R4 ServiceRequest' })
  async readServiceRequest(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<ServiceRequest> {
    return toFhirServiceRequest(await this.read('ServiceRequest', id, caller, (t) => t.type === 'imaging-order'));
  }

  private async read(
    type: string,
    id: string,
    caller: Caller,
    isOfType: (task: TaskView) => boolean,
  ): Promise<TaskView> {
    // Our ids are uuids: anything else is simply not there (and never reaches the uuid cast).
    const task = UUID.test(id) ? await this.queries.get(id) : null;
    if (!task || !isOfType(task)) throw new FhirError(404, 'not-found', `${type}/${id} is not known`);
    if (teamOf(caller) !== undefined && task.teamCode !== null && task.teamCode !== teamOf(caller))
      throw new ForbiddenException(`${type}/${id} belongs to another team`);
    return task;
  }

  private async run(parsed: ParsedSearch): Promise<{ items: TaskView[]; total: number }> {
    return parsed.matchesNothing ? { items: [], total: 0 } : this.queries.search(parsed.search);
  }

  private parse(
    query: RawQuery,
    allowed: string[],
    caller: Caller,
    statuses: (codes: string[]) => string[],
  ): ParsedSearch {
    const search: FhirTaskSearch = { count: DEFAULT_COUNT, offset: 0, teamCode: teamOf(caller) };
    let matchesNothing = false;
    const links: [string, string][] = [];
    for (const [name, raw] of Object.entries(query)) {
      if (!allowed.includes(name))
        throw invalid(`unknown search parameter '${name}'; supported: ${allowed.join(', ')}`, 'not-supported');
      const values = (Array.isArray(raw) ? raw : [raw]).map((v) => {
        if (typeof v !== 'string') throw invalid(`${name}: not a plain value`);
        return v;
      });
      const given = values.filter((v) => v !== ''); // FHIR: an empty parameter is ignored
      if (given.length === 0) continue;
      if (given.length > 1 && name !== '_lastUpdated')
        throw invalid(`${name}: give it once (several values: comma-separated, where the parameter allows)`);
      const value = given[0];
      switch (name) {
        case 'owner': {
          const id = stripType(value, 'Practitioner', 'owner');
          // not one of our member ids: it owns nothing here
          if (UUID.test(id)) search.owner = id.toLowerCase();
          else matchesNothing = true;
          break;
        }
        case 'patient':
          search.patient = stripType(value, 'Patient', 'patient');
          break;
        case 'status':
          search.status = [...new Set(statuses(value.split(',').map((c) => c.trim())))];
          break;
        case '_lastUpdated':
          search.lastUpdated = given.flatMap((v) => {
            const conditions = parseDateSearch(v);
            if ('error' in conditions) throw invalid(`_lastUpdated: ${conditions.error}`);
            return conditions;
          });
          break;
        case '_count':
          // FHIR lets a server return fewer than asked: a larger page is cut to the maximum, not refused
          search.count = Math.min(integer(name, value), MAX_COUNT);
          break;
        case '_offset':
          search.offset = integer(name, value);
          break;
        case '_format':
          if (!JSON_FORMATS.includes(value))
            throw new FhirError(406, 'not-supported', `_format '${value}' is not supported: this server speaks JSON`);
          break;
      }
      if (name !== '_count' && name !== '_offset') for (const v of given) links.push([name, v]);
    }
    return { search, matchesNothing, links };
  }

  private bundle<T extends Task | ServiceRequest>(
    type: string,
    resources: T[],
    total: number,
    parsed: ParsedSearch,
  ): Bundle<T> {
    const { count, offset } = parsed.search;
    const url = (at: number) => {
      const params = new URLSearchParams([...parsed.links, ['_count', String(count)], ['_offset', String(at)]]);
      return `${this.base}/${type}?${params.toString()}`;
    };
    return toSearchBundle(resources, total, url(offset), {
      baseUrl: this.base,
      next: count > 0 && offset + count < total ? url(offset + count) : undefined,
      previous: count > 0 && offset > 0 ? url(Math.max(0, offset - count)) : undefined,
    });
  }
}

/** A navigator's or lead's team (they see that team's tasks); integration keys see every task. */
function teamOf(caller: Caller): string | undefined {
  return caller.role === 'navigator' || caller.role === 'lead' ? (caller.teamCode ?? '') : undefined;
}

function invalid(diagnostics: string, code: OperationOutcomeIssue['code'] = 'invalid'): FhirError {
  return new FhirError(400, code, diagnostics);
}

function integer(name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw invalid(`${name}: '${value}' is not a non-negative integer`);
  return Number(value);
}

/** `Patient/P-1` or `P-1` → `P-1`; another resource type is refused (we have no such owners or patients). */
function stripType(value: string, type: string, name: string): string {
  if (value.includes(',')) throw invalid(`${name}: one value per search (comma-separated OR is not supported)`);
  const prefix = /^([A-Z][A-Za-z]+)\/(.+)$/.exec(value);
  if (!prefix) return value;
  if (prefix[1] !== type) throw invalid(`${name}: only ${type}/<id> references are searchable here, not ${prefix[1]}`);
  return prefix[2];
}
