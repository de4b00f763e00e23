import { DEFAULT_ROUTING, parseRoutingRules, routeTask, type RoutingMember } from './routing';

const nav = (id: string, openTasks: number, role: RoutingMember['role'] = 'navigator'): RoutingMember => ({
  id,
  role,
  active: true,
  openTasks,
});
const teams = new Map<string, RoutingMember[]>([
  ['navigators', [nav('n1', 5), nav('n2', 2), nav('n3', 2), nav('lead', 0, 'navigator-lead')]],
  ['SARC-NORTH', [nav('c1', 9)]],
  ['surgical-oncology', [nav('s1', 0, 'navigator-lead')]],
  ['tumour-board', [nav('t1', 3, 'coordinator'), { ...nav('t0', 0, 'coordinator'), active: false }]],
]);

describe('routing', () => {
  it('within a team: the navigator with the fewest open tasks (ties by id), never the lead while a navigator is free', () => {
    expect(routeTask({ type: 'imaging-order', careTeam: null }, teams)).toEqual({
      teamCode: 'navigators',
      assigneeId: 'n2',
      via: 'task-type',
    });
  });

  it("navigation work goes to the patient's care team first", () => {
    expect(routeTask({ type: 'surveillance-overdue', careTeam: 'SARC-NORTH' }, teams)).toMatchObject({
      teamCode: 'SARC-NORTH',
      assigneeId: 'c1',
      via: 'care-team',
    });
    // a care team we do not know: the task type's team
    expect(routeTask({ type: 'surveillance-overdue', careTeam: 'SARC-WEST' }, teams)?.teamCode).toBe('navigators');
  });

  it('specialist decisions go to their team whatever the care team; inactive members get nothing', () => {
    expect(routeTask({ type: 'mdt-review', careTeam: 'SARC-NORTH' }, teams)).toMatchObject({
      teamCode: 'tumour-board',
      assigneeId: 't1',
    });
    // a team with only a lead: the lead has it
    expect(routeTask({ type: 're-excision-review', careTeam: null }, teams)?.assigneeId).toBe('s1');
  });

  it('a team that cannot take it falls back to the navigator pool; a rejecter does not get it back', () => {
    expect(routeTask({ type: 'radiotherapy-evaluation', careTeam: null }, teams)).toMatchObject({
      teamCode: 'navigators',
      via: 'fallback',
    });
    expect(routeTask({ type: 'imaging-order', careTeam: null, exclude: ['n2'] }, teams)?.assigneeId).toBe('n3');
    expect(routeTask({ type: 'imaging-order', careTeam: null }, new Map())).toBeNull();
  });

  it('rules come from configuration and bad ones name the key', () => {
    const rules = parseRoutingRules('{"byType":{"imaging-order":{"team":"radiology-desk"}}}');
    expect(rules.byType['imaging-order']).toEqual({ team: 'radiology-desk', careTeamFirst: true });
    expect(rules.byType['mdt-review']).toEqual(DEFAULT_ROUTING.byType['mdt-review']);
    expect(() => parseRoutingRules('{"byType":{"coffee":{"team":"x"}}}')).toThrow(/unknown task type 'coffee'/);
    expect(() => parseRoutingRules('{"byType":{"mdt-review":{}}}')).toThrow(/mdt-review.team/);
  });
});
