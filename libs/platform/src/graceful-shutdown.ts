import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { ServiceConfig } from '@app/config';
import { SERVICE_CONFIG } from './tokens';

/**
 * Bounded graceful shutdown: Nest closes workers (letting in-flight jobs finish) and pools on SIGTERM;
 * if that takes longer than SHUTDOWN_TIMEOUT_MS the process exits anyway. An unfinished job is not lost:
 * its transaction never committed, and BullMQ hands it to another worker as stalled.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  constructor(@Inject(SERVICE_CONFIG) private readonly config: ServiceConfig) {}

  beforeApplicationShutdown(signal?: string): void {
    if (!signal) return;
    this.logger.warn(`${signal} received: draining for at most ${this.config.SHUTDOWN_TIMEOUT_MS} ms`);
    setTimeout(() => {
      this.logger.warn('shutdown timed out: exiting with work still in flight (it will be retried)');
      process.exit(1);
    }, this.config.SHUTDOWN_TIMEOUT_MS).unref();
  }
}
