import { dashboardApiKey } from './queues-dashboard';

const basic = (userAndPassword: string) => `Basic ${Buffer.from(userAndPassword, 'utf8').toString('base64')}`;

describe('dashboardApiKey', () => {
  it('takes the password of HTTP Basic as the key, whatever the user name', () => {
    expect(dashboardApiKey({ authorization: basic('ada:demo-lead-key') })).toBe('demo-lead-key');
    expect(dashboardApiKey({ authorization: basic(':demo-lead-key') })).toBe('demo-lead-key');
    // a colon belongs to the password after the first one
    expect(dashboardApiKey({ authorization: basic('ada:sk_a:b') })).toBe('sk_a:b');
    expect(dashboardApiKey({ authorization: `basic  ${Buffer.from('x:k').toString('base64')} ` })).toBe('k');
  });

  it('takes a Bearer key or X-Api-Key as the rest of the api does', () => {
    expect(dashboardApiKey({ authorization: 'Bearer demo-admin-key' })).toBe('demo-admin-key');
    expect(dashboardApiKey({ 'x-api-key': 'demo-admin-key' })).toBe('demo-admin-key');
  });

  it('finds no key in an empty password, a user name alone, malformed Basic or no header', () => {
    expect(dashboardApiKey({ authorization: basic('demo-lead-key:') })).toBeNull();
    expect(dashboardApiKey({ authorization: basic('demo-lead-key') })).toBeNull();
    expect(dashboardApiKey({ authorization: 'Basic %%%' })).toBeNull();
    expect(dashboardApiKey({ authorization: 'Basic' })).toBeNull();
    // a Basic header that fails is not rescued by another header: the browser's credentials are the ones answered
    expect(dashboardApiKey({ authorization: 'Basic %%%', 'x-api-key': 'demo-admin-key' })).toBeNull();
    expect(dashboardApiKey({})).toBeNull();
  });
});
