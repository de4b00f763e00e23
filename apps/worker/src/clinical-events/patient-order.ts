import { Injectable } from '@nestjs/common';

/**
 * Jobs reach this process in queue order, but run concurrently: two events of one patient fetched back to back
 * (live, or one live and one in a backfill batch) could commit in either order. Work for a set of patients waits
 * for the work already running for any of them, so this process applies each patient's events FIFO; across
 * processes, the event door's clinical-order rebuild (R-LATE-EVENT) covers what is left.
 */
@Injectable()
export class PatientOrder {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  async run<T>(patientIds: Iterable<string>, work: () => Promise<T>): Promise<T> {
    const ids = [...new Set(patientIds)];
    const before = new Set<Promise<unknown>>();
    for (const id of ids) {
      const previous = this.inFlight.get(id);
      if (previous) before.add(previous.catch(() => undefined));
    }
    const mine = (before.size > 0 ? Promise.all(before) : Promise.resolve()).then(work);
    for (const id of ids) this.inFlight.set(id, mine);
    try {
      return await mine;
    } finally {
      for (const id of ids) if (this.inFlight.get(id) === mine) this.inFlight.delete(id);
    }
  }

  /** Patients with work queued or running (for tests and metrics). */
  get size(): number {
    return this.inFlight.size;
  }
}
