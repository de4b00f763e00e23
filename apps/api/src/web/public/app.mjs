// @ts-check
/**
 * The navigator's worklist page (docs/worklist-page.md). Plain DOM, no framework, no build step.
 *
 * - The API key lives in sessionStorage (this tab only) and travels as `Authorization: Bearer`; never in a URL.
 * - The page's address and title never change: no patient or task id appears in either.
 * - Every action goes to the api, which applies the task lifecycle; a refusal (409, 403, 422) is shown as the
 *   server words it, and the task is read again, unchanged.
 * - It refreshes itself by polling GET /worklist/summary (a version of the worklist), every 15 s by default
 *   (`?refresh=<seconds>` to change it); the list is read again only when the version changed.
 * - Text from the server is only ever set as textContent (no HTML is built from data).
 */

const KEY_STORAGE = 'sarcoma.worklist.apiKey';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const PAGE_SIZE = 100;
const MAX_PAGE = 500;

const refreshSeconds = Number(new URLSearchParams(location.search).get('refresh') ?? '15');
const POLL_MS = (Number.isFinite(refreshSeconds) ? Math.min(300, Math.max(1, refreshSeconds)) : 15) * 1000;

/**
 * @typedef {{ id: string, name: string, role: string, active: boolean }} Colleague
 * @typedef {{ role: string, memberId: string, name: string, memberRole: string, team: { code: string, name: string }, members: Colleague[] }} Me
 * @typedef {{ id: string, summary: string, evidence: string | null, evidenceText: string[], references: string[], local: boolean }} RuleView
 * @typedef {Record<string, any>} Json
 */

const state = {
  /** @type {string | null} */ key: null,
  /** @type {Me | null} */ me: null,
  /** @type {Map<string, RuleView>} */ rules: new Map(),
  /** @type {'mine' | 'team'} */ scope: 'mine',
  filters: { type: '', priority: '', overdue: false },
  limit: PAGE_SIZE,
  /** @type {Json | null} */ summary: null,
  /** @type {string | null} */ version: null,
  /** Task ids seen in this list (scope and filters); null until the first load, so nothing is "arriving" then. */
  /** @type {Set<string> | null} */ known: null,
  /** @type {string | null} */ openTaskId: null,
  /** @type {'worklist' | 'team'} */ view: 'worklist',
  /** @type {ReturnType<typeof setTimeout> | undefined} */ timer: undefined,
  /** Each refresh's number: an answer that arrives after a newer refresh started is dropped. */
  seq: 0,
  busy: false,
};

/** @param {string} id */
function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element;
}

/**
 * Builds an element; children are nodes or text (set as text, never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, string | boolean | undefined>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

// ---- talking to the api ----------------------------------------------------------------------------------------

class ApiError extends Error {
  /** @param {number} status @param {string} message @param {unknown} body */
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The server's words for a refusal: its message, and the fields a validation named. @param {unknown} body */
function messageOf(body) {
  if (!body || typeof body !== 'object') return null;
  const { message, errors } = /** @type {Json} */ (body);
  const text = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : null;
  const fields = Array.isArray(errors)
    ? errors.map((e) => (e && typeof e === 'object' ? `${e.field}: ${e.reason}` : String(e))).join('; ')
    : '';
  return [text, fields].filter(Boolean).join(': ') || null;
}

