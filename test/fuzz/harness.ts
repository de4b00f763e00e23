/**
 * What the integration fuzz tests share: generated inputs in batches (so 10,000 of them are never all in memory),
 * requests at a modest concurrency over keep-alive connections, and the heap after a forced garbage collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';

/** FUZZ_SEED reproduces a run; by default each run explores new inputs (the seed is in every failure message). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** `count` values of an arbitrary, `batch` at a time, reproducible from FUZZ_SEED. */
export function* generated<T>(arbitrary: fc.Arbitrary<T>, count: number, batch = 100, salt = 0): Generator<T> {
  for (let done = 0; done < count; done += batch)
    yield* fc.sample(arbitrary, { numRuns: Math.min(batch, count - done), seed: FUZZ_SEED + salt + done });
}

/** Runs `work` on every item with at most `concurrency` in flight; the first failure stops the run. */
export async function inParallel<T>(
  items: Iterable<T>,
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<number> {
  const iterator = items[Symbol.iterator]();
  let index = 0;
  let failed: unknown = null;
  const lane = async () => {
    for (;;) {
      if (failed) return;
      const next = iterator.next();
      if (next.done) return;
      const i = index++;
      try {
        await work(next.value, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  if (failed) throw failed;
  return index;
}

let gc: (() => void) | null = null;

/** heapUsed (MB) after forcing full collections; jest runs without --expose-gc, so V8 is asked for gc() here. */
export async function heapAfterGcMb(): Promise<number> {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < 4; i += 1) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
}

/** Requests sent again after a transport reset (see send()). */
export const transport = { retries: 0 };

/**
 * fetch, sent once more if the connection was reset before an answer: with the api in this process, a long
 * synchronous stretch (generating a batch on a loaded machine) can let the server's 5 s keep-alive timer close a socket
 * the client is reusing at that moment. The second attempt is on a new connection; a crashed or refusing server fails
 * it too. Retries are counted and reported.
 */
export async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    if (cause !== 'ECONNRESET' && cause !== 'UND_ERR_SOCKET') throw err;
    transport.retries += 1;
    return fetch(url, init);
  }
}

/** A 5xx, a stack trace or a module path in an answer is a failure whatever the status. */
export function assertNoLeak(status: number, text: string, what: string): void {
  if (status >= 500) throw new Error(`${what}: answered ${status}: ${text.slice(0, 300)} (FUZZ_SEED=${FUZZ_SEED})`);
  if (/\n\s+at |node_modules|\.ts:\d+/.test(text))
    throw new Error(`${what}: the answer holds a stack trace: ${text.slice(0, 300)} (FUZZ_SEED=${FUZZ_SEED})`);
}

/** Prints a figure line for docs/reliability.md (jest shows console output of passing tests). */
export function report(line: string): void {
  process.stdout.write(`[fuzz] ${line}\n`);
}
