import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { configProblems as problemsOf } from './helpers/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');


describe('parseConfig', () => {
  it('fills in the defaults of SPEC section 5 from an empty environment', () => {
    const c = parseConfig({});
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.databasePoolSize).toBe(4);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.slack.apiUrl).toBe('https://slack.com/api/');
    expect(c.email.from).toBe('Twitterprise <noreply@localhost>');
    expect(c.logLevel).toBe('info');
    expect(c.net.allowPrivateUrls).toBe(false);
    expect(c.webhooks.timeoutMs).toBe(10_000);
    expect(c.webhooks.sendThread).toBe(true);
    // Seven delays: eight attempts in all.
    expect(c.webhooks.retryDelaysMs).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000].map((s) => s * 1000));
    expect(c.workerConcurrency).toBe(64);
    expect(c.statusRateLimit).toBe(120);
  });

  it('derives PUBLIC_URL from PORT, drops a trailing slash, and reads booleans and delays', () => {
    expect(parseConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(parseConfig({ PUBLIC_URL: 'https://tp.example.com/' }).publicUrl).toBe('https://tp.example.com');
    expect(parseConfig({ ALLOW_PRIVATE_URLS: 'yes' }).net.allowPrivateUrls).toBe(true);
    expect(parseConfig({ WEBHOOK_SEND_THREAD: 'false' }).webhooks.sendThread).toBe(false);
    expect(parseConfig({ WEBHOOK_RETRY_DELAYS: '1, 2.5' }).webhooks.retryDelaysMs).toEqual([1000, 2500]);
    expect(parseConfig({ WEBHOOK_RETRY_DELAYS: '' }).webhooks.retryDelaysMs).toEqual([]);
    expect(parseConfig({ SLACK_API_URL: 'http://127.0.0.1:9/api' }).slack.apiUrl).toBe('http://127.0.0.1:9/api/');
    expect(parseConfig({ STATUS_RATE_LIMIT: '0' }).statusRateLimit).toBe(0);
    expect(parseConfig({ DATABASE_POOL_SIZE: '12' }).databasePoolSize).toBe(12);
    expect(problemsOf({ DATABASE_POOL_SIZE: '0' })).toEqual(['DATABASE_POOL_SIZE: must be a whole number from 1 to 100']);
    expect(problemsOf({ STATUS_RATE_LIMIT: 'lots', WORKER_CONCURRENCY: '2.5', WEBHOOK_TIMEOUT_MS: '0' })).toEqual([
      'WEBHOOK_TIMEOUT_MS: must be a whole number from 1 to 600,000',
      'WORKER_CONCURRENCY: must be a whole number from 1 to 1,000',
      'STATUS_RATE_LIMIT: must be a whole number from 0 to 1,000,000',
    ]);
  });

  it('reports every problem, one line each naming the variable, the combinations beside the malformed ones', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      REDIS_URL: 'nowhere',
      WEBHOOK_RETRY_DELAYS: '5,soon',
      SLACK_BOT_TOKEN: 'xoxb-1',
      MICROSOFT_APP_ID: 'app',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'PORT',
      'REDIS_URL',
      'WEBHOOK_RETRY_DELAYS',
      'SLACK_SIGNING_SECRET',
      'MICROSOFT_APP_PASSWORD',
    ]);
    expect(problems.every((p) => !p.includes('\n'))).toBe(true);
    expect(problems[3]).toBe('SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (or set SLACK_APP_TOKEN for Socket Mode)');
  });

  it('refuses Slack setups that would be silently off or half on', () => {
    expect(problemsOf({ SLACK_APP_TOKEN: 'xapp-1' })).toEqual([
      'SLACK_APP_TOKEN: Socket Mode also needs SLACK_BOT_TOKEN (it serves the one workspace of that token)',
    ]);
    expect(
      problemsOf({ SLACK_APP_TOKEN: 'xapp-1', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_CLIENT_ID: 'c', SLACK_CLIENT_SECRET: 'cs', SLACK_STATE_SECRET: 'ss' }),
    ).toEqual(['SLACK_APP_TOKEN: Socket Mode serves one workspace and cannot take OAuth installs; unset SLACK_APP_TOKEN or SLACK_CLIENT_ID']);
    expect(problemsOf({ SLACK_CLIENT_ID: 'c', SLACK_SIGNING_SECRET: 's' })).toEqual([
      'SLACK_CLIENT_ID: multi-workspace install also needs SLACK_CLIENT_SECRET, SLACK_STATE_SECRET and SLACK_SIGNING_SECRET',
    ]);
    // Blank values count as unset.
    expect(() => parseConfig({ SLACK_APP_TOKEN: '  ', SLACK_BOT_TOKEN: '' })).not.toThrow();
  });

  it('checks the Teams credentials together', () => {
    expect(problemsOf({ MICROSOFT_APP_TYPE: 'SingleTenant', MICROSOFT_APP_ID: 'app', MICROSOFT_APP_PASSWORD: 'pw' })).toEqual([
      'MICROSOFT_APP_TENANT_ID: required when MICROSOFT_APP_TYPE is SingleTenant',
    ]);
    expect(parseConfig({ MICROSOFT_APP_TYPE: 'UserAssignedMSI', MICROSOFT_APP_ID: 'app' }).teams.appType).toBe('UserAssignedMSI');
    expect(problemsOf({ ADMIN_TOKEN: 'short' })).toEqual(['ADMIN_TOKEN: must be at least 16 characters']);
  });

  it('ALLOW_PRIVATE_URLS is the switch; WEBHOOK_ALLOW_PRIVATE is a full alias; the two set differently stop start-up', () => {
    expect(parseConfig({}).net.allowPrivateUrls).toBe(false);
    expect(parseConfig({ ALLOW_PRIVATE_URLS: 'true' }).net.allowPrivateUrls).toBe(true);
    expect(parseConfig({ WEBHOOK_ALLOW_PRIVATE: 'true' }).net.allowPrivateUrls).toBe(true);
    expect(parseConfig({ WEBHOOK_ALLOW_PRIVATE: '1', ALLOW_PRIVATE_URLS: 'yes' }).net.allowPrivateUrls).toBe(true);
    expect(parseConfig({ WEBHOOK_ALLOW_PRIVATE: 'false', ALLOW_PRIVATE_URLS: 'no' }).net.allowPrivateUrls).toBe(false);
    // Empty is unset: the other name decides.
    expect(parseConfig({ ALLOW_PRIVATE_URLS: '', WEBHOOK_ALLOW_PRIVATE: 'true' }).net.allowPrivateUrls).toBe(true);
    expect(parseConfig({ ALLOW_PRIVATE_URLS: 'true', WEBHOOK_ALLOW_PRIVATE: '' }).net.allowPrivateUrls).toBe(true);
    expect(problemsOf({ ALLOW_PRIVATE_URLS: 'true', WEBHOOK_ALLOW_PRIVATE: 'false' })).toEqual([
      'ALLOW_PRIVATE_URLS: is true but its older name WEBHOOK_ALLOW_PRIVATE is false; set only ALLOW_PRIVATE_URLS',
    ]);
    expect(problemsOf({ ALLOW_PRIVATE_URLS: 'maybe' })).toHaveLength(1);
    expect(problemsOf({ ALLOW_PRIVATE_URLS: 'maybe' })[0]).toMatch(/^ALLOW_PRIVATE_URLS: /);
  });
});

describe('start-up with a bad configuration', () => {
  it('prints one line per problem to stderr and exits 1 before touching anything', async () => {
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'src/main.ts'), 'web'],
        // Nothing listens on port 1: were it reached, the run would fail differently.
        { cwd: root, timeout: 60_000, env: { PATH: process.env.PATH ?? '', PORT: '-1', REDIS_URL: 'redis://127.0.0.1:1', SLACK_APP_TOKEN: 'xapp-1' } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('PORT: must be a whole number from 0 to 65,535');
    expect(lines[1]).toBe('SLACK_APP_TOKEN: Socket Mode also needs SLACK_BOT_TOKEN (it serves the one workspace of that token)');
  });
});