/**
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', authorization: `Bearer ${state.key ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = messageOf(data) ?? `${res.status} ${res.statusText}`;
    // The key was revoked (or the member deactivated) while signed in: forget it.
    if (res.status === 401 && state.me) signOut(`You were signed out: ${message}.`);
    throw new ApiError(res.status, message, data);
  }
  return data;
}

// ---- words and dates -------------------------------------------------------------------------------------------

const ACRONYMS = new Set(['mdt', 'mri', 'ct']);

/** "imaging-order" → "Imaging order"; "mdt-review" → "MDT review". @param {string} code */
function label(code) {
  const words = code.split('-').map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const dateOnly = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** @param {string} iso @param {boolean} [withTime] */
function when(iso, withTime = true) {
  return h('time', { datetime: iso }, (withTime ? dateTime : dateOnly).format(new Date(iso)));
}

/** The server's clock (a test or a demo may run it anywhere): what "overdue" and "new" mean on this page. */
function serverNow() {
  return state.summary ? Date.parse(state.summary.now) : Date.now();
}

/** "in 2 days", "3 hours ago"… @param {number} ms */
function span(ms) {
  const abs = Math.abs(ms);
  if (abs >= 2 * DAY_MS) return `${Math.round(abs / DAY_MS)} days`;
  if (abs >= DAY_MS) return '1 day';
  const hours = Math.max(1, Math.round(abs / HOUR_MS));
  return hours === 1 ? '1 hour' : `${hours} hours`;
}

/** @param {string} dueAt @param {boolean} overdue */
function dueNote(dueAt, overdue) {
  const ms = Date.parse(dueAt) - serverNow();
  return overdue
    ? h('span', { class: 'overdue-text' }, `Overdue by ${span(ms)}`)
    : h('span', { class: 'sub' }, `due in ${span(ms)}`);
}

/** @param {string | null} memberId */
function memberName(memberId) {
  if (!memberId) return 'Unassigned';
  if (state.me && memberId === state.me.memberId) return 'You';
  return state.me?.members.find((m) => m.id === memberId)?.name ?? 'Someone outside your team';
}

/** @param {string} actor */
function actorName(actor) {
  if (actor === 'system') return 'the service';
  if (actor.startsWith('event:')) return 'a clinical event';
  return memberName(actor) === 'You' ? 'you' : memberName(actor);
}

/** @param {Json} task */
function taskTitle(task) {
  const what = [task.modality, task.region ? label(task.region).toLowerCase() : null].filter(Boolean).join(' ');
  return what ? `${label(task.type)}: ${what}` : label(task.type);
}

const ESCALATED_TO = ['', 'navigator lead', 'clinical lead'];

/** @param {string} text */
function announce(text) {
  const announcer = $('announcer');
  announcer.textContent = '';
  // A fresh text node: screen readers announce a change, not the same words twice.
  setTimeout(() => (announcer.textContent = text), 50);
}

/** @param {HTMLElement} element @param {string} text */
function say(element, text) {
  element.textContent = text;
}

// ---- sign in, sign out -----------------------------------------------------------------------------------------

/** @param {string} key */
async function signIn(key) {
  state.key = key;
  try {
    // Both asked at once, but /me answers first for the sign-in: who the key is decides the message (an admin key is
    // refused both, and the refusal of /rules must not be the one shown because it happened to arrive first).
    const asked = { me: api('GET', '/me'), rules: api('GET', '/rules') };
    asked.rules.catch(() => undefined);
    state.me = await asked.me;
    const rules = await asked.rules;
    state.rules = new Map(rules.items.map((/** @type {RuleView} */ r) => [r.id, r]));
  } catch (err) {
    state.key = null;
    throw err;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  const me = /** @type {Me} */ (state.me);
  say($('who-name'), `${me.name} · ${label(me.memberRole)} · ${me.team.name}`);
  $('who').hidden = false;
  $('sign-in').hidden = true;
  $('workspace').hidden = false;
  const lead = me.role === 'lead';
  // a navigator has one view, the worklist; a lead also the team overview
  $('views').hidden = !lead;
  for (const element of document.querySelectorAll('[data-lead-only]'))
    /** @type {HTMLElement} */ (element).hidden = !lead;
  const reassignTo = /** @type {HTMLSelectElement} */ ($('reassign-to'));
  reassignTo.replaceChildren(
    ...me.members
      .filter((m) => m.active)
      .map((m) => h('option', { value: m.id }, `${m.name} (${label(m.role).toLowerCase()})`)),
  );
  showView('worklist');
  await refresh(true);
  $('worklist-title').focus();
}

/** Forgets the key and every piece of data the page showed. @param {string} [why] */
function signOut(why = '') {
  sessionStorage.removeItem(KEY_STORAGE);
  clearTimeout(state.timer);
  Object.assign(state, {
    key: null,
    me: null,
    summary: null,
    version: null,
    known: null,
    openTaskId: null,
    limit: PAGE_SIZE,
    scope: 'mine',
    filters: { type: '', priority: '', overdue: false },
  });
  /** @type {HTMLFormElement} */ ($('filters')).reset();
  for (const element of document.querySelectorAll('[data-forget]')) element.replaceChildren();
  $('task').hidden = true;
  $('workspace').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  say($('sign-in-error'), why);
  const input = /** @type {HTMLInputElement} */ ($('api-key'));
  input.value = '';
  input.focus();
}

// ---- the worklist ----------------------------------------------------------------------------------------------

/** Reads the summary; reads the list (and the open task) again when it changed, or when asked to. */
async function refresh(force = false) {
  clearTimeout(state.timer);
  const seq = ++state.seq;
  const current = () => state.key !== null && seq === state.seq;
  try {
    const summary = await api('GET', `/worklist/summary?scope=${state.scope}`);
    if (!current()) return;
    state.summary = summary;
    renderCounts(summary);
    if (force || summary.version !== state.version) {
      const page = await fetchList();
      if (!current()) return;
      state.version = summary.version;
      renderList(page);
      if (state.openTaskId) await loadTask(state.openTaskId, false);
    }
    if (state.view === 'team') await loadTeam();
    if (current()) say($('refreshed'), `Up to date at ${timeOfDay.format(new Date())}.`);
  } catch (err) {
    if (current()) say($('refreshed'), `Could not refresh: ${errorText(err)}. Trying again.`);
  } finally {
    if (state.key && seq === state.seq) {
      clearTimeout(state.timer);
      state.timer = setTimeout(() => void refresh(), document.hidden ? POLL_MS * 4 : POLL_MS);
    }
  }
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {Json} summary */
function renderCounts(summary) {
  const typeSelect = /** @type {HTMLSelectElement} */ ($('filter-type'));
  const prioritySelect = /** @type {HTMLSelectElement} */ ($('filter-priority'));
  fillOptions(typeSelect, 'All types', summary.total, summary.byType);
  fillOptions(prioritySelect, 'All priorities', summary.total, summary.byPriority);
  say($('filter-overdue-label'), `Overdue only (${summary.overdue})`);
  const urgent = summary.byPriority.urgent ?? 0;
  say(
    $('summary'),
    `${summary.total} open · ${urgent} urgent · ${summary.overdue} overdue · ${summary.new} new since yesterday`,
  );
}

/**
 * Options with their counts; existing options are relabelled in place, so an open or focused select keeps its place.
 * @param {HTMLSelectElement} select @param {string} all @param {number} total @param {Record<string, number>} counts
 */
function fillOptions(select, all, total, counts) {
  const wanted = [['', `${all} (${total})`], ...Object.entries(counts).map(([k, n]) => [k, `${label(k)} (${n})`])];
  if (select.options.length !== wanted.length) {
    select.replaceChildren(...wanted.map(([value]) => h('option', { value })));
  }
  wanted.forEach(([value, text], i) => {
    const option = select.options[i];
    option.value = value;
    option.textContent = text;
  });
  select.value = select.name === 'type' ? state.filters.type : state.filters.priority;
}

async function fetchList() {
  const query = new URLSearchParams({ scope: state.scope, limit: String(state.limit) });
  if (state.filters.type) query.set('type', state.filters.type);
  if (state.filters.priority) query.set('priority', state.filters.priority);
  if (state.filters.overdue) query.set('overdue', 'true');
  return api('GET', `/worklist?${query}`);
}

/** @param {{ items: Json[], total: number }} page */
function renderList(page) {
  const arrived = state.known ? page.items.filter((t) => !state.known?.has(t.id)) : [];
  state.known = new Set([...(state.known ?? []), ...page.items.map((t) => t.id)]);
  renderRows(page.items, new Set(arrived.map((t) => t.id)));
  say($('shown'), page.total > page.items.length ? `Showing ${page.items.length} of ${page.total}.` : '');
  $('more').hidden = page.total <= page.items.length || state.limit >= MAX_PAGE;
  if (arrived.length > 0) {
    const first = arrived[0];
    announce(
      arrived.length === 1
        ? `New task: ${taskTitle(first)}, ${first.priority}.`
        : `${arrived.length} new tasks, the first: ${taskTitle(first)}, ${first.priority}.`,
    );
  }
}

/** @param {Json[]} items @param {Set<string>} arrived */
function renderRows(items, arrived) {
  const focused = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.taskId;
  const newSince = state.summary ? Date.parse(state.summary.newSince) : 0;
  const rows = items.map((task) => {
    const isNew = Date.parse(task.createdAt) >= newSince;
    const classes = [task.overdue ? 'is-overdue' : '', arrived.has(task.id) ? 'arrived' : ''].filter(Boolean);
    return h(
      'tr',
      { 'data-task-id': task.id, class: classes.join(' ') || undefined },
      h('td', {}, h('span', { class: `badge priority-${task.priority}` }, label(task.priority))),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'data-task-id': task.id,
            'aria-current': task.id === state.openTaskId ? 'true' : undefined,
          },
          taskTitle(task),
        ),
        h(
          'span',
          { class: 'sub' },
          `${task.ruleId} · patient ${task.patientId}`,
          isNew ? h('span', { class: 'badge new' }, 'New') : null,
          task.escalationLevel > 0
            ? h('span', { class: 'badge escalated' }, `Escalated to ${ESCALATED_TO[task.escalationLevel]}`)
            : null,
        ),
      ),
      h('td', {}, when(task.dueAt), h('br'), dueNote(task.dueAt, task.overdue)),
      h('td', {}, label(task.status)),
      h('td', {}, memberName(task.assigneeId)),
    );
  });
  $('task-rows').replaceChildren(...rows);
  $('empty').hidden = items.length > 0;
  if (focused) /** @type {HTMLElement | null} */ (document.querySelector(`button[data-task-id="${focused}"]`))?.focus();
}

