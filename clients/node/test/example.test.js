'use strict';
// The seed's backend rewritten on the package (examples/node) against the sandbox.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, SandboxProcess, connectedEnv, helperCommand } = require('./helpers');

const EXAMPLE = path.join(ROOT, 'examples', 'node');
let sandbox;
let helper;
let server;
let base;

before(async () => {
  assert.ok(
    fs.existsSync(path.join(EXAMPLE, 'node_modules', 'axios')),
    'examples/node has no node_modules: run scripts/setup.sh (or npm ci --prefix examples/node)'
  );
  sandbox = await SandboxProcess.start();
  helper = helperCommand();
  process.env.AMOCRM_ENV = await connectedEnv(sandbox);
  process.env.AMOCRM_WIZARD = helper.command;
  process.env.LESSON_DONE_STATUS_ID = '142';
  const { createServer } = require(path.join(EXAMPLE, 'server.js'));
  server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await sandbox.stop();
});

const lessonDone = (deal) => fetch(`${base}/lessons/${deal}/done`, { method: 'POST' });

test('20 concurrent requests on a dead token give 1 refresh and 20 answers', async () => {
  assert.equal((await lessonDone(10001)).status, 200); // the backend has been up, its token cached
  await sandbox.call('reset_stats');
  await sandbox.call('expire_access_tokens'); // the night the token died
  await sandbox.call('set', 'refresh_delay', 0.3);
  const deals = Array.from({ length: 20 }, (_, i) => 10001 + (i % 3));
  const answers = await Promise.all(deals.map(lessonDone));
  await sandbox.call('set', 'refresh_delay', 0);
  assert.deepEqual(
    answers.map((a) => a.status),
    deals.map(() => 200)
  );
  const bodies = await Promise.all(answers.map((a) => a.json()));
  assert.deepEqual(
    bodies.map((b) => b.deal),
    deals
  );
  const stats = await sandbox.stats();
  assert.equal(stats.refreshes, 1);
  assert.equal(stats.rejected_refresh_replays, 0);
  for (const deal of [10001, 10002, 10003]) assert.equal((await sandbox.call('lead', deal)).status_id, 142);
  assert.equal(helper.runs().length, 2); // the start, then one --stale for all 20
});

test('a dead connection answers 503 saying to run the wizard again', async () => {
  await sandbox.call('expire_access_tokens');
  await sandbox.call('revoke_refresh_tokens');
  const answer = await lessonDone(10002);
  assert.equal(answer.status, 503);
  assert.match((await answer.json()).error, /run amocrm-wizard again/);
});
