/**
 * Sending notification emails: nodemailer over SMTP when an SMTP URL is configured, otherwise one RFC 822 `.eml`
 * file per notification in a local outbox folder (so the demo needs no mail server; DESIGN "Email").
 *
 * A notification may be sent more than once (a retried job, a crash after the send). Both transports are
 * idempotent at their end: the Message-ID is derived from the notification id, so a receiving system can drop the
 * resend, and the outbox folder overwrites the same file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { SendMailOptions, SMTPSentMessageInfo, Transporter } from 'nodemailer';

export interface OutgoingEmail {
  /** Stable id of the notification (e.g. the job id): the same notification always has the same id. */
  notificationId: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
  close(): Promise<void>;
  readonly kind: 'smtp' | 'outbox-folder';
}

export interface MailerOptions {
  /** e.g. smtp://user:pass@mail.example.org:587; unset: write to `outboxDir`. */
  smtpUrl?: string;
  outboxDir: string;
  /** From address, e.g. "Sarcoma pathway <pathway@example.org>". */
  from: string;
}

export type SendErrorClass = 'transient' | 'permanent';

/** A send that will fail the same way however often it is retried. */
export class PermanentSendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentSendError';
  }
}

const MESSAGE_ID_DOMAIN = 'sarcoma-pathway';
const SMTP_TIMEOUT_MS = 10_000;
/** Connections kept open to the SMTP server, and emails one delivery sends at once. */
export const SMTP_CONNECTIONS = 4;

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl ? new SmtpMailer(options.smtpUrl, options.from) : new OutboxFolderMailer(options);
}

/**
 * Whether retrying can help. The SMTP reply code decides when there is one (RFC 5321: 4yz transient, 5yz
 * permanent), whatever nodemailer's `code` says: a 451 at RCPT TO comes as EENVELOPE but is a "try later".
 * 503 (bad sequence of commands) is the one 5yz exception: it describes the session, not the message, and a new
 * connection can succeed (nodemailer's own `isPermanentResponseCode` makes the same call).
 * Without a reply code:
 * - EENVELOPE / EMESSAGE are nodemailer refusing the envelope or message before sending: the same input fails again.
 * - EAUTH / ENOAUTH / ECONFIG are permanent: they are misconfigurations, so every retry fails identically and
 *   repeated failed logins can get the account locked; an operator must fix the settings and re-send.
 *   (An auth failure the server calls temporary, e.g. 454, carries a reply code and is transient by the rule above.)
 * - connection errors, timeouts and anything unknown are transient: a retry is cheap, losing an email is not.
 */
export function classifySendError(err: unknown): SendErrorClass {
  if (err instanceof PermanentSendError) return 'permanent';
  if (typeof err !== 'object' || err === null) return 'transient';
  const { responseCode, code } = err as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number' && responseCode >= 400 && responseCode < 600) {
    return responseCode >= 500 && responseCode !== 503 ? 'permanent' : 'transient';
  }
  if (typeof code === 'string' && PERMANENT_CODES.has(code)) return 'permanent';
  return 'transient';
}

const PERMANENT_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'EAUTH', 'ENOAUTH', 'ECONFIG']);

/**
 * A filename- and Message-ID-safe token for a notification id. Injective (distinct ids never share a file): letters,
 * digits and '-' stay, a '.' stays between two of those (no leading, trailing or double dot: not a hidden file, and
 * a valid RFC 5322 dot-atom), every other UTF-8 byte becomes `_XX`. Over-long ids are cut and suffixed with a hash
 * to stay within filename limits.
 */
export function notificationToken(notificationId: string): string {
  if (!notificationId) throw new PermanentSendError('notificationId is empty');
  const bytes = Buffer.from(notificationId, 'utf8');
  const plain = (b: number | undefined) =>
    b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d);
  let token = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (plain(b) || (b === 0x2e && plain(bytes[i - 1]) && plain(bytes[i + 1]))) token += String.fromCharCode(b);
    else token += `_${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (token.length <= 180) return token;
  return `${token.slice(0, 140)}_${createHash('sha256').update(notificationId).digest('hex').slice(0, 32)}`;
}

/** `<token@sarcoma-pathway>`: the same notification gets the same Message-ID on every attempt. */
export function notificationMessageId(notificationId: string): string {
  return `<${notificationToken(notificationId)}@${MESSAGE_ID_DOMAIN}>`;
}

function mailOptions(email: OutgoingEmail, from: string): SendMailOptions {
  if (!email.to) throw new PermanentSendError('email has no recipient');
  return {
    from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    ...(email.html !== undefined ? { html: email.html } : {}),
    messageId: notificationMessageId(email.notificationId),
    headers: { 'X-Notification-Id': email.notificationId },
  };
}

class SmtpMailer implements Mailer {
  readonly kind = 'smtp' as const;
  private readonly transport: Transporter<SMTPSentMessageInfo>;
  private closed = false;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    // A small pool of reused connections: a new SMTP conversation per message (connect, greet, EHLO) capped delivery
    // at about 40 emails/s, too few after a backfill or a busy clinic. A connection is recycled after 100 messages; a
    // send on a socket the server dropped fails as transient and is retried. Bounded timeouts so a hung server fails
    // the job (transient, retried) instead of holding a worker slot.
    this.transport = nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections: SMTP_CONNECTIONS,
      maxMessages: 100,
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    });
  }

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    if (this.closed) throw new Error('mailer is closed');
    const info = await this.transport.sendMail(mailOptions(email, this.from));
    return { messageId: info.messageId };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.transport.close();
  }
}

class OutboxFolderMailer implements Mailer {
  readonly kind = 'outbox-folder' as const;
  private readonly dir: string;
  private readonly from: string;
  // Builds the raw MIME message only; nothing leaves the process.
  private readonly composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  private closed = false;

  constructor(options: MailerOptions) {
    this.dir = options.outboxDir;
    this.from = options.from;
  }

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    if (this.closed) throw new Error('mailer is closed');
    const info = await this.composer.sendMail(mailOptions(email, this.from));
    if (!Buffer.isBuffer(info.message)) throw new Error('stream transport did not return a buffer');
    // Created on every send (cheap): the folder may have been emptied or removed by whoever reads it.
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomically(this.dir, `${notificationToken(email.notificationId)}.eml`, info.message);
    return { messageId: info.messageId };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.composer.close();
  }
}

/**
 * Write to a hidden temporary name, flush, then rename over the target: a reader of `*.eml` never sees a
 * half-written file, and a second write of the same notification replaces the first.
 */
async function writeFileAtomically(dir: string, name: string, data: Buffer): Promise<void> {
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o640);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