// ---- one task --------------------------------------------------------------------------------------------------

/** @param {string} id @param {boolean} [focus] */
async function loadTask(id, focus = true) {
  const task = await api('GET', `/tasks/${encodeURIComponent(id)}`);
  const patientPath = `/patients/${encodeURIComponent(task.patientId)}`;
  const [patient, timeline] = await Promise.all([
    api('GET', patientPath).catch(() => null),
    api('GET', `${patientPath}/timeline`).catch(() => null),
  ]);
  if (!state.key) return;
  state.openTaskId = id;
  renderTask(task);
  renderPatient(patient, timeline);
  for (const button of document.querySelectorAll('#task-rows button[data-task-id]')) {
    if (/** @type {HTMLElement} */ (button).dataset.taskId === id) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
  $('task').hidden = false;
  if (focus) $('task-title').focus();
}

/** @param {Json} task */
function renderTask(task) {
  say($('task-title'), `${taskTitle(task)} · ${label(task.priority)}`);
  const facts = [
    ['Status', label(task.status)],
    ['Due', h('span', {}, when(task.dueAt), ' ', task.overdue ? dueNote(task.dueAt, true) : null)],
    ['Assigned to', memberName(task.assigneeId)],
    ['Team', task.teamCode ?? 'not routed yet'],
    ['Opened', when(task.createdAt)],
    ['Escalated to', task.escalationLevel > 0 ? ESCALATED_TO[task.escalationLevel] : 'no one'],
  ];
  $('task-facts').replaceChildren(...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));

  const rule = state.rules.get(task.ruleId);
  // h() leaves out the parts that do not apply (null); replaceChildren would print them as "null"
  const why = h(
    'div',
    {},
    h('p', {}, task.reason),
    h(
      'p',
      { class: 'rule' },
      h('strong', {}, task.ruleId),
      rule ? `: ${rule.summary}` : ' (not in the rule table)',
      rule?.local ? ' (a choice of this service where the clinical rules are silent)' : null,
    ),
    rule && rule.evidenceText.length > 0
      ? h(
          'div',
          { class: 'evidence' },
          h('p', {}, 'Evidence:'),
          h('ul', {}, ...rule.evidenceText.map((text) => h('li', {}, text))),
        )
      : null,
    rule && rule.references.length > 0
      ? h(
          'p',
          { class: 'sub' },
          `Source: reference ${rule.references.map((r) => `[${r}]`).join(', ')} of the pathway rules.`,
        )
      : null,
  );
  $('task-why').replaceChildren(...why.childNodes);
  const reassignTo = /** @type {HTMLSelectElement} */ ($('reassign-to'));
  for (const option of reassignTo.options) option.disabled = option.value === task.assigneeId;
  if (reassignTo.selectedOptions[0]?.disabled) {
    const next = [...reassignTo.options].find((o) => !o.disabled);
    if (next) reassignTo.value = next.value;
  }

  $('history').replaceChildren(
    ...task.history.map((/** @type {Json} */ entry) =>
      h(
        'li',
        {},
        when(entry.at),
        ' ',
        h('strong', {}, label(entry.action)),
        ` by ${actorName(entry.actor)}`,
        entry.fromStatus && entry.toStatus && entry.fromStatus !== entry.toStatus
          ? ` (${label(entry.fromStatus)} → ${label(entry.toStatus)})`
          : '',
        entry.action === 'routed' || entry.action === 'reassign' ? ` to ${memberName(entry.assigneeId)}` : '',
        entry.reason && entry.action !== 'created' ? h('span', { class: 'sub' }, `Reason: ${entry.reason}`) : null,
      ),
    ),
  );
}

