/**
 * A real SMTP server for integration tests (smtp-server on an ephemeral 127.0.0.1 port): it keeps every message it
 * accepts, parsed with mailparser, and can be told to refuse the next messages with a given reply code.
 *
 *   const smtp = await startSmtpServer();
 *   const mailer = createMailer({ smtpUrl: smtp.url, outboxDir, from });
 *   smtp.failNext(1, 451);                  // the next message gets "451 ..." (transient)
 *   await smtp.waitForMessages(2);
 *   await smtp.close();
 *
 * Plain text only (no STARTTLS), any AUTH credentials accepted, AUTH optional.
 */
import { type AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** SMTP envelope of an accepted message (what MAIL FROM / RCPT TO said, which may differ from the headers). */
export interface SmtpEnvelope {
  mailFrom: string | null;
  rcptTo: string[];
  /** The AUTH username, when the client logged in. */
  user: string | null;
}

export interface FailOptions {
  /**
   * Where the refusal happens: 'data' (default) after the message was transferred (nodemailer reports EMESSAGE),
   * or 'rcpt' at RCPT TO (nodemailer reports EENVELOPE; each refused recipient counts as one).
   */
  at?: 'data' | 'rcpt';
}

export interface TestSmtpServer {
  /** smtp://127.0.0.1:<port>, for createMailer / nodemailer. */
  readonly url: string;
  readonly port: number;
  /** Accepted messages in arrival order; index-aligned with `envelopes`. */
  readonly messages: ParsedMail[];
  readonly envelopes: SmtpEnvelope[];
  /** How many messages were refused by `failNext`. */
  readonly rejectedCount: number;
  /** Refuse the next `count` messages with `code` (4xx transient, 5xx permanent) and `message`. */
  failNext(count: number, code: number, message?: string, options?: FailOptions): void;
  /** Resolves with the messages once at least `count` were accepted; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  /** Forget received messages and pending refusals (to share one server across tests). */
  reset(): void;
  /** Stops listening and ends open sessions; resolves once the port is released. */
  close(): Promise<void>;
}

interface PendingFailure {
  remaining: number;
  code: number;
  message: string;
  at: 'data' | 'rcpt';
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: ParsedMail[] = [];
  const envelopes: SmtpEnvelope[] = [];
  let failure: PendingFailure | null = null;
  let rejectedCount = 0;
  let waiters: Array<() => void> = [];

  const smtpError = (f: PendingFailure) => Object.assign(new Error(f.message), { responseCode: f.code });
  /** Takes one refusal for this stage, if one is pending. */
  const takeFailure = (at: 'data' | 'rcpt'): Error | null => {
    if (!failure || failure.at !== at) return null;
    const err = smtpError(failure);
    if (--failure.remaining <= 0) failure = null;
    rejectedCount++;
    return err;
  };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    // AUTH over plain text is refused by default; this server is loopback-only test fixture.
    allowInsecureAuth: true,
    logger: false,
    // close(): sessions still open after this long get a 421 and are dropped, so a test never hangs on shutdown.
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onRcptTo(_address, _session, callback) {
      callback(takeFailure('rcpt'));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        // The whole message must be read before answering, also when refusing it.
        const refusal = takeFailure('data');
        if (refusal) return callback(refusal);
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            // Recorded before the 250 reply, so a resolved send() is already visible in `messages`.
            messages.push(parsed);
            envelopes.push({
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              user: typeof session.user === 'string' ? session.user : null,
            });
            const ready = waiters;
            waiters = [];
            ready.forEach((wake) => wake());
            callback(null, `queued as ${messages.length}`);
          },
          (err: Error) => callback(err),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  // Errors of single sessions (a client hanging up) are not test failures; an unhandled 'error' would crash jest.
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;

  let closing: Promise<void> | null = null;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    envelopes,
    get rejectedCount() {
      return rejectedCount;
    },
    failNext(count, code, message = 'Refused by the test SMTP server', options = {}) {
      if (!Number.isInteger(count) || count < 1) throw new RangeError('failNext: count must be a positive integer');
      if (!Number.isInteger(code) || code < 400 || code > 599)
        throw new RangeError('failNext: code must be 4xx or 5xx');
      failure = { remaining: count, code, message, at: options.at ?? 'data' };
    },
    waitForMessages(count, timeoutMs = 5000) {
      return new Promise<ParsedMail[]>((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return false;
          clearTimeout(timer);
          resolve(messages.slice());
          return true;
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== wake);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} message(s); got ${messages.length}`));
        }, timeoutMs);
        const wake = () => {
          if (!check()) waiters.push(wake);
        };
        wake();
      });
    },
    reset() {
      messages.length = 0;
      envelopes.length = 0;
      failure = null;
      rejectedCount = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}
