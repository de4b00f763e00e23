import type { Pool, PoolClient } from 'pg';

export interface StatementTime {
  statement: string;
  calls: number;
  ms: number;
}

/**
 * A pool whose statements (on the pool and on the clients it hands out) are timed and tallied by their text: where
 * a pass of the sweeper spends its time, without touching the sweeper.
 */
export function timedPool(pool: Pool): { pool: Pool; take: () => StatementTime[] } {
  let tally = new Map<string, StatementTime>();
  const time = async <T>(text: unknown, run: () => Promise<T>): Promise<T> => {
    const raw = typeof text === 'string' ? text : ((text as { text?: string })?.text ?? String(text));
    const statement = raw.replace(/\s+/g, ' ').trim().slice(0, 110);
    const start = process.hrtime.bigint();
    try {
      return await run();
    } finally {
      const entry = tally.get(statement) ?? { statement, calls: 0, ms: 0 };
      entry.calls += 1;
      entry.ms += Number(process.hrtime.bigint() - start) / 1e6;
      tally.set(statement, entry);
    }
  };
  const wrapClient = (client: PoolClient): PoolClient =>
    new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'query')
          return (text: unknown, ...rest: unknown[]) =>
            time(text, () => (target.query as (...a: unknown[]) => Promise<unknown>)(text, ...rest));
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const proxy = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query')
        return (text: unknown, ...rest: unknown[]) =>
          time(text, () => (target.query as (...a: unknown[]) => Promise<unknown>)(text, ...rest));
      if (prop === 'connect') return async () => wrapClient(await target.connect());
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    pool: proxy,
    take: () => {
      const out = [...tally.values()].sort((a, b) => b.ms - a.ms);
      tally = new Map();
      return out;
    },
  };
}
