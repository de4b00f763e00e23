/**
 * Creates an API key in the database named by DATABASE_URL (created and migrated first) and prints its secret,
 * the only time it is shown: the database keeps its SHA-256. The first admin key is made this way; after that,
 * admins use POST /api-keys.
 *
 *   ts-node -r tsconfig-paths/register scripts/create-api-key.ts --role admin --label "ops: Jo"
 *   ts-node -r tsconfig-paths/register scripts/create-api-key.ts --role navigator --member <member id> --label "..."
 *
 * The secret goes to stdout alone (so `KEY=$(... )` captures it); everything else goes to stderr.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '@app/config';
import { API_KEY_ROLES, ApiKeyStore, createPool, ensureDatabase, migrate } from '@app/store';

const USAGE = `usage: create-api-key --role <${API_KEY_ROLES.join('|')}> --label <text> [--member <member id>]
  navigator and lead keys need --member (a lead: a navigator-lead or clinical-lead); integration and admin keys none`;

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { role?: string; label?: string; member?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        role: { type: 'string' },
        label: { type: 'string' },
        member: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) usage('Creates an API key and prints its secret once.');
  const role = API_KEY_ROLES.find((r) => r === values.role);
  if (!role) usage(`--role must be one of ${API_KEY_ROLES.join(', ')}`);
  const label = values.label?.trim();
  if (!label) usage('--label is required (what the key is for)');

  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  await migrate(config.DATABASE_URL);
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    const key = await new ApiKeyStore(pool).createKey({ role, label, memberId: values.member ?? null });
    const who = key.memberId ? ` for member ${key.memberId} (team ${key.teamCode})` : '';
    process.stderr.write(`created ${key.role} key ${key.id} (${key.prefix}…)${who}; the secret is shown once:\n`);
    process.stdout.write(`${key.secret}\n`);
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`create-api-key failed: ${err.message}\n`);
  process.exit(1);
});
