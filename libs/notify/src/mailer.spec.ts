import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import {
  classifySendError,
  createMailer,
  notificationMessageId,
  notificationToken,
  PermanentSendError,
  type OutgoingEmail,
} from './mailer';

const smtpError = (props: { code?: string; responseCode?: number }) => Object.assign(new Error('send failed'), props);

describe('classifySendError', () => {
  it.each([
    // The SMTP reply code decides, whatever the nodemailer code.
    [{ code: 'EENVELOPE', responseCode: 451 }, 'transient'],
    [{ code: 'EMESSAGE', responseCode: 452 }, 'transient'],
    [{ code: 'EENVELOPE', responseCode: 421 }, 'transient'],
    [{ code: 'EMESSAGE', responseCode: 550 }, 'permanent'],
    [{ code: 'EENVELOPE', responseCode: 553 }, 'permanent'],
    [{ code: 'EMESSAGE', responseCode: 554 }, 'permanent'],
    [{ responseCode: 552 }, 'permanent'],
    // 503 bad sequence of commands: about the session, not the message.
    [{ code: 'EPROTOCOL', responseCode: 503 }, 'transient'],
    [{ code: 'EAUTH', responseCode: 535 }, 'permanent'],
    [{ code: 'EAUTH', responseCode: 454 }, 'transient'],
    // No reply code: the nodemailer code decides.
    [{ code: 'EENVELOPE' }, 'permanent'],
    [{ code: 'EMESSAGE' }, 'permanent'],
    [{ code: 'EAUTH' }, 'permanent'],
    [{ code: 'ENOAUTH' }, 'permanent'],
    [{ code: 'ECONFIG' }, 'permanent'],
    [{ code: 'ECONNECTION' }, 'transient'],
    [{ code: 'ETIMEDOUT' }, 'transient'],
    [{ code: 'ESOCKET' }, 'transient'],
    [{ code: 'EDNS' }, 'transient'],
    [{ code: 'ECONNREFUSED' }, 'transient'],
    [{ code: 'EPROTOCOL' }, 'transient'],
    [{}, 'transient'],
  ] as const)('%j is %s', (props, expected) => {
    expect(classifySendError(smtpError(props))).toBe(expected);
  });

  it('PermanentSendError is permanent; non-errors are transient', () => {
    expect(classifySendError(new PermanentSendError('bad input'))).toBe('permanent');
    expect(classifySendError(new Error('boom'))).toBe('transient');
    expect(classifySendError('boom')).toBe('transient');
    expect(classifySendError(null)).toBe('transient');
    expect(classifySendError(undefined)).toBe('transient');
  });
});

describe('notificationToken / notificationMessageId', () => {
  it('keeps ordinary ids readable', () => {
    expect(notificationToken('notify.0b7c2a.1')).toBe('notify.0b7c2a.1');
    expect(notificationToken('escalate.3f2a9c1e-7b4d.2')).toBe('escalate.3f2a9c1e-7b4d.2');
    expect(notificationMessageId('notify.0b7c2a.1')).toBe('<notify.0b7c2a.1@sarcoma-pathway>');
  });

  it('escapes anything unsafe for a filename or a Message-ID', () => {
    expect(notificationToken('../x')).toBe('_2E_2E_2Fx');
    expect(notificationToken('.hidden')).toBe('_2Ehidden');
    expect(notificationToken('a..b.')).toBe('a_2E_2Eb_2E');
    expect(notificationToken('a b<c>@d')).toBe('a_20b_3Cc_3E_40d');
    expect(notificationToken('ü')).toBe('_C3_BC');
  });

  it('never maps two ids to one token', () => {
    const ids = ['a/b', 'a_b', 'a_2Fb', 'a.b', 'a_2Eb', 'A/b', 'a//b'];
    expect(new Set(ids.map(notificationToken)).size).toBe(ids.length);
  });

  it('bounds the length of long ids and still tells them apart', () => {
    const long = 'x'.repeat(500);
    const a = notificationToken(`${long}-a`);
    const b = notificationToken(`${long}-b`);
    expect(a.length).toBeLessThanOrEqual(180);
    expect(a).not.toBe(b);
    expect(notificationToken(`${long}-a`)).toBe(a);
  });

  it('refuses an empty id as a permanent error', () => {
    expect(() => notificationToken('')).toThrow(PermanentSendError);
  });
});

describe('createMailer', () => {
  it('is an SMTP mailer when smtpUrl is set (nothing connects until a send)', async () => {
    const mailer = createMailer({ smtpUrl: 'smtp://127.0.0.1:1', outboxDir: '/nonexistent', from: 'a@example.org' });
    expect(mailer.kind).toBe('smtp');
    await mailer.close();
  });
});

