import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What a process counts as it works, for Prometheus (prom-client). Each process (api, worker) has its own registry;
 * the worker counts events, emails and escalations as they happen, and the api adds the gauges read from
 * PostgreSQL and Redis at scrape time (queue depths, outbox lag, dead letters, overdue items), so a value that
 * describes the whole system is reported once, not once per worker. Labels are codes only: no patient data.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly events = new Counter({
    name: 'sarcoma_clinical_events_total',
    help: 'Clinical events processed by the worker, by type and outcome (applied, unexpected, late, duplicate, invalid)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly processingSeconds = new Histogram({
    name: 'sarcoma_event_processing_seconds',
    help: 'Time the worker spent on one clinical event (validate, decide, commit)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly endToEndSeconds = new Histogram({
    name: 'sarcoma_event_end_to_end_seconds',
    help: 'From publish (job created) to committed tasks and state',
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly emails = new Counter({
    name: 'sarcoma_emails_total',
    help: 'Notification emails by result (sent, failed = permanent, retried = transient, skipped = task closed first)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly escalations = new Counter({
    name: 'sarcoma_escalations_total',
    help: 'Escalation steps fired (R-LR-ESCALATE step 5, R-SURV-OVERDUE), by the path that found them',
    labelNames: ['via'] as const,
    registers: [this.registry],
  });

  readonly sweeps = new Counter({
    name: 'sarcoma_sweep_items_total',
    help: 'What the surveillance sweeper did, by kind (ordersOpened, overdueOpened, itemsMissed, routed, ...)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor(app: 'api' | 'worker') {
    this.registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this.registry, prefix: 'sarcoma_' });
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
