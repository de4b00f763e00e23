import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE, NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import type { ApiRole } from '@app/navigation';
import { producerQueue, SERVICE_CONFIG } from '@app/platform';
import { API_KEY_REJECTED, ApiKeyCache, presentedApiKey } from '../access/api-key.guard';
import type { Caller } from '../access/caller';

/** Where the board is mounted (outside Nest's router: not in the OpenAPI document, not seen by ApiKeyGuard). */
export const QUEUES_DASHBOARD_PATH = '/queues';
export const QUEUES_DASHBOARD_ROLES: readonly ApiRole[] = ['lead', 'admin'];
/** The challenge that makes a browser ask for a user name and password (the password is the API key). */
export const QUEUES_DASHBOARD_CHALLENGE = 'Basic realm="queues"';

const QUEUES = [
  {
    name: CLINICAL_EVENTS_QUEUE,
    description: 'Clinical events in (job id = event id, name = event type). Payloads are hidden: they name a patient.',
  },
  { name: NOTIFICATIONS_QUEUE, description: 'Task routing and email (ids and codes only).' },
  { name: TIMERS_QUEUE, description: 'Escalation timers and the surveillance sweeper (ids and codes only).' },
] as const;

/** What the board shows instead of a clinical event: the event carries a patient id and clinical facts. */
export const HIDDEN_EVENT_DATA = {
  hidden: 'clinical event payload not shown on the queues board (it names a patient); the job id is the event id',
};

type Headers = Record<string, string | string[] | undefined>;

interface DashboardRequest {
  method: string;
  headers: Headers;
}

interface DashboardResponse {
  status(code: number): DashboardResponse;
  setHeader(name: string, value: string): unknown;
  json(body: unknown): unknown;
}

type Next = (err?: unknown) => void;
type Handler = (req: DashboardRequest, res: DashboardResponse, next: Next) => unknown;

/**
 * The secret a board request presents. A browser can only be made to send HTTP Basic credentials (it prompts on
 * our 401 challenge), so the password of `Authorization: Basic` is taken as the API key and the user name is
 * ignored; scripts can send `Authorization: Bearer <key>` (or X-Api-Key) exactly as for the rest of the api.
 */
export function dashboardApiKey(headers: Headers): string | null {
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && /^Basic\s/i.test(authorization)) {
    const encoded = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authorization)?.[1];
    if (!encoded) return null;
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null;
  }
  return presentedApiKey(headers);
}

/**
 * Bull Board over clinical-events, notifications and timers, for lead and admin keys only. It is Express middleware
 * mounted beside Nest, so it authenticates here with the guard's key resolution (ApiKeyCache → ApiKeyStore).
 * Read-only: every queue is in readOnlyMode and anything but GET/HEAD is refused before the board sees it, which
 * also makes a cross-site form post riding on cached Basic credentials harmless.
 */
@Injectable()
export class QueuesDashboard implements OnApplicationShutdown {
  private readonly logger = new Logger('QueuesDashboard');
  private readonly handles: ReturnType<typeof producerQueue>[];
  private readonly queues: Queue[];
  private readonly board: Handler;
  private lastRedisError: string | null = null;

  constructor(
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
    private readonly keys: ApiKeyCache,
  ) {
    // Queues of our own (the api registers only clinical-events with Nest); producer connections fail fast when
    // Redis is down instead of holding board requests.
    this.handles = QUEUES.map(({ name }) => producerQueue(name, config.REDIS_URL, config.QUEUE_PREFIX));
    this.queues = this.handles.map(({ queue }) => {
      queue.on('error', (err: Error) => this.redisError(err));
      return queue;
    });
    const server = new ExpressAdapter().setBasePath(QUEUES_DASHBOARD_PATH);
    createBullBoard({
      queues: this.queues.map((queue, i) => {
        const adapter = new BullMQAdapter(queue, { readOnlyMode: true, description: QUEUES[i].description });
        if (queue.name === CLINICAL_EVENTS_QUEUE) adapter.setFormatter('data', () => HIDDEN_EVENT_DATA);
        return adapter;
      }),
      serverAdapter: server,
      options: { uiConfig: { boardTitle: 'Sarcoma pathway queues', hideDocsLink: true } },
    });
    this.board = server.getRouter() as Handler;
  }

  /** Mounts the key check and the board at QUEUES_DASHBOARD_PATH on the api's Express instance. */
  mount(app: { use(path: string, ...handlers: Handler[]): unknown }): void {
    app.use(QUEUES_DASHBOARD_PATH, (req, res, next) => this.authorise(req, res, next).catch(next), this.board);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.handles.map((handle) => handle.close()));
  }

  private async authorise(req: DashboardRequest, res: DashboardResponse, next: Next): Promise<void> {
    const secret = dashboardApiKey(req.headers);
    if (!secret) return this.challenge(res, 'API key required: sign in with any user name and the key as password');
    let caller: Caller | null;
    try {
      caller = await this.keys.resolve(secret);
    } catch (err) {
      // Fail closed, as the guard does; the message is the database's, never the secret.
      this.logger.error(`API key lookup failed: ${(err as Error).message}`);
      res.status(503).json({ statusCode: 503, message: 'cannot check API keys now; retry later' });
      return;
    }
    if (!caller) return this.challenge(res, API_KEY_REJECTED);
    if (!QUEUES_DASHBOARD_ROLES.includes(caller.role)) {
      res.status(403).json({
        statusCode: 403,
        message: `role '${caller.role}' may not open the queues board; allowed: ${QUEUES_DASHBOARD_ROLES.join(', ')}`,
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      res.status(405).json({ statusCode: 405, message: 'the queues board is read-only' });
      return;
    }
    // Job lists are not for shared browser caches or proxies.
    res.setHeader('Cache-Control', 'no-store');
    next();
  }

  private challenge(res: DashboardResponse, message: string): void {
    res.setHeader('WWW-Authenticate', QUEUES_DASHBOARD_CHALLENGE);
    res.status(401).json({ statusCode: 401, message });
  }

  /** Redis errors repeat on every reconnect attempt: log a message once until it changes. */
  private redisError(err: Error): void {
    if (err.message === this.lastRedisError) return;
    this.lastRedisError = err.message;
    this.logger.warn(`queues board: Redis error: ${err.message}`);
  }
}
