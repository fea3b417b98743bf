'use strict';
// amocrmAuth with real axios against the project's sandbox, the helper a real amocrm-wizard.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const axios = require('axios');

const { amocrmAuth, isAmocrmError } = require('..');
const { SandboxProcess, connectedEnv, helperCommand, readEnv, tempDir } = require('./helpers');

let sandbox;
before(async () => {
  sandbox = await SandboxProcess.start();
});
after(() => sandbox.stop());
beforeEach(async () => {
  await sandbox.call('clear_failures');
  await sandbox.call('reset_stats');
});

async function client(options = {}) {
  const envPath = await connectedEnv(sandbox);
  const helper = helperCommand();
  const amo = amocrmAuth(axios.create(), { env: envPath, command: helper.command, ...options });
  return { amo, envPath, helper };
}

test('sets baseURL when unset and adds the bearer token; one helper run serves many requests', async () => {
  const { amo, envPath, helper } = await client();
  for (let i = 0; i < 5; i += 1) {
    const { data } = await amo.get('/api/v4/account');
    assert.equal(data.name.includes('Sandbox'), true);
  }
  assert.equal(amo.defaults.baseURL, sandbox.base_url);
  assert.deepEqual(helper.runs(), [`token --json --env ${envPath} --min-valid 300`]);
  assert.equal((await sandbox.stats()).refreshes, 0);
});

test('a database target: { db: url }', async () => {
  const url = `sqlite:///${tempDir()}/settings.db`;
  await sandbox.call('connect_db', url);
  const helper = helperCommand();
  const amo = amocrmAuth(axios.create(), { db: url, command: helper.command });
  await amo.get('/api/v4/account');
  await sandbox.call('expire_access_tokens');
  assert.equal((await amo.get('/api/v4/leads/10001')).data.id, 10001);
  assert.deepEqual(helper.runs(), [
    `token --json --db ${url} --min-valid 300`,
    `token --json --db ${url} --min-valid 300 --stale`,
  ]);
  assert.equal((await sandbox.stats()).refreshes, 1);
});

test('a baseURL the backend set is kept', async () => {
  const envPath = await connectedEnv(sandbox);
  const amo = amocrmAuth(axios.create({ baseURL: `${sandbox.base_url}/api/v4` }), {
    env: envPath,
    command: helperCommand().command,
  });
  const { data } = await amo.get('/leads/10002');
  assert.equal(data.id, 10002);
  assert.equal(amo.defaults.baseURL, `${sandbox.base_url}/api/v4`);
});

test('a baseURL it set follows the account when the helper reports a new address', async () => {
  const { amo, envPath } = await client();
  await amo.get('/api/v4/account');
  const moved = sandbox.base_url.replace('127.0.0.1', 'localhost'); // the same sandbox, another name
  fs.writeFileSync(envPath, fs.readFileSync(envPath, 'utf8').replace(/^AMOCRM_BASE_URL=.*$/m, `AMOCRM_BASE_URL='${moved}'`));
  await sandbox.call('expire_access_tokens');
  const answer = await amo.get('/api/v4/account');
  assert.equal(answer.status, 200);
  assert.equal(amo.defaults.baseURL, moved);
  assert.equal(answer.config.baseURL, moved);
});

test('20 concurrent requests on a dead token: one helper call, one refresh, 20 answers', async () => {
  const { amo, envPath, helper } = await client();
  await amo.get('/api/v4/account'); // the token is cached, as in a backend that has been up a while
  const before = readEnv(envPath).AMOCRM_ACCESS_TOKEN;
  await sandbox.call('expire_access_tokens');
  await sandbox.call('set', 'refresh_delay', 0.3); // every request is refused before the new pair exists
  const answers = await Promise.all(Array.from({ length: 20 }, () => amo.get('/api/v4/account')));
  await sandbox.call('set', 'refresh_delay', 0);
  assert.equal(answers.filter((a) => a.status === 200).length, 20);
  const stats = await sandbox.stats();
  assert.equal(stats.refreshes, 1);
  assert.equal(stats.rejected_refresh_replays, 0);
  const runs = helper.runs();
  assert.equal(runs.length, 2);
  assert.match(runs[1], /--stale$/);
  assert.equal(runs.some((run) => run.includes(before)), false); // the refused token went on stdin
  assert.notEqual(readEnv(envPath).AMOCRM_ACCESS_TOKEN, before); // the helper saved the new pair
});