/** @param {Json | null} patient @param {Json | null} timeline */
function renderPatient(patient, timeline) {
  if (!patient) {
    $('patient-facts').replaceChildren(h('dt', {}, 'Patient'), h('dd', {}, 'not found'));
    $('patient-risk').replaceChildren();
    $('plan-rows').replaceChildren();
    $('timeline').replaceChildren();
    return;
  }
  $('patient-facts').replaceChildren(
    h('dt', {}, 'Patient'),
    h('dd', {}, patient.patientId),
    h('dt', {}, 'Pathway state'),
    h('dd', { 'data-pathway-state': patient.state }, label(patient.state)),
    h('dt', {}, 'Open tasks'),
    h('dd', {}, String(patient.openTasks.length)),
  );
  const annotations = patient.risk?.annotations ?? [];
  $('patient-risk').replaceChildren(...annotations.map((/** @type {string} */ a) => h('li', {}, a)));

  const now = serverNow();
  const items = patient.surveillancePlan;
  $('plan-rows').replaceChildren(
    ...items.map((/** @type {Json} */ item) => {
      const planned = item.status === 'planned';
      const overdue = planned && Date.parse(item.overdueAt) < now;
      const due = planned && !overdue && Date.parse(item.dueAt) <= now;
      const status = overdue ? 'Overdue' : due ? 'Due now' : label(item.status);
      const kind = label(item.kind);
      const what = item.modality && !kind.includes(item.modality) ? `${kind} (${item.modality})` : kind;
      return h(
        'tr',
        { class: overdue ? 'is-overdue' : undefined },
        h('td', {}, what, h('span', { class: 'sub' }, item.ruleId)),
        h('td', {}, when(item.dueAt, false)),
        h('td', {}, when(item.overdueAt, false)),
        h('td', {}, overdue ? h('span', { class: 'overdue-text' }, status) : status),
      );
    }),
  );
  $('plan-empty').hidden = items.length > 0;

  $('timeline').replaceChildren(
    ...(timeline?.events ?? []).map((/** @type {Json} */ event) =>
      h(
        'li',
        {},
        when(event.occurredAt),
        ' ',
        h('strong', {}, event.type),
        event.outcome && event.outcome !== 'applied' ? ` (${event.outcome})` : '',
        event.effects.length > 0
          ? h('ul', { class: 'effects' }, ...event.effects.map((/** @type {Json} */ e) => h('li', {}, effectText(e))))
          : null,
      ),
    ),
  );
}

