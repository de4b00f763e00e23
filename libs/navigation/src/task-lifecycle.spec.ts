import { planTaskAction, TASK_ACTIONS, TASK_STATUSES, type TaskActor, type TaskSnapshot } from './task-lifecycle';

const ann: TaskActor = { role: 'navigator', memberId: 'ann', teamCode: 'navigators' };
const bob: TaskActor = { role: 'navigator', memberId: 'bob', teamCode: 'navigators' };
const lead: TaskActor = { role: 'lead', memberId: 'lee', teamCode: 'navigators' };
const task = (over: Partial<TaskSnapshot> = {}): TaskSnapshot => ({
  status: 'requested',
  heldFrom: null,
  assigneeId: 'ann',
  teamCode: 'navigators',
  ...over,
});

describe('task lifecycle (FHIR Task status codes)', () => {
  it('walks requested → accepted → in-progress → completed', () => {
    const accepted = planTaskAction(task(), 'accept', ann);
    expect(accepted).toMatchObject({ ok: true, to: 'accepted', accepted: true, assigneeId: 'ann' });
    expect(planTaskAction(task({ status: 'accepted' }), 'start', ann)).toMatchObject({ ok: true, to: 'in-progress' });
    expect(planTaskAction(task({ status: 'in-progress' }), 'complete', ann)).toMatchObject({
      ok: true,
      to: 'completed',
    });
  });

  it('refuses an illegal move with 409 and names the moves allowed now', () => {
    expect(planTaskAction(task(), 'complete', ann)).toEqual({
      ok: false,
      status: 409,
      message: 'cannot complete a task that is requested; allowed now: accept, hold, reject, cancel, reassign',
    });
    expect(planTaskAction(task({ status: 'completed' }), 'accept', ann)).toMatchObject({
      status: 409,
      message: expect.stringContaining('none (the task is closed)'),
    });
  });

  it('every action from every status is either a legal move or a refusal, never a throw', () => {
    for (const status of TASK_STATUSES)
      for (const action of TASK_ACTIONS) {
        const plan = planTaskAction(task({ status, heldFrom: 'accepted' }), action, lead, {
          reason: 'r',
          assigneeId: 'bob',
        });
        expect(plan.ok || [403, 409, 422].includes(plan.status)).toBe(true);
      }
  });

  it('hold remembers the status and resume returns to it', () => {
    const held = planTaskAction(task({ status: 'in-progress' }), 'hold', ann, { reason: 'patient abroad' });
    expect(held).toMatchObject({ ok: true, to: 'on-hold', heldFrom: 'in-progress' });
    expect(planTaskAction(task({ status: 'on-hold', heldFrom: 'in-progress' }), 'resume', ann)).toMatchObject({
      ok: true,
      to: 'in-progress',
      heldFrom: null,
    });
  });

  it('reject needs a reason, frees the task and sends it back to routing', () => {
    expect(planTaskAction(task(), 'reject', ann)).toMatchObject({ ok: false, status: 422 });
    expect(planTaskAction(task(), 'reject', ann, { reason: 'not my site' })).toMatchObject({
      ok: true,
      to: 'rejected',
      assigneeId: null,
      reroute: true,
    });
  });

  it('a navigator accepts a team task (taking it over) but works only their own; leads reassign and cancel', () => {
    expect(planTaskAction(task(), 'accept', bob)).toMatchObject({ ok: true, assigneeId: 'bob' });
    expect(planTaskAction(task({ status: 'accepted' }), 'start', bob)).toMatchObject({ ok: false, status: 403 });
    expect(planTaskAction(task(), 'cancel', ann, { reason: 'dup' })).toMatchObject({ ok: false, status: 403 });
    expect(planTaskAction(task(), 'reassign', lead, { reason: 'leave', assigneeId: 'bob' })).toMatchObject({
      ok: true,
      to: 'requested',
      assigneeId: 'bob',
      newAssignee: true,
    });
    expect(planTaskAction(task(), 'reassign', lead, { assigneeId: 'bob' })).toMatchObject({ status: 422 });
  });

  it('another team, an integration key or an admin key cannot touch the task', () => {
    const other: TaskActor = { role: 'lead', memberId: 'x', teamCode: 'radiotherapy' };
    expect(planTaskAction(task(), 'accept', other)).toMatchObject({ ok: false, status: 403 });
    expect(planTaskAction(task(), 'accept', { role: 'admin', memberId: null, teamCode: null })).toMatchObject({
      status: 403,
    });
    expect(planTaskAction(task(), 'accept', { role: 'integration', memberId: null, teamCode: null })).toMatchObject({
      status: 403,
    });
  });
});