test('20 requests at a cold start share one helper run', async () => {
  const { amo, helper } = await client();
  await Promise.all(Array.from({ length: 20 }, () => amo.get('/api/v4/account')));
  assert.equal(helper.runs().length, 1);
});

test('a request with a body is retried with it after a 401', async () => {
  const { amo } = await client();
  await sandbox.call('expire_access_tokens');
  const answer = await amo.patch('/api/v4/leads/10003', { status_id: 142 });
  assert.equal(answer.status, 200);
  assert.equal((await sandbox.call('lead', 10003)).status_id, 142);
  assert.equal((await sandbox.stats()).refreshes, 1);
});

test('each request is retried once only', async () => {
  const { amo } = await client();
  await sandbox.call('fail_next', 2, 401, '/api/v4/account');
  await assert.rejects(amo.get('/api/v4/account'), (error) => error.response && error.response.status === 401);
  const stats = await sandbox.stats();
  assert.equal(stats.api_calls, 2);
});

test('a token renewed by somebody else is used without renewing again', async () => {
  const { amo, envPath, helper } = await client();
  await amo.get('/api/v4/account');
  await sandbox.call('expire_access_tokens');
  const other = helperCommand(); // another backend process renews first
  const { execFileSync } = require('node:child_process');
  execFileSync(other.command, ['token', '--env', envPath, '--stale'], {
    input: readEnv(envPath).AMOCRM_ACCESS_TOKEN,
  });
  const answer = await amo.get('/api/v4/account');
  assert.equal(answer.status, 200);
  assert.equal((await sandbox.stats()).refreshes, 1);
  assert.match(helper.runs()[1], /--stale$/); // our helper call found the new pair and sent nothing
});

test('a dead connection is AMOCRM_REAUTH with the helper message', async () => {
  const { amo } = await client();
  await sandbox.call('expire_access_tokens');
  await sandbox.call('revoke_refresh_tokens');
  await assert.rejects(amo.get('/api/v4/account'), (error) => {
    assert.equal(isAmocrmError(error), true);
    assert.equal(error.code, 'AMOCRM_REAUTH');
    assert.equal(error.exitCode, 3);
    assert.match(error.message, /amocrm-wizard/);
    return true;
  });
});

test('amoCRM failing is AMOCRM_UNAVAILABLE', async () => {
  const { amo } = await client();
  await amo.get('/api/v4/account');
  await sandbox.call('expire_access_tokens');
  await sandbox.call('fail_next', 1000, 503, '/oauth2/');
  await assert.rejects(amo.get('/api/v4/account'), { code: 'AMOCRM_UNAVAILABLE', exitCode: 4 });
});

test('a revoked long-lived token is AMOCRM_REAUTH, not a retry with the same token', async () => {
  const envPath = `${tempDir()}/.env`;
  const longLived = await sandbox.call('connect_long_lived_env', envPath);
  const helper = helperCommand();
  const amo = amocrmAuth(axios.create(), { env: envPath, command: helper.command });
  assert.equal((await amo.get('/api/v4/account')).status, 200);
  await sandbox.call('expire_access_tokens'); // the admin revoked the token in amoCRM
  await sandbox.call('reset_stats');
  await assert.rejects(amo.get('/api/v4/account'), (error) => {
    assert.equal(isAmocrmError(error), true);
    assert.equal(error.code, 'AMOCRM_REAUTH');
    assert.match(error.message, /long-lived token/);
    assert.equal(error.message.includes(longLived), false);
    return true;
  });
  assert.equal((await sandbox.stats()).api_calls, 1); // refused once, never sent again with it
  assert.match(helper.runs()[1], /--stale$/);
});

