/** The little of Express's request and response the security middleware uses (the project has no @types/express). */
export interface HttpRequest {
  method: string;
  url: string;
  originalUrl?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
  headers: Record<string, string | string[] | undefined>;
  route?: { path?: unknown };
  baseUrl?: string;
  /** The body's bytes as received (NestFactory's rawBody option), for signatures and raw storage. */
  rawBody?: Buffer;
  /** Set by the correlation-id middleware. */
  correlationId?: string;
}

export interface HttpResponse {
  statusCode: number;
  headersSent: boolean;
  writableEnded?: boolean;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
  on(event: 'finish', listener: () => void): unknown;
}

export type Next = (err?: unknown) => void;
