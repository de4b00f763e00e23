import {
  API_KEY_PREFIX_LENGTH,
  apiKeyBindingProblem,
  apiKeyPrefix,
  generateApiKeySecret,
  hashApiKeySecret,
  resolvedKeyIsValid,
} from './api-keys';

// Pure: secrets, hashes and the binding rules. The store's SQL is tested against PostgreSQL in test/access.
describe('API key secrets', () => {
  it('are sk_ + 32 random bytes in base64url, different every time', () => {
    const secrets = Array.from({ length: 50 }, () => generateApiKeySecret());
    for (const secret of secrets) {
      expect(secret).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret.slice(3), 'base64url')).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('are stored as the SHA-256 hex of the secret, and told apart by their first 10 characters', () => {
    // FIPS 180-2 test vector: a wrong digest or encoding fails here.
    expect(hashApiKeySecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(API_KEY_PREFIX_LENGTH).toBe(10);
    expect(apiKeyPrefix('sk_abcdefghijklmnop')).toBe('sk_abcdefg');
  });
});

describe('who a key may be bound to', () => {
  const navigator = { role: 'navigator' as const, active: true };
  const navigatorLead = { role: 'navigator-lead' as const, active: true };
  const clinicalLead = { role: 'clinical-lead' as const, active: true };

  it('integration and admin keys to nobody', () => {
    expect(apiKeyBindingProblem('admin', null, null)).toBeNull();
    expect(apiKeyBindingProblem('integration', null, null)).toBeNull();
    expect(apiKeyBindingProblem('admin', 'm1', navigator)).toBe('admin keys are not bound to a team member');
    expect(apiKeyBindingProblem('integration', 'm1', navigator)).toMatch(/integration keys are not bound/);
  });

  it('navigator keys to an existing, active member', () => {
    expect(apiKeyBindingProblem('navigator', 'm1', navigator)).toBeNull();
    expect(apiKeyBindingProblem('navigator', 'm1', { role: 'coordinator', active: true })).toBeNull();
    expect(apiKeyBindingProblem('navigator', null, null)).toBe(
      'navigator keys must be bound to a team member (memberId)',
    );
    expect(apiKeyBindingProblem('navigator', 'm1', null)).toBe('no team member m1');
    expect(apiKeyBindingProblem('navigator', 'm1', { ...navigator, active: false })).toBe('team member m1 is inactive');
  });

  it('lead keys only to a navigator-lead or clinical-lead', () => {
    expect(apiKeyBindingProblem('lead', 'm1', navigatorLead)).toBeNull();
    expect(apiKeyBindingProblem('lead', 'm1', clinicalLead)).toBeNull();
    expect(apiKeyBindingProblem('lead', 'm1', navigator)).toBe(
      'a lead key needs a navigator-lead or clinical-lead member, not a navigator',
    );
    expect(apiKeyBindingProblem('lead', null, null)).toMatch(/lead keys must be bound/);
  });

  it('refuses a role it does not know', () => {
    expect(apiKeyBindingProblem('superuser' as never, null, null)).toBe("unknown role 'superuser'");
  });
});

describe('a stored key still grants its role', () => {
  const row = { role: 'lead' as const, memberId: 'm1', memberRole: 'navigator-lead' as const, memberActive: true };

  it('while its member is active and (for a lead key) still a lead', () => {
    expect(resolvedKeyIsValid(row)).toBe(true);
    expect(resolvedKeyIsValid({ ...row, memberActive: false })).toBe(false);
    expect(resolvedKeyIsValid({ ...row, memberRole: 'navigator' })).toBe(false);
    expect(resolvedKeyIsValid({ ...row, role: 'navigator', memberRole: 'navigator' })).toBe(true);
    expect(
      resolvedKeyIsValid({ ...row, role: 'navigator', memberId: null, memberRole: null, memberActive: null }),
    ).toBe(false);
  });

  it('integration and admin keys only without a member', () => {
    const unbound = { memberId: null, memberRole: null, memberActive: null };
    expect(resolvedKeyIsValid({ role: 'admin', ...unbound })).toBe(true);
    expect(resolvedKeyIsValid({ role: 'integration', ...unbound })).toBe(true);
    expect(resolvedKeyIsValid({ ...row, role: 'admin' })).toBe(false);
    expect(resolvedKeyIsValid({ role: 'root' as never, ...unbound })).toBe(false);
  });
});
