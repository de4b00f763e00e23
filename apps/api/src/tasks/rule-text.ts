import { RULES, type Rule } from '@app/pathway';

/** A rule of the pathway's rule table (libs/pathway/src/rules.ts) as the worklist page shows it. */
export interface RuleView {
  id: string;
  section: Rule['section'];
  /** What the rule says, as the rule table words it. */
  summary: string;
  /** The rule table's evidence note as written, e.g. "[1] LR -> DM HR 8.4, LR -> death HR 3.4". */
  evidence: string | null;
  /** The same note in plain words: "local recurrence raises the risk of distant metastasis 8.4-fold". */
  evidenceText: string[];
  /** The references the note cites, as numbered in shared/clinical/pathway-rules.md: ["1"]. */
  references: string[];
  /** A choice of this service where the clinical rules are silent. */
  local: boolean;
}

/** The abbreviations of the rule table's evidence notes, spelled out. */
const TERMS: Record<string, string> = {
  LR: 'local recurrence',
  DM: 'distant metastasis',
  death: 'death',
};

/** "LR -> DM HR 8.4": a transition of the multistate model and its hazard ratio. */
const HAZARD = /^(\S+)\s*->\s*(\S+)\s+HR\s+(\d+(?:\.\d+)?)$/;

/**
 * Reads an evidence note of the rule table in plain words. The note stays the one source: this only spells out
 * its abbreviations, and a part it cannot read is kept as written rather than guessed at.
 */
export function plainEvidence(evidence: string | undefined): { evidenceText: string[]; references: string[] } {
  if (!evidence) return { evidenceText: [], references: [] };
  const references = [...evidence.matchAll(/\[(\d+)\]/g)].map((m) => m[1]);
  const evidenceText = evidence
    .replace(/\[\d+\]/g, '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const hazard = HAZARD.exec(part);
      if (!hazard) return part;
      const [, from, to, ratio] = hazard;
      return `${TERMS[from] ?? from} raises the risk of ${TERMS[to] ?? to} ${ratio}-fold`;
    });
  return { evidenceText, references };
}

export function ruleView(rule: Rule): RuleView {
  return {
    id: rule.id,
    section: rule.section,
    summary: rule.summary,
    evidence: rule.evidence ?? null,
    ...plainEvidence(rule.evidence),
    local: rule.local ?? false,
  };
}

/** Every rule of the table, in its order. */
export const RULE_VIEWS: readonly RuleView[] = (RULES as readonly Rule[]).map(ruleView);