/** @param {Json} effect */
function effectText(effect) {
  const rule = ` (${effect.ruleId})`;
  switch (effect.kind) {
    case 'open-task':
      return `opened a task: ${taskTitle(effect)}, ${effect.priority}${rule}`;
    case 'close-tasks':
      return `${effect.outcome} open ${effect.types.map(label).join(', ')} tasks${rule}`;
    case 'plan-surveillance':
      return `planned ${effect.schedule} surveillance, ${effect.itemCount} items so far${rule}`;
    case 'extend-surveillance':
      return `extended the surveillance plan by ${effect.itemCount} items${rule}`;
    case 'cancel-surveillance':
      return `cancelled surveillance${rule}`;
    case 'fulfil-surveillance':
      return `fulfilled a ${label(effect.itemKind).toLowerCase()} item${rule}`;
    case 'notify':
      return `notified the ${effect.audience.replace('-', ' ')}${rule}`;
    case 'transition':
      return `pathway ${effect.from ? `${label(effect.from).toLowerCase()} → ` : 'opened: '}${label(effect.to).toLowerCase()}${rule}`;
    case 'supersede-report':
      return `superseded the earlier report ${effect.reportId}${rule}`;
    default:
      return `${label(String(effect.kind))}${rule}`;
  }
}

/** @param {string} action */
async function act(action) {
  const id = state.openTaskId;
  if (!id || state.busy) return;
  const reasonInput = /** @type {HTMLInputElement} */ ($('action-reason'));
  const reason = reasonInput.value.trim();
  /** @type {Record<string, string>} */
  const body = reason ? { reason } : {};
  if (action === 'reassign') body.assigneeId = /** @type {HTMLSelectElement} */ ($('reassign-to')).value;
  say($('action-error'), '');
  say($('action-done'), '');
  setBusy(true);
  try {
    const task = await api('POST', `/tasks/${encodeURIComponent(id)}/${action}`, body);
    reasonInput.value = '';
    renderTask(task);
    say(
      $('action-done'),
      action === 'reassign'
        ? `Reassigned to ${memberName(task.assigneeId)}.`
        : `Done: ${label(action).toLowerCase()}. The task is now ${label(task.status).toLowerCase()}.`,
    );
  } catch (err) {
    if (!state.key) return;
    say($('action-error'), `Not done: ${errorText(err)}`);
  } finally {
    setBusy(false);
  }
  // Whatever happened, show what the server has now.
  await refresh(true);
}