test('a helper that hangs is killed after helperTimeout: AMOCRM_UNAVAILABLE', async () => {
  const dir = tempDir();
  const pidFile = `${dir}/pid`;
  const command = `${dir}/amocrm-wizard`;
  fs.writeFileSync(command, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 600\n`, { mode: 0o755 });
  const amo = amocrmAuth(axios.create(), { env: `${dir}/.env`, command, helperTimeout: 300 });
  await assert.rejects(amo.get('/api/v4/account'), (error) => {
    assert.equal(error.code, 'AMOCRM_UNAVAILABLE');
    assert.match(error.message, /did not answer within 0\.3 s/);
    assert.match(error.message, /helperTimeout/);
    return true;
  });
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  // The kill is sent before the rejection; the loop only waits for the kernel to reap it.
  for (let i = 0; i < 100 && alive(); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(alive(), false);
});

test('nothing stored is AMOCRM_CONFIG, saying to connect', async () => {
  const envPath = `${tempDir()}/.env`;
  fs.writeFileSync(envPath, 'PORT=3000\n');
  const amo = amocrmAuth(axios.create(), { env: envPath, command: helperCommand().command });
  await assert.rejects(amo.get('/api/v4/account'), (error) => {
    assert.equal(error.code, 'AMOCRM_CONFIG');
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /connect/);
    return true;
  });
});

test('no helper installed is AMOCRM_CONFIG with how to install it', async () => {
  const amo = amocrmAuth(axios.create(), { env: '.env', command: 'amocrm-wizard-not-installed-here' });
  await assert.rejects(amo.get('/api/v4/account'), (error) => {
    assert.equal(error.code, 'AMOCRM_CONFIG');
    assert.match(error.message, /pip install amocrm-wizard/);
    return true;
  });
});

test('the default command is amocrm-wizard on PATH', async () => {
  const envPath = await connectedEnv(sandbox);
  const helper = helperCommand();
  const path = process.env.PATH;
  process.env.PATH = `${helper.dir}:${path}`;
  try {
    const amo = amocrmAuth(axios.create(), { env: envPath });
    assert.equal((await amo.get('/api/v4/account')).status, 200);
  } finally {
    process.env.PATH = path;
  }
  assert.equal(helper.runs().length, 1);
});

test('bad options are AMOCRM_CONFIG at once', () => {
  const instance = axios.create();
  for (const options of [{}, { env: '.env', db: 'sqlite:///x.db' }, { env: '' }, { env: '.env', minValid: 3601 }, { env: '.env', minValid: 1.5 }, { env: '.env', command: '' }, { env: '.env', helperTimeout: 0 }, { env: '.env', helperTimeout: -5 }, { env: '.env', helperTimeout: '1000' }, { env: '.env', helperTimeout: 1.5 }]) {
    assert.throws(() => amocrmAuth(instance, options), { code: 'AMOCRM_CONFIG' }, JSON.stringify(options));
  }
  assert.throws(() => amocrmAuth({}, { env: '.env' }), TypeError);
});

test('minValid goes to the helper, which renews a token with less left', async () => {
  const { amo, envPath, helper } = await client({ minValid: 3600 });
  const before = readEnv(envPath).AMOCRM_ACCESS_TOKEN;
  const soon = new Date(Date.now() + 1800 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  fs.writeFileSync(envPath, fs.readFileSync(envPath, 'utf8').replace(/^AMOCRM_TOKEN_EXPIRES_AT=.*$/m, `AMOCRM_TOKEN_EXPIRES_AT='${soon}'`));
  assert.equal((await amo.get('/api/v4/account')).status, 200);
  assert.match(helper.runs()[0], /--min-valid 3600/);
  assert.notEqual(readEnv(envPath).AMOCRM_ACCESS_TOKEN, before);
  assert.equal((await sandbox.stats()).refreshes, 1);
});

test('the client never holds a refresh token', async () => {
  const { amo, envPath } = await client();
  await amo.get('/api/v4/account');
  const refresh = readEnv(envPath).AMOCRM_REFRESH_TOKEN;
  const seen = new Set();
  const holds = (value, depth = 0) => {
    if (typeof value === 'string') return value.includes(refresh);
    if (!value || typeof value !== 'object' || seen.has(value) || depth > 8) return false;
    seen.add(value);
    return Object.values(value).some((v) => holds(v, depth + 1));
  };
  const handlers = [...amo.interceptors.request.handlers, ...amo.interceptors.response.handlers];
  assert.equal(holds(amo.defaults), false);
  assert.equal(handlers.length, 2);
  assert.equal(holds(handlers), false);
});
