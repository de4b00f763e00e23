import { ConfigError, loadConfig } from './service-config';

describe('loadConfig', () => {
  it('gives local defaults when the environment is empty', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/sarcoma');
    expect(config.WORKER_CONCURRENCY).toBe(16);
  });

  it('reads numbers from strings', () => {
    expect(loadConfig({ PORT: '8080' }).PORT).toBe(8080);
  });

  it('names the bad variable', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(ConfigError);
    expect(() => loadConfig({ WORKER_CONCURRENCY: '0' })).toThrow(/WORKER_CONCURRENCY/);
  });
});