/** @param {boolean} busy */
function setBusy(busy) {
  state.busy = busy;
  $('task-actions').setAttribute('aria-busy', String(busy));
  for (const button of document.querySelectorAll('#task-actions button')) {
    /** @type {HTMLButtonElement} */ (button).disabled = busy;
  }
}

// ---- the lead's team overview ----------------------------------------------------------------------------------

async function loadTeam() {
  const [load, escalations, deadLetters] = await Promise.all([
    api('GET', '/team/load'),
    api('GET', '/team/escalations'),
    api('GET', '/dead-letters?status=open&limit=50'),
  ]);
  if (!state.key) return;
  $('load-rows').replaceChildren(
    ...load.members.map((/** @type {Json} */ m) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, m.name, m.active ? null : h('span', { class: 'sub' }, 'inactive')),
        h('td', {}, label(m.role)),
        ...['open', 'urgent', 'overdue', 'inProgress', 'onHold', 'escalated'].map((k) =>
          h('td', { class: 'num' }, String(m[k])),
        ),
      ),
    ),
  );
  say($('unassigned'), `Open tasks of the team with nobody assigned: ${load.unassigned}.`);

  $('escalation-rows').replaceChildren(
    ...escalations.items.map((/** @type {Json} */ t) =>
      h(
        'tr',
        {},
        h(
          'td',
          {},
          h('button', { type: 'button', class: 'link', 'data-open-task': t.id }, taskTitle(t)),
          h('span', { class: 'sub' }, `${label(t.priority)} · ${t.ruleId} · patient ${t.patientId}`),
        ),
        h('td', {}, memberName(t.assigneeId)),
        h('td', {}, t.escalationLevel > 0 ? ESCALATED_TO[t.escalationLevel] : 'not yet'),
        h(
          'td',
          {},
          t.nextEscalation
            ? h('span', {}, `${label(t.nextEscalation.recipient)} at `, when(t.nextEscalation.dueAt))
            : 'none: the chain has run',
        ),
      ),
    ),
  );
  $('escalations-empty').hidden = escalations.items.length > 0;

  // A correction being typed is not thrown away by a refresh.
  const list = $('dead-letters');
  if (list.querySelector('textarea:focus, details[open]')) return;
  list.replaceChildren(...deadLetters.items.map(deadLetterItem));
  $('dead-letters-empty').hidden = deadLetters.items.length > 0;
}

