'use strict';
// What the tests share: the project's sandbox in a Python process of its own, a connected
// .env, and amocrm-wizard as a credential helper that notes each time it runs.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..', '..', '..');
// The interpreter that has the project installed: scripts/test.sh's venv, or what the
// caller says (pytest passes its own), or python3 on PATH.
const PYTHON =
  process.env.AMOCRM_TEST_PYTHON ||
  [path.join(ROOT, '.venv', 'bin', 'python')].find((p) => fs.existsSync(p)) ||
  'python3';
const CHILD_ENV = {
  ...process.env,
  PYTHONPATH: [ROOT, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  PYTHONDONTWRITEBYTECODE: '1',
};
delete CHILD_ENV.AMOCRM_CLIENT_SECRET;

/** The sandbox, driven through tests/sandbox_process.py: `await sb.call('expire_access_tokens')`. */
class SandboxProcess {
  static async start() {
    const child = spawn(PYTHON, ['-m', 'tests.sandbox_process'], {
      cwd: ROOT,
      env: CHILD_ENV,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const sandbox = new SandboxProcess(child);
    Object.assign(sandbox, await sandbox.next());
    return sandbox;
  }

  constructor(child) {
    this.child = child;
    this.lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    this.queue = Promise.resolve();
  }

  async next() {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the sandbox process ended');
    return JSON.parse(value);
  }

  /** One admin action or question; calls are answered in order. */
  call(name, ...args) {
    const answer = this.queue.then(async () => {
      this.child.stdin.write(`${JSON.stringify({ call: name, args })}\n`);
      const reply = await this.next();
      if ('error' in reply) throw new Error(`sandbox ${name}: ${reply.error}`);
      return reply.ok;
    });
    this.queue = answer.catch(() => {});
    return answer;
  }

  stats() {
    return this.call('stats');
  }

  async stop() {
    this.child.stdin.end();
    await new Promise((resolve) => this.child.once('exit', resolve));
  }
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'amocrm-node-'));
}

/** A .env in a fresh folder, connected to the sandbox by the wizard's own code. */
async function connectedEnv(sandbox) {
  const envPath = path.join(tempDir(), '.env');
  fs.writeFileSync(envPath, '# backend settings\nPORT=3000\n');
  await sandbox.call('connect_env', envPath);
  return envPath;
}

/**
 * amocrm-wizard as a script at a path (what `command` may name), running this checkout.
 * Each run appends its arguments to `calls` (never stdin: that is where a token goes).
 */
function helperCommand() {
  const dir = tempDir();
  const calls = path.join(dir, 'calls.log');
  const command = path.join(dir, 'amocrm-wizard');
  const quote = (text) => `'${text.replace(/'/g, "'\\''")}'`;
  fs.writeFileSync(
    command,
    [
      '#!/bin/sh',
      `echo "$*" >> ${quote(calls)}`,
      `PYTHONPATH=${quote(CHILD_ENV.PYTHONPATH)} AMOCRM_WIZARD_LOG_DIR=${quote(path.join(dir, 'logs'))} \\`,
      `  exec ${quote(PYTHON)} -m wizard "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 }
  );
  return {
    command,
    dir,
    /** The helper runs so far, each as its argument line. */
    runs: () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean) : []),
  };
}

function readEnv(envPath) {
  const values = {};
  for (const line of fs.readFileSync(envPath, 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=['"]?(.*?)['"]?$/.exec(line.trim());
    if (match) values[match[1]] = match[2];
  }
  return values;
}

module.exports = { ROOT, PYTHON, CHILD_ENV, SandboxProcess, connectedEnv, helperCommand, readEnv, tempDir };