describe('outbox-folder mailer', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'notify-outbox-'));
    dir = join(root, 'nested', 'outbox');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const email = (overrides: Partial<OutgoingEmail> = {}): OutgoingEmail => ({
    notificationId: 'notify.0b7c2a.1',
    to: 'navigator@example.org',
    subject: '[URGENT] New task: mdt-review due 2030-06-03 (R-LR-ESCALATE) #3f2a9c1e',
    text: 'Task: 3f2a9c1e\nOpen: https://pathway.example.org/tasks/3f2a9c1e\n',
    html: '<p>Task: 3f2a9c1e</p>',
    ...overrides,
  });

  it('writes one parseable .eml named after the notification, creating the folder', async () => {
    const mailer = createMailer({ outboxDir: dir, from: 'Sarcoma pathway <pathway@example.org>' });
    expect(mailer.kind).toBe('outbox-folder');
    const result = await mailer.send(email());
    await mailer.close();

    expect(await readdir(dir)).toEqual(['notify.0b7c2a.1.eml']);
    const raw = await readFile(join(dir, 'notify.0b7c2a.1.eml'));
    // A real RFC 5322 message: CRLF line ends, MIME headers.
    expect(raw.toString('latin1')).toMatch(/^[\s\S]*MIME-Version: 1\.0\r\n/);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe('[URGENT] New task: mdt-review due 2030-06-03 (R-LR-ESCALATE) #3f2a9c1e');
    expect(parsed.text).toBe('Task: 3f2a9c1e\nOpen: https://pathway.example.org/tasks/3f2a9c1e\n');
    expect(parsed.html).toBe('<p>Task: 3f2a9c1e</p>');
    expect(parsed.from?.value).toEqual([{ address: 'pathway@example.org', name: 'Sarcoma pathway' }]);
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    expect(to?.value).toEqual([{ address: 'navigator@example.org', name: '' }]);
    expect(parsed.messageId).toBe('<notify.0b7c2a.1@sarcoma-pathway>');
    expect(parsed.headers.get('x-notification-id')).toBe('notify.0b7c2a.1');
    expect(result.messageId).toBe('<notify.0b7c2a.1@sarcoma-pathway>');
  });

  it('sending the same notification twice leaves one file, the latest, with the same Message-ID', async () => {
    const mailer = createMailer({ outboxDir: dir, from: 'pathway@example.org' });
    const first = await mailer.send(email({ subject: 'first' }));
    const second = await mailer.send(email({ subject: 'second' }));
    await mailer.send(email({ notificationId: 'notify.0b7c2a.2', subject: 'other' }));

    expect(first.messageId).toBe(second.messageId);
    expect((await readdir(dir)).sort()).toEqual(['notify.0b7c2a.1.eml', 'notify.0b7c2a.2.eml']);
    const parsed = await simpleParser(await readFile(join(dir, 'notify.0b7c2a.1.eml')));
    expect(parsed.subject).toBe('second');
    expect(parsed.messageId).toBe(first.messageId);
  });

  it('names the file after the escaped id, inside the folder whatever the id', async () => {
    const mailer = createMailer({ outboxDir: dir, from: 'pathway@example.org' });
    const { messageId } = await mailer.send(email({ notificationId: '../../escape me' }));
    expect(await readdir(dir)).toEqual(['_2E_2E_2F_2E_2E_2Fescape_20me.eml']);
    expect(await readdir(root)).toEqual(['nested']);
    expect(messageId).toBe('<_2E_2E_2F_2E_2E_2Fescape_20me@sarcoma-pathway>');
    const parsed = await simpleParser(await readFile(join(dir, '_2E_2E_2F_2E_2E_2Fescape_20me.eml')));
    expect(parsed.headers.get('x-notification-id')).toBe('../../escape me');
  });

  it('a failed write leaves no file behind, not even the temporary one', async () => {
    // A directory where the .eml should go makes the final rename fail.
    await mkdir(join(dir, 'notify.0b7c2a.1.eml'), { recursive: true });
    const mailer = createMailer({ outboxDir: dir, from: 'pathway@example.org' });
    await expect(mailer.send(email())).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['notify.0b7c2a.1.eml']);
    expect(await readdir(join(dir, 'notify.0b7c2a.1.eml'))).toEqual([]);
  });

  it('refuses an email without recipient or notification id as permanent, and any send after close', async () => {
    const mailer = createMailer({ outboxDir: dir, from: 'pathway@example.org' });
    await expect(mailer.send(email({ to: '' }))).rejects.toBeInstanceOf(PermanentSendError);
    await expect(mailer.send(email({ notificationId: '' }))).rejects.toBeInstanceOf(PermanentSendError);
    await mailer.close();
    await expect(mailer.send(email())).rejects.toThrow(/closed/);
  });
});
