/**
 * Each readiness check gives up after this long, so a hung PostgreSQL or Redis turns into a 503 naming it inside a
 * default 1 s probe timeout, instead of a probe that never answers and says nothing about why.
 */
export const CHECK_TIMEOUT_MS = 800;

/** Rejects after `ms` if `work` has not settled; `work` is not cancelled, its late outcome is ignored. */
export async function withTimeout<T>(work: Promise<T>, ms = CHECK_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error's message only: no stack, no query parameters (bodies are public and logged). */
export function reason(err: unknown): string {
  // duck-typed: errors from another realm (node's net errors under jest) fail `instanceof Error`
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}
