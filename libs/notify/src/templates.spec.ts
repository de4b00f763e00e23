import {
  DIGEST_LISTED,
  renderDigestEmail,
  renderTaskEmail,
  type RenderTaskEmailInput,
  type TaskEmailFacts,
} from './templates';

const TASK: TaskEmailFacts = {
  taskId: '3f2a9c1e-7b4d-5e6f-8a9b-0c1d2e3f4a5b',
  type: 'mdt-review',
  priority: 'urgent',
  dueAt: '2030-06-03T09:05:00.000Z',
  ruleId: 'R-LR-ESCALATE',
  status: 'requested',
};
const BASE = 'https://pathway.example.org';

describe('renderTaskEmail: subjects', () => {
  it('task-assigned: priority tag, type, due date, rule and short task id', () => {
    const { subject } = renderTaskEmail({ kind: 'task-assigned', task: TASK, baseUrl: BASE });
    expect(subject).toBe('[URGENT] New task: mdt-review due 2030-06-03 (R-LR-ESCALATE) #3f2a9c1e');
  });

  it('task-reassigned', () => {
    const task = { ...TASK, priority: 'high' as const };
    const { subject } = renderTaskEmail({ kind: 'task-reassigned', task, baseUrl: BASE });
    expect(subject).toBe('[HIGH] Task reassigned to you: mdt-review due 2030-06-03 (R-LR-ESCALATE) #3f2a9c1e');
  });

  it('a routine task has no tag', () => {
    const task = { ...TASK, priority: 'routine' as const, type: 'visit-reminder', ruleId: 'R-SURV-HG-VISIT' };
    const { subject } = renderTaskEmail({ kind: 'task-assigned', task, baseUrl: BASE });
    expect(subject).toBe('New task: visit-reminder due 2030-06-03 (R-SURV-HG-VISIT) #3f2a9c1e');
  });

  it('task-escalated to the navigator lead and the clinical lead, with the hours unaccepted', () => {
    const task = { ...TASK, type: 'imaging-order' };
    const first = renderTaskEmail({
      kind: 'task-escalated',
      task,
      baseUrl: BASE,
      escalationLevel: 'navigator-lead',
      hoursUnaccepted: 24,
    });
    const second = renderTaskEmail({
      kind: 'task-escalated',
      task,
      baseUrl: BASE,
      escalationLevel: 'clinical-lead',
      hoursUnaccepted: 48,
    });
    expect(first.subject).toBe(
      '[URGENT] Escalation to navigator lead: imaging-order not accepted in 24 h (R-LR-ESCALATE) #3f2a9c1e',
    );
    expect(first.text).toContain('escalated to you as navigator lead: it was not accepted within 24 h.');
    expect(second.subject).toBe(
      '[URGENT] Escalation to clinical lead: imaging-order not accepted in 48 h (R-LR-ESCALATE) #3f2a9c1e',
    );
  });

  it('task-escalated without hours (R-SURV-OVERDUE) says the task is still open', () => {
    const task = { ...TASK, priority: 'high' as const, type: 'surveillance-overdue', ruleId: 'R-SURV-OVERDUE' };
    const { subject, text } = renderTaskEmail({
      kind: 'task-escalated',
      task,
      baseUrl: BASE,
      escalationLevel: 'navigator-lead',
    });
    expect(subject).toBe(
      '[HIGH] Escalation to navigator lead: surveillance-overdue still open (R-SURV-OVERDUE) #3f2a9c1e',
    );
    expect(text).toContain('escalated to you as navigator lead: it is still open.');
  });

  it('task-escalated without an escalation level is refused rather than guessed', () => {
    expect(() => renderTaskEmail({ kind: 'task-escalated', task: TASK, baseUrl: BASE })).toThrow(/escalationLevel/);
    expect(() =>
      renderTaskEmail({
        kind: 'task-escalated',
        task: TASK,
        baseUrl: BASE,
        escalationLevel: 'navigator-lead',
        hoursUnaccepted: Number.NaN,
      }),
    ).toThrow(/hoursUnaccepted/);
  });
});

describe('renderTaskEmail: care-team alerts', () => {
  it('local-recurrence carries the evidence sentence of R-LR-ESCALATE', () => {
    const email = renderTaskEmail({ kind: 'care-team-alert', task: TASK, baseUrl: BASE, template: 'local-recurrence' });
    const sentence =
      'Local recurrence logged: it raises the risk of distant metastasis 8.4-fold (R-LR-ESCALATE). Urgent tasks are open.';
    expect(email.subject).toBe('[URGENT] Care team alert: local recurrence logged (R-LR-ESCALATE) #3f2a9c1e');
    expect(email.text.split('\n')[0]).toBe(sentence);
    expect(email.html).toContain(`<p>${sentence}</p>`);
  });

  it('distant-metastasis cites R-DM', () => {
    const task = { ...TASK, ruleId: 'R-DM' };
    const email = renderTaskEmail({ kind: 'care-team-alert', task, baseUrl: BASE, template: 'distant-metastasis' });
    expect(email.subject).toBe('[URGENT] Care team alert: distant metastasis logged (R-DM) #3f2a9c1e');
    expect(email.text.split('\n')[0]).toMatch(/^Distant metastasis logged: .*\(R-DM\)\. Urgent tasks are open/);
    expect(email.text).not.toContain('R-LR-ESCALATE');
  });

  it.each(['not-a-template', 'toString', undefined])('template %s gets the generic wording, not echoed', (template) => {
    const email = renderTaskEmail({ kind: 'care-team-alert', task: TASK, baseUrl: BASE, template });
    expect(email.subject).toBe('[URGENT] Care team alert: mdt-review due 2030-06-03 (R-LR-ESCALATE) #3f2a9c1e');
    expect(email.text.split('\n')[0]).toBe("A task needs the care team's attention.");
    if (template) expect(`${email.subject}${email.text}${email.html}`).not.toContain(template);
  });
});

