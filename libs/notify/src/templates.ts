/**
 * Task notification emails. Pure: no I/O, no clock.
 *
 * Emails leave the service, so they carry only what is in `TaskEmailFacts` (task id, type, priority, status, due
 * date, rule id) and a link to the task (invariant 7; pathway rules section 5). There is deliberately no field for
 * the task's `reason`: it is free text and may name report numbers. Patient id, MRN, name and date of birth never
 * reach this module.
 */

/** The emails about one task. */
export type NotificationKind = 'task-assigned' | 'task-reassigned' | 'task-escalated' | 'care-team-alert';

/** The one email about many tasks (renderDigestEmail). */
export const DIGEST_KIND = 'task-digest';

export type EscalationLevel = 'navigator-lead' | 'clinical-lead';

export type TaskEmailPriority = 'routine' | 'high' | 'urgent';

export interface TaskEmailFacts {
  taskId: string;
  type: string;
  priority: TaskEmailPriority;
  /** ISO date-time. */
  dueAt: string;
  /** The rule that opened the task, e.g. R-LR-ESCALATE. */
  ruleId: string;
  status: string;
}

export interface RenderTaskEmailInput {
  kind: NotificationKind;
  task: TaskEmailFacts;
  /** Where the api's task pages live, e.g. https://pathway.example.org (a trailing slash is dropped). */
  baseUrl: string;
  /** Required for 'task-escalated'. */
  escalationLevel?: EscalationLevel;
  /** For 'task-escalated': hours the task went unaccepted (R-LR-ESCALATE); omitted for R-SURV-OVERDUE. */
  hoursUnaccepted?: number;
  /** For 'care-team-alert': the pathway's notify template, e.g. 'local-recurrence' or 'distant-metastasis'. */
  template?: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const SUBJECT_TAG: Record<TaskEmailPriority, string> = { routine: '', high: '[HIGH] ', urgent: '[URGENT] ' };

const LEAD: Record<EscalationLevel, string> = { 'navigator-lead': 'navigator lead', 'clinical-lead': 'clinical lead' };

/**
 * Care-team alerts by pathway template. The evidence sentences are clinical facts from the rules
 * (shared/clinical/pathway-rules.md, reference [1]), the same for every patient.
 */
const CARE_TEAM_ALERTS: Record<string, { headline: string; lines: string[] }> = {
  'local-recurrence': {
    headline: 'Care team alert: local recurrence logged (R-LR-ESCALATE)',
    lines: [
      'Local recurrence logged: it raises the risk of distant metastasis 8.4-fold (R-LR-ESCALATE). Urgent tasks are open.',
    ],
  },
  'distant-metastasis': {
    headline: 'Care team alert: distant metastasis logged (R-DM)',
    lines: [
      'Distant metastasis logged: it raises the risk of death 12.6-fold (R-DM). Urgent tasks are open: MDT review and medical-oncology referral.',
    ],
  },
};

const FOOTER = 'This message carries no patient-identifying data. Open the link to see the task.';

export function renderTaskEmail(input: RenderTaskEmailInput): RenderedEmail {
  const { task } = input;
  const due = formatDue(task.dueAt);
  const link = taskLink(input.baseUrl, task.taskId);
  const { headline, lines } = describe(input, due.date);

  const subject = `${SUBJECT_TAG[task.priority] ?? ''}${headline} #${task.taskId.slice(0, 8)}`;
  const facts: Array<[string, string]> = [
    ['Task', task.taskId],
    ['Type', task.type],
    ['Priority', task.priority],
    ['Status', task.status],
    ['Due', due.dateTime],
    ['Rule', task.ruleId],
  ];

  const { text, html } = bothForms(lines, {
    text: [...facts.map(([label, value]) => `${label}: ${value}`), `Open: ${link}`],
    html: [
      '<table>',
      ...facts.map(([label, value]) => `<tr><th align="left">${label}</th><td>${escapeHtml(value)}</td></tr>`),
      `<tr><th align="left">Open</th><td><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></td></tr>`,
      '</table>',
    ],
  });

  return { subject, text, html };
}

export interface RenderDigestEmailInput {
  /** How many tasks the digest was written for (the emails it replaced). */
  assigned: number;
  /** How many of them are still open now. */
  open: number;
  /** How many of the open ones are high priority (the sweep holds back no urgent task's email). */
  high: number;
  /** The open tasks to list, in worklist order (urgent, high, routine; then due date); at most DIGEST_LISTED. */
  tasks: TaskEmailFacts[];
  baseUrl: string;
}

/** How many tasks a digest lists by link; the worklist has the rest. */
export const DIGEST_LISTED = 25;

/**
 * One email for many tasks the surveillance sweep assigned at once (EMAIL_DIGEST_AFTER): the same facts as a task
 * email for each listed task, and a link to the worklist for the rest.
 */
export function renderDigestEmail(input: RenderDigestEmailInput): RenderedEmail {
  const listed = input.tasks.slice(0, DIGEST_LISTED);
  const worklist = `${webBase(input.baseUrl)}/app/`;
  const lines = [
    `The surveillance schedule assigned ${countOfTasks(input.assigned)} to you at once; ${input.open} of them ` +
      `${input.open === 1 ? 'is' : 'are'} still open. ` +
      'They are on your worklist; this one email lists them instead of one email each.',
    listed.length < input.open
      ? `The first ${listed.length} are listed here (high priority first, then by due date); the worklist has the rest.`
      : 'Each one is listed here, high priority first, then by due date.',
  ];
  const items = listed.map((t) => ({
    line: `${t.type}, ${t.priority}, due ${formatDue(t.dueAt).dateTime} (${t.ruleId})`,
    link: taskLink(input.baseUrl, t.taskId),
  }));
  const subject =
    `${input.high > 0 ? SUBJECT_TAG.high : ''}Worklist digest: ${countOfTasks(input.open)} assigned to you` +
    (input.high > 0 ? ` (${input.high} high priority)` : '');
  const { text, html } = bothForms(lines, {
    text: [...items.map((i) => `- ${i.line}: ${i.link}`), '', `Worklist: ${worklist}`],
    html: [
      '<ul>',
      ...items.map((i) => `<li><a href="${escapeHtml(i.link)}">${escapeHtml(i.line)}</a></li>`),
      '</ul>',
      `<p><a href="${escapeHtml(worklist)}">Open the worklist</a></p>`,
    ],
  });
  return { subject, text, html };
}

function describe(input: RenderTaskEmailInput, dueDate: string): { headline: string; lines: string[] } {
  const { task } = input;
  const what = `${task.type} due ${dueDate} (${task.ruleId})`;
  switch (input.kind) {
    case 'task-assigned':
      return { headline: `New task: ${what}`, lines: ['A new task has been assigned to you.'] };
    case 'task-reassigned':
      return { headline: `Task reassigned to you: ${what}`, lines: ['A task has been reassigned to you.'] };
    case 'task-escalated': {
      if (!input.escalationLevel || !Object.hasOwn(LEAD, input.escalationLevel)) {
        // Guessing the recipient role would tell the wrong person it is theirs.
        throw new TypeError('renderTaskEmail: task-escalated needs escalationLevel');
      }
      const lead = LEAD[input.escalationLevel];
      const hours = input.hoursUnaccepted;
      if (hours !== undefined && !(Number.isFinite(hours) && hours >= 0)) {
        throw new RangeError('renderTaskEmail: hoursUnaccepted must be a non-negative number');
      }
      const shown = hours === undefined ? undefined : Math.round(hours * 10) / 10;
      const why = shown === undefined ? 'still open' : `not accepted in ${shown} h`;
      return {
        headline: `Escalation to ${lead}: ${task.type} ${why} (${task.ruleId})`,
        lines: [
          shown === undefined
            ? `This task has been escalated to you as ${lead}: it is still open.`
            : `This task has been escalated to you as ${lead}: it was not accepted within ${shown} h.`,
        ],
      };
    }
    case 'care-team-alert': {
      // An unknown template gets the generic wording; its name is not echoed (only known facts go out).
      const known =
        input.template !== undefined && Object.hasOwn(CARE_TEAM_ALERTS, input.template)
          ? CARE_TEAM_ALERTS[input.template]
          : undefined;
      return known ?? { headline: `Care team alert: ${what}`, lines: ["A task needs the care team's attention."] };
    }
    default: {
      const never: never = input.kind;
      throw new TypeError(`renderTaskEmail: unknown kind ${String(never)}`);
    }
  }
}

const countOfTasks = (n: number) => `${n} task${n === 1 ? '' : 's'}`;

/** A message's text and HTML forms: its lines as paragraphs, then its own body in each form, then the footer. */
function bothForms(lines: string[], body: { text: string[]; html: string[] }): { text: string; html: string } {
  return {
    text: [...lines, '', ...body.text, '', FOOTER, ''].join('\n'),
    html: [
      '<!doctype html>',
      '<html><body>',
      ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
      ...body.html,
      `<p>${escapeHtml(FOOTER)}</p>`,
      '</body></html>',
      '',
    ].join('\n'),
  };
}

/** UTC, so every reader sees the same value whatever their mail client's time zone; labelled as such. */
function formatDue(dueAt: string): { date: string; dateTime: string } {
  const ms = Date.parse(dueAt);
  if (Number.isNaN(ms)) throw new RangeError('renderTaskEmail: task.dueAt is not an ISO date-time');
  const iso = new Date(ms).toISOString();
  return { date: iso.slice(0, 10), dateTime: `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` };
}

function taskLink(baseUrl: string, taskId: string): string {
  return `${webBase(baseUrl)}/tasks/${encodeURIComponent(taskId)}`;
}

function webBase(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  // Only web links: a javascript: or data: base would turn the button into something else.
  if (!/^https?:\/\/[^/\s]+/i.test(base)) throw new RangeError('renderTaskEmail: baseUrl must be an http(s) URL');
  return base;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
