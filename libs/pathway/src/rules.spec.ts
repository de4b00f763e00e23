import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCohort } from '@app/cohort';
import { createPathway, riskOf } from './pathway';
import { RULES, RULE_IDS } from './rules';

describe('the rule table', () => {
  it('has unique ids', () => {
    expect(RULE_IDS.size).toBe(RULES.length);
  });

  it('every rule is named by at least one test title in this lib', () => {
    const titles = readdirSync(__dirname)
      .filter((f) => f.endsWith('.spec.ts'))
      .flatMap((f) =>
        [...readFileSync(join(__dirname, f), 'utf8').matchAll(/\b(?:it|describe)\(\s*'([^']*)'/g)].map((m) => m[1]),
      );
    const untested = RULES.map((r) => r.id).filter((id) => !titles.some((t) => new RegExp(`\\b${id}\\b`).test(t)));
    expect(untested).toEqual([]);
  });

  // R-LATE-EVENT is raised by the store (arrival order) and R-SURV-OVERDUE by the sweeper (surveillanceOverdueTask);
  // R-PATH-ENTRY changes no state name, so no effect carries it; R-RT-EVAL-MARGIN is an option, off by default;
  // R-PATH-ABSTRACTION comes from the HL7 v2 / FHIR intake (a report without coded items), not the cohort's publishers.
  it('a synthetic cohort of every scenario exercises every other rule', () => {
    const pathway = createPathway();
    const seen = new Set<string>();
    for (const patient of generateCohort({ patients: 600, seed: 5 })) {
      let state = pathway.initialState();
      for (const event of patient.events) {
        const { state: next, decision } = pathway.step(state, event);
        for (const effect of decision.effects) {
          seen.add(effect.ruleId);
          if (effect.kind === 'plan-surveillance') effect.items.forEach((item) => seen.add(item.ruleId));
        }
        riskOf(next)?.ruleIds.forEach((id) => seen.add(id));
        state = next;
      }
    }
    const missing = RULES.map((r) => r.id).filter((id) => !seen.has(id));
    expect(missing).toEqual([
      'R-RT-EVAL-MARGIN',
      'R-PATH-ENTRY',
      'R-SURV-OVERDUE',
      'R-PATH-ABSTRACTION',
      'R-LATE-EVENT',
    ]);
  });
});