describe('renderTaskEmail: body', () => {
  it('plain text: labelled lines, UTC due date, link', () => {
    const task = { ...TASK, dueAt: '2030-06-03T09:05:00+02:00' };
    const { text } = renderTaskEmail({ kind: 'task-assigned', task, baseUrl: `${BASE}/` });
    expect(text).toBe(
      [
        'A new task has been assigned to you.',
        '',
        'Task: 3f2a9c1e-7b4d-5e6f-8a9b-0c1d2e3f4a5b',
        'Type: mdt-review',
        'Priority: urgent',
        'Status: requested',
        'Due: 2030-06-03 07:05 UTC',
        'Rule: R-LR-ESCALATE',
        'Open: https://pathway.example.org/tasks/3f2a9c1e-7b4d-5e6f-8a9b-0c1d2e3f4a5b',
        '',
        'This message carries no patient-identifying data. Open the link to see the task.',
        '',
      ].join('\n'),
    );
  });

  it('the UTC due date decides the date in the subject', () => {
    const task = { ...TASK, dueAt: '2030-06-03T23:30:00-02:00' };
    const { subject, text } = renderTaskEmail({ kind: 'task-assigned', task, baseUrl: BASE });
    expect(subject).toContain('due 2030-06-04 ');
    expect(text).toContain('Due: 2030-06-04 01:30 UTC');
  });

  it('html: every value escaped, the link as an anchor', () => {
    const task = { ...TASK, taskId: 'id<1>&"2"', type: '<script>alert(1)</script>' };
    const { html, text } = renderTaskEmail({ kind: 'task-assigned', task, baseUrl: BASE });
    expect(html).not.toContain('<script>');
    expect(html).toContain('<td>&#60;script&#62;alert(1)&#60;/script&#62;</td>');
    expect(html).toContain('<td>id&#60;1&#62;&#38;&#34;2&#34;</td>');
    expect(html).toContain(
      '<a href="https://pathway.example.org/tasks/id%3C1%3E%26%222%22">https://pathway.example.org/tasks/id%3C1%3E%26%222%22</a>',
    );
    // The plain-text part is not HTML: values stay as they are.
    expect(text).toContain('Type: <script>alert(1)</script>');
  });

  it('refuses a due date that is not a date, and a base URL that is not http(s)', () => {
    expect(() => renderTaskEmail({ kind: 'task-assigned', task: { ...TASK, dueAt: 'soon' }, baseUrl: BASE })).toThrow(
      /dueAt/,
    );
    expect(() => renderTaskEmail({ kind: 'task-assigned', task: TASK, baseUrl: 'javascript:alert(1)//' })).toThrow(
      /baseUrl/,
    );
  });
});

/**
 * What goes out is only the listed facts. Two renders whose facts differ in every field, with each fact value replaced
 * by a placeholder, must give the same subject, text and html: so nothing else about the input reaches the email.
 * And fields a caller might pass by mistake (patient id, MRN, name, date of birth, the task's free-text reason) are
 * not read at all.
 */