/** @param {Json} letter */
function deadLetterItem(letter) {
  const correctionId = `correction-${letter.id}`;
  return h(
    'li',
    { 'data-dead-letter': String(letter.id) },
    h(
      'p',
      {},
      h('strong', {}, `#${letter.id} ${letter.eventType ?? 'unknown type'}`),
      ` · ${letter.channel} · received `,
      when(letter.receivedAt),
      letter.eventId ? ` · event ${letter.eventId}` : '',
    ),
    h(
      'ul',
      { class: 'plain-list' },
      ...letter.errors.map((/** @type {Json} */ e) => h('li', {}, `${e.field}: ${e.reason}`)),
    ),
    h('button', { type: 'button', 'data-replay': String(letter.id) }, 'Replay'),
    h(
      'details',
      {},
      h('summary', {}, 'Correct and replay'),
      h('label', { for: correctionId }, 'Corrected event (JSON)'),
      h(
        'textarea',
        { id: correctionId, rows: '8', spellcheck: 'false' },
        JSON.stringify(letter.payload, null, 2) ?? '',
      ),
      h('button', { type: 'button', 'data-replay': String(letter.id), 'data-corrected': 'true' }, 'Replay corrected'),
    ),
  );
}

/** @param {string} id @param {boolean} corrected */
async function replay(id, corrected) {
  say($('dead-letter-error'), '');
  say($('dead-letter-done'), '');
  /** @type {Json} */
  let body = {};
  if (corrected) {
    const text = /** @type {HTMLTextAreaElement} */ ($(`correction-${id}`)).value;
    try {
      body = { event: JSON.parse(text) };
    } catch {
      say($('dead-letter-error'), `Dead letter #${id}: the corrected event is not valid JSON.`);
      return;
    }
  }
  try {
    const result = await api('POST', `/dead-letters/${encodeURIComponent(id)}/replay`, body);
    say($('dead-letter-done'), `Dead letter #${id} replayed as ${result.eventId}.`);
    $('dead-letters').replaceChildren();
  } catch (err) {
    if (!state.key) return;
    say($('dead-letter-error'), `Dead letter #${id} not replayed: ${errorText(err)}`);
    return;
  }
  await loadTeam();
}

