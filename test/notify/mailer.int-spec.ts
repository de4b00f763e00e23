/**
 * The SMTP mailer against a real SMTP server (smtp-server on 127.0.0.1): what arrives, and how refusals classify.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifySendError, createMailer, renderTaskEmail, type Mailer } from '@app/notify';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';

let smtp: TestSmtpServer;
let mailer: Mailer;
let outboxDir: string;

beforeAll(async () => {
  smtp = await startSmtpServer();
  outboxDir = await mkdtemp(join(tmpdir(), 'notify-int-'));
  mailer = createMailer({ smtpUrl: smtp.url, outboxDir, from: 'Sarcoma pathway <pathway@example.org>' });
});
afterEach(() => smtp.reset());
afterAll(async () => {
  await mailer?.close();
  await smtp?.close();
  await rm(outboxDir, { recursive: true, force: true });
});

const TASK_ID = '3f2a9c1e-7b4d-5e6f-8a9b-0c1d2e3f4a5b';
const rendered = renderTaskEmail({
  kind: 'task-escalated',
  task: {
    taskId: TASK_ID,
    type: 'imaging-order',
    priority: 'urgent',
    dueAt: '2030-06-03T09:05:00Z',
    ruleId: 'R-LR-ESCALATE',
    status: 'requested',
  },
  baseUrl: 'https://pathway.example.org',
  escalationLevel: 'navigator-lead',
  hoursUnaccepted: 24,
});

const sendOne = (notificationId: string) =>
  mailer.send({ notificationId, to: 'lead@example.org', ...rendered }).then(
    (ok) => ({ ok, err: undefined }),
    (err: unknown) => ({ ok: undefined, err }),
  );

describe('SMTP mailer', () => {
  it('delivers subject, both bodies, the deterministic Message-ID and X-Notification-Id', async () => {
    expect(mailer.kind).toBe('smtp');
    const result = await mailer.send({ notificationId: `escalate.${TASK_ID}.1`, to: 'lead@example.org', ...rendered });

    const [message] = await smtp.waitForMessages(1);
    expect(smtp.messages).toHaveLength(1);
    expect(message.subject).toBe(
      '[URGENT] Escalation to navigator lead: imaging-order not accepted in 24 h (R-LR-ESCALATE) #3f2a9c1e',
    );
    expect(message.text).toBe(rendered.text);
    expect(message.html).toBe(rendered.html);
    expect(message.text).toContain(`Open: https://pathway.example.org/tasks/${TASK_ID}`);
    expect(message.messageId).toBe(`<escalate.${TASK_ID}.1@sarcoma-pathway>`);
    expect(result.messageId).toBe(message.messageId);
    expect(message.headers.get('x-notification-id')).toBe(`escalate.${TASK_ID}.1`);
    expect(smtp.envelopes[0]).toEqual({ mailFrom: 'pathway@example.org', rcptTo: ['lead@example.org'], user: null });
    // SMTP mode writes nothing to the outbox folder.
    expect(await readdir(outboxDir)).toEqual([]);
  });

  it('a resend carries the same Message-ID, so the receiver can drop it', async () => {
    await mailer.send({ notificationId: 'notify.resend.0', to: 'lead@example.org', ...rendered });
    await mailer.send({ notificationId: 'notify.resend.0', to: 'lead@example.org', ...rendered });
    const messages = await smtp.waitForMessages(2);
    expect(messages.map((m) => m.messageId)).toEqual([
      '<notify.resend.0@sarcoma-pathway>',
      '<notify.resend.0@sarcoma-pathway>',
    ]);
  });

  it('451 after DATA: transient, and the retry goes through', async () => {
    smtp.failNext(1, 451, 'Try again later');
    const first = await sendOne('notify.retry.0');
    expect(first.ok).toBeUndefined();
    expect(first.err).toMatchObject({ responseCode: 451, code: 'EMESSAGE' });
    expect(classifySendError(first.err)).toBe('transient');
    expect(smtp.rejectedCount).toBe(1);
    expect(smtp.messages).toHaveLength(0);

    const retry = await sendOne('notify.retry.0');
    expect(retry.err).toBeUndefined();
    expect(smtp.messages.map((m) => m.messageId)).toEqual(['<notify.retry.0@sarcoma-pathway>']);
  });

  it('451 at RCPT TO (nodemailer says EENVELOPE): still transient, the reply code decides', async () => {
    smtp.failNext(1, 451, 'Greylisted', { at: 'rcpt' });
    const { err } = await sendOne('notify.grey.0');
    expect(err).toMatchObject({ responseCode: 451, code: 'EENVELOPE' });
    expect(classifySendError(err)).toBe('transient');
  });

  it('550: permanent, whether refused at RCPT TO or after DATA', async () => {
    smtp.failNext(1, 550, 'No such user', { at: 'rcpt' });
    const atRcpt = await sendOne('notify.bad.0');
    expect(atRcpt.err).toMatchObject({ responseCode: 550, code: 'EENVELOPE' });
    expect(classifySendError(atRcpt.err)).toBe('permanent');

    smtp.failNext(1, 550, 'Message refused');
    const atData = await sendOne('notify.bad.1');
    expect(atData.err).toMatchObject({ responseCode: 550, code: 'EMESSAGE' });
    expect(classifySendError(atData.err)).toBe('permanent');
    expect(smtp.messages).toHaveLength(0);
  });

  it('nobody listening: a connection error, transient', async () => {
    // A port that was just released by a server of our own: nothing listens there now.
    const gone = await startSmtpServer();
    await gone.close();
    const orphan = createMailer({ smtpUrl: gone.url, outboxDir, from: 'pathway@example.org' });
    const err = await orphan.send({ notificationId: 'notify.down.0', to: 'lead@example.org', ...rendered }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await orphan.close();
    expect(err).toMatchObject({ code: 'ESOCKET' });
    expect(classifySendError(err)).toBe('transient');
  });

  it('accepts AUTH credentials in the URL', async () => {
    const withAuth = createMailer({
      smtpUrl: smtp.url.replace('smtp://', 'smtp://user:secret@'),
      outboxDir,
      from: 'pathway@example.org',
    });
    await withAuth.send({ notificationId: 'notify.auth.0', to: 'lead@example.org', ...rendered });
    await withAuth.close();
    expect((await smtp.waitForMessages(1)).map((m) => m.messageId)).toEqual(['<notify.auth.0@sarcoma-pathway>']);
    expect(smtp.envelopes[0].user).toBe('user');
  });

  it('the test server: waitForMessages times out with the count it got', async () => {
    await expect(smtp.waitForMessages(1, 100)).rejects.toThrow(/waiting for 1 message\(s\); got 0/);
  });
});
