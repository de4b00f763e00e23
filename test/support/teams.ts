import type { Pool } from 'pg';

/** Test staff: fixed ids so a test can say who should have been told. Emails are @hospital.test. */
export const STAFF = {
  navA: { id: '00000000-0000-4000-8000-00000000000a', team: 'navigators', role: 'navigator' },
  navB: { id: '00000000-0000-4000-8000-00000000000b', team: 'navigators', role: 'navigator' },
  navLead: { id: '00000000-0000-4000-8000-0000000000a1', team: 'navigators', role: 'navigator-lead' },
  navClinicalLead: { id: '00000000-0000-4000-8000-0000000000a2', team: 'navigators', role: 'clinical-lead' },
  northNav: { id: '00000000-0000-4000-8000-0000000000c1', team: 'sarcoma-north', role: 'navigator' },
  northLead: { id: '00000000-0000-4000-8000-0000000000c2', team: 'sarcoma-north', role: 'navigator-lead' },
  northClinicalLead: { id: '00000000-0000-4000-8000-0000000000c3', team: 'sarcoma-north', role: 'clinical-lead' },
  surgeon: { id: '00000000-0000-4000-8000-0000000000d1', team: 'surgical-oncology', role: 'navigator' },
  surgicalLead: { id: '00000000-0000-4000-8000-0000000000d2', team: 'surgical-oncology', role: 'navigator-lead' },
  boardCoordinator: { id: '00000000-0000-4000-8000-0000000000e1', team: 'tumour-board', role: 'coordinator' },
  boardLead: { id: '00000000-0000-4000-8000-0000000000e2', team: 'tumour-board', role: 'navigator-lead' },
  boardClinicalLead: { id: '00000000-0000-4000-8000-0000000000e3', team: 'tumour-board', role: 'clinical-lead' },
  radiotherapy: { id: '00000000-0000-4000-8000-0000000000f1', team: 'radiotherapy', role: 'navigator' },
} as const;
export type StaffName = keyof typeof STAFF;

export const emailOf = (name: StaffName) => `${name.toLowerCase()}@hospital.test`;

/** Loads the test teams with plain SQL (the admin API has its own tests). */
export async function seedTestTeams(pool: Pool): Promise<void> {
  const teams = [...new Set(Object.values(STAFF).map((s) => s.team))];
  await pool.query(
    `INSERT INTO care_teams (code, name) SELECT t, t FROM unnest($1::text[]) AS t ON CONFLICT (code) DO NOTHING`,
    [teams],
  );
  for (const [name, s] of Object.entries(STAFF)) {
    await pool.query(
      `INSERT INTO team_members (id, team_code, name, email, role) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
      [s.id, s.team, name, emailOf(name as StaffName), s.role],
    );
  }
}