/** @param {'worklist' | 'team'} view */
function showView(view) {
  state.view = view;
  $('worklist-view').hidden = view !== 'worklist';
  $('team-view').hidden = view !== 'team';
  $('view-worklist').setAttribute('aria-pressed', String(view === 'worklist'));
  $('view-team').setAttribute('aria-pressed', String(view === 'team'));
}

// ---- wiring ----------------------------------------------------------------------------------------------------

function resetList() {
  state.known = null;
  state.limit = PAGE_SIZE;
  void refresh(true);
}

function wire() {
  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('api-key'));
    const key = input.value.trim();
    const error = $('sign-in-error');
    if (!key) {
      say(error, 'Enter your API key.');
      input.focus();
      return;
    }
    say(error, '');
    const button = /** @type {HTMLButtonElement} */ ($('sign-in-button'));
    button.disabled = true;
    try {
      await signIn(key);
      input.value = '';
    } catch (err) {
      const message = errorText(err);
      say(
        error,
        err instanceof ApiError && err.status === 403
          ? `This page is for navigators and leads (${message}).`
          : `Not signed in: ${message}.`,
      );
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  $('sign-out').addEventListener('click', () => signOut('You signed out.'));

  const filters = /** @type {HTMLFormElement} */ ($('filters'));
  filters.addEventListener('submit', (event) => event.preventDefault());
  filters.addEventListener('change', (event) => {
    const target = /** @type {HTMLInputElement | HTMLSelectElement} */ (event.target);
    if (target.name === 'scope') state.scope = target.value === 'team' ? 'team' : 'mine';
    if (target.name === 'type') state.filters.type = target.value;
    if (target.name === 'priority') state.filters.priority = target.value;
    if (target.name === 'overdue') state.filters.overdue = /** @type {HTMLInputElement} */ (target).checked;
    resetList();
  });
  $('more').addEventListener('click', () => {
    state.limit = Math.min(MAX_PAGE, state.limit + PAGE_SIZE);
    void refresh(true);
  });
  $('refresh').addEventListener('click', () => void refresh(true));

  document.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const row = target.closest('button[data-task-id]');
    if (row) void openTask(/** @type {HTMLElement} */ (row).dataset.taskId ?? '');
    const fromTeam = target.closest('button[data-open-task]');
    if (fromTeam) {
      showView('worklist');
      void openTask(/** @type {HTMLElement} */ (fromTeam).dataset.openTask ?? '');
    }
    const action = target.closest('#task-actions button[data-action]');
    if (action) void act(/** @type {HTMLElement} */ (action).dataset.action ?? '');
    const replayButton = target.closest('button[data-replay]');
    if (replayButton) {
      const data = /** @type {HTMLElement} */ (replayButton).dataset;
      void replay(data.replay ?? '', data.corrected === 'true');
    }
  });
  $('task-actions').addEventListener('submit', (event) => event.preventDefault());

  $('view-worklist').addEventListener('click', () => showView('worklist'));
  $('view-team').addEventListener('click', () => {
    showView('team');
    void loadTeam().catch((err) => say($('dead-letter-error'), errorText(err)));
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.key) void refresh();
  });
}

/** @param {string} id */
async function openTask(id) {
  say($('action-error'), '');
  say($('action-done'), '');
  try {
    await loadTask(id);
  } catch (err) {
    if (!state.key) return;
    say($('refreshed'), `Could not open the task: ${errorText(err)}`);
  }
}

wire();
const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) {
  signIn(saved).catch((err) => signOut(`Please sign in again: ${errorText(err)}.`));
} else {
  /** @type {HTMLInputElement} */ ($('api-key')).focus();
}
