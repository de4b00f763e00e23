/**
 * Property-based fuzzing of FHIR R4 intake's mapping (issue 6, bad input): 10,000+ malformed Bundles (nodes of the
 * wrong JSON type, missing, doubled, deeply nested, hostile or huge strings) through pathologyFromBundle. It never
 * throws; it answers with events or issues (what the endpoint turns into a 200 or a 422 OperationOutcome); each issue
 * names where (FHIRPath expression) and why; no issue repeats the patient's identifier; and no bundle takes long.
 * Generators: test/fuzz/fhir-arbitraries.ts.
 */
import fc from 'fast-check';
import { validateClinicalEvent } from '@app/contracts';
import { malformedBundle } from '../../../../test/fuzz/fhir-arbitraries';
import { PHI_MARKER } from '../../../../test/fuzz/hl7-arbitraries';
import { eventsOf, pathologyFromBundle } from './diagnostic-report';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** Taken from the message as sent: an id with a control character or a date the contract refuses is reported back. */
const SENDER_FIELDS = ['patientId', 'occurredAt', 'payload.reportId'];

describe('FHIR R4 intake under fuzzing', () => {
  it(`maps ${RUNS} malformed bundles to events or issues, never throwing, never quoting the patient`, () => {
    const seen = { events: 0, issuesOnly: 0, contractInvalid: 0 };
    let slowest = 0;
    fc.assert(
      fc.property(malformedBundle, (input) => {
        const started = performance.now();
        const result = pathologyFromBundle(input);
        slowest = Math.max(slowest, performance.now() - started);
        const events = eventsOf(result);
        if (events.length === 0 && result.issues.length === 0) throw new Error('neither an event nor an issue');
        if (events.length > 0) seen.events += 1;
        else seen.issuesOnly += 1;
        for (const issue of result.issues) {
          expect(issue.severity).toBe('error');
          expect(issue.expression?.[0]).toEqual(expect.any(String));
          expect(issue.diagnostics).toEqual(expect.any(String));
          if (issue.diagnostics!.includes(PHI_MARKER))
            throw new Error(`an issue repeats the MRN: ${issue.diagnostics}`);
        }
        // The intake runs the contract over what the mapping made (and answers AE / 422 for what fails); only the
        // sender's own identifiers and times can fail it: codes, numbers and labels come out valid.
        for (const event of events) {
          const checked = validateClinicalEvent(event);
          if (checked.ok) continue;
          seen.contractInvalid += 1;
          const fields = checked.errors.map((e) => e.field).filter((f) => !SENDER_FIELDS.includes(f));
          if (fields.length > 0) throw new Error(`the mapping made an invalid ${fields.join(', ')}`);
        }
      }),
      { numRuns: RUNS },
    );
    expect(seen.events).toBeGreaterThan(0);
    expect(seen.issuesOnly).toBeGreaterThan(0);
    expect(seen.contractInvalid).toBeGreaterThan(0);
    process.stdout.write(
      `[fuzz] FHIR (pure): ${RUNS} bundles: ${seen.events} with events, ${seen.issuesOnly} with issues only; ${seen.contractInvalid} events refused by the contract (sender ids or times); slowest ${Math.round(slowest)} ms\n`,
    );
    expect(slowest).toBeLessThan(1000);
  });

  it('a 50,000-character "TTT…" issued date is refused at once (the time-zone check was quadratic)', () => {
    const bundle = {
      resourceType: 'Bundle',
      entry: [
        {
          resource: {
            resourceType: 'DiagnosticReport',
            id: 'r1',
            status: 'final',
            subject: {
              identifier: {
                type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
                value: 'M1',
              },
            },
            issued: 'T'.repeat(50_000),
          },
        },
      ],
    };
    const started = Date.now();
    expect(pathologyFromBundle(bundle).issues.map((i) => i.expression?.[0])).toEqual([
      'Bundle.entry[0].resource.issued',
    ]);
    expect(Date.now() - started).toBeLessThan(200);
  });
});