describe('renderTaskEmail: only the listed facts go out', () => {
  const A = {
    task: {
      taskId: 'aaaa1111-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
      type: 'type-alpha',
      dueAt: '2030-06-03T09:05:00Z',
      ruleId: 'R-TEST-ALPHA',
      status: 'status-alpha',
    },
    baseUrl: 'https://alpha.example.org',
  };
  const B = {
    task: {
      taskId: 'bbbb2222-bbbb-4bbb-9bbb-bbbbbbbbbbbb',
      type: 'type-beta',
      dueAt: '2031-12-24T17:45:00Z',
      ruleId: 'R-TEST-BETA',
      status: 'status-beta',
    },
    baseUrl: 'http://beta.example.net:8080/pathway',
  };
  const placeholders = (out: string, facts: typeof A): string => {
    const iso = new Date(facts.task.dueAt).toISOString();
    const pairs: Array<[string, string]> = [
      [facts.baseUrl, '{baseUrl}'],
      [facts.task.taskId, '{taskId}'],
      [facts.task.taskId.slice(0, 8), '{shortId}'],
      [facts.task.type, '{type}'],
      [facts.task.ruleId, '{ruleId}'],
      [facts.task.status, '{status}'],
      [`${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`, '{dueDateTime}'],
      [iso.slice(0, 10), '{dueDate}'],
    ];
    return pairs.reduce((s, [value, name]) => s.split(value).join(name), out);
  };

  const variants: Array<Omit<RenderTaskEmailInput, 'task' | 'baseUrl'>> = [
    { kind: 'task-assigned' },
    { kind: 'task-reassigned' },
    { kind: 'task-escalated', escalationLevel: 'navigator-lead', hoursUnaccepted: 24 },
    { kind: 'task-escalated', escalationLevel: 'clinical-lead' },
    { kind: 'care-team-alert', template: 'local-recurrence' },
    { kind: 'care-team-alert', template: 'distant-metastasis' },
    { kind: 'care-team-alert' },
  ];
  const priorities = ['routine', 'high', 'urgent'] as const;

  it.each(variants.flatMap((v) => priorities.map((priority) => [v.kind, v, priority] as const)))(
    '%s (%j, %s)',
    (_kind, variant, priority) => {
      const render = (facts: typeof A) =>
        renderTaskEmail({ ...variant, baseUrl: facts.baseUrl, task: { ...facts.task, priority } });
      const a = render(A);
      const b = render(B);
      for (const part of ['subject', 'text', 'html'] as const) {
        // The facts are there...
        expect(a[part]).toContain(part === 'subject' ? A.task.taskId.slice(0, 8) : A.task.taskId);
        // ...and nothing else depends on the input.
        expect(placeholders(a[part], A)).toBe(placeholders(b[part], B));
      }
    },
  );

  it('ignores patient data and free text even when a caller passes them', () => {
    const leaky = {
      ...TASK,
      patientId: 'PAT-0042',
      mrn: 'MRN-778899',
      name: 'Jane Example',
      dateOfBirth: '1961-02-17',
      reason: 'local recurrence in report RPT-2024-5513',
    } as TaskEmailFacts;
    for (const variant of variants) {
      const email = renderTaskEmail({ ...variant, task: leaky, baseUrl: BASE });
      const all = `${email.subject}\n${email.text}\n${email.html}`;
      for (const secret of ['PAT-0042', 'MRN-778899', 'Jane', 'Example', '1961', 'RPT-2024-5513', 'report']) {
        expect(all).not.toContain(secret);
      }
    }
  });
});

describe('renderDigestEmail: many surveillance tasks in one email (EMAIL_DIGEST_AFTER)', () => {
  const task = (n: number, priority: 'high' | 'routine'): TaskEmailFacts => ({
    taskId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type: priority === 'high' ? 'surveillance-overdue' : 'imaging-order',
    priority,
    dueAt: `2030-06-${String(10 + (n % 20)).padStart(2, '0')}T09:00:00.000Z`,
    ruleId: priority === 'high' ? 'R-SURV-OVERDUE' : 'R-SURV-HG-IMAGING',
    status: 'requested',
  });

  it('lists each open task with its facts and link, and the worklist, when they fit', () => {
    const tasks = [task(1, 'high'), task(2, 'routine'), task(3, 'routine')];
    const email = renderDigestEmail({ assigned: 4, open: 3, high: 1, tasks, baseUrl: `${BASE}/` });
    expect(email.subject).toBe('[HIGH] Worklist digest: 3 tasks assigned to you (1 high priority)');
    expect(email.text).toContain('assigned 4 tasks to you at once; 3 of them are still open');
    expect(email.text).toContain('Each one is listed here');
    expect(email.text).toContain(
      `- surveillance-overdue, high, due 2030-06-11 09:00 UTC (R-SURV-OVERDUE): ${BASE}/tasks/${tasks[0].taskId}`,
    );
    for (const t of tasks) expect(email.html).toContain(`href="${BASE}/tasks/${t.taskId}"`);
    expect(email.text).toContain(`Worklist: ${BASE}/app/`);
    expect(email.text).toContain('no patient-identifying data');
  });

  it(`lists at most ${DIGEST_LISTED} and says the worklist has the rest; no tag when all are routine`, () => {
    const tasks = Array.from({ length: 40 }, (_, n) => task(n, 'routine'));
    const email = renderDigestEmail({ assigned: 40, open: 40, high: 0, tasks, baseUrl: BASE });
    expect(email.subject).toBe('Worklist digest: 40 tasks assigned to you');
    expect(email.text.split('\n').filter((line) => line.startsWith('- '))).toHaveLength(DIGEST_LISTED);
    expect(email.text).toContain(`The first ${DIGEST_LISTED} are listed here`);
    expect(email.text).not.toContain(tasks[DIGEST_LISTED].taskId);
  });

  it('escapes what it puts in HTML and refuses a non-web base URL', () => {
    const odd = { ...task(1, 'routine'), type: '<b>x</b>' };
    expect(renderDigestEmail({ assigned: 1, open: 1, high: 0, tasks: [odd], baseUrl: BASE }).html).not.toContain(
      '<b>x</b>',
    );
    expect(() =>
      renderDigestEmail({ assigned: 1, open: 1, high: 0, tasks: [odd], baseUrl: 'javascript:alert(1)' }),
    ).toThrow(RangeError);
  });
});
