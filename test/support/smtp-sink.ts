/**
 * A light SMTP server for the fault suite: thousands of emails per run, so it does not parse them (test/support/smtp.ts
 * does, for tests that read the text); it counts each accepted message by its X-Notification-Id and Message-ID header.
 * It can go down and come back on the same port (`stop()`, `start()`), as a mail relay does when it is restarted.
 *
 *   const sink = await startSmtpSink();        // smtp://127.0.0.1:<port>
 *   await sink.stop();                         // connections refused from now on
 *   await sink.start();                        // the same port again
 *   sink.received.get('assigned.<task>.<member>')  // how many times that notification arrived
 */
import { createServer, type AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

export interface SmtpSink {
  readonly url: string;
  readonly port: number;
  /** Times each notification id was accepted (X-Notification-Id). */
  readonly received: Map<string, number>;
  /** Times each Message-ID was accepted. */
  readonly messageIds: Map<string, number>;
  /** When each notification id was first accepted (Date.now()). */
  readonly firstAt: Map<string, number>;
  /** Messages accepted in all. */
  readonly total: number;
  readonly running: boolean;
  start(): Promise<void>;
  /** Stops listening and drops open sessions: clients get "connection refused" until start(). */
  stop(): Promise<void>;
  /** Resolves once `done(total)` holds; rejects after `timeoutMs`. */
  waitUntil(done: (total: number) => boolean, timeoutMs: number): Promise<void>;
}

/** Header value of a raw message's header section (unfolded), or null. */
function header(head: string, name: string): string | null {
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head);
  return match ? match[1].trim() : null;
}

/** A free TCP port on 127.0.0.1 (asked of the OS, then released for the server to take). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const port = await freePort();
  const received = new Map<string, number>();
  const messageIds = new Map<string, number>();
  const firstAt = new Map<string, number>();
  let total = 0;
  let server: SMTPServer | null = null;

  const newServer = (): SMTPServer => {
    const instance: SMTPServer = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      logger: false,
      closeTimeout: 500,
      onAuth(auth, _session, callback) {
        callback(null, { user: auth.username ?? 'anonymous' });
      },
      onData(stream: SMTPServerDataStream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', (err) => callback(err));
        stream.on('end', () => {
          // going down: what was not acknowledged yet is not taken (a real server would not queue it either)
          if (server !== instance)
            return callback(Object.assign(new Error('Server shutting down'), { responseCode: 421 }));
          const raw = Buffer.concat(chunks).toString('utf8');
          const end = raw.search(/\r?\n\r?\n/);
          const head = (end >= 0 ? raw.slice(0, end) : raw).replace(/\r?\n[ \t]+/g, ' ');
          const id = header(head, 'X-Notification-Id') ?? '(none)';
          const messageId = header(head, 'Message-ID') ?? '(none)';
          // counted before the 250 reply: a send the client saw succeed is always counted
          received.set(id, (received.get(id) ?? 0) + 1);
          if (!firstAt.has(id)) firstAt.set(id, Date.now());
          messageIds.set(messageId, (messageIds.get(messageId) ?? 0) + 1);
          total += 1;
          callback(null, `queued as ${total}`);
        });
      },
    });
    return instance;
  };

  const sink: SmtpSink = {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    messageIds,
    firstAt,
    get total() {
      return total;
    },
    get running() {
      return server !== null;
    },
    async start() {
      if (server) return;
      const next = newServer();
      next.on('error', () => undefined); // a client hanging up is not a test failure
      // the port was just released by stop(): retry briefly while the OS frees it
      for (let attempt = 0; ; attempt += 1) {
        try {
          await new Promise<void>((resolve, reject) => {
            next.server.once('error', reject);
            next.listen(port, '127.0.0.1', () => {
              next.server.off('error', reject);
              resolve();
            });
          });
          break;
        } catch (err) {
          if (attempt >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      server = next;
    },
    async stop() {
      const current = server;
      if (!current) return;
      server = null;
      await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    async waitUntil(done, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!done(total)) {
        if (Date.now() > deadline) throw new Error(`SMTP sink: timed out after ${timeoutMs} ms with ${total} messages`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  await sink.start();
  return sink;
}
