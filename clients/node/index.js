'use strict';
/**
 * amocrm-wizard-client: axios interceptors for amoCRM/Kommo that never hold a refresh token.
 *
 *   const { amocrmAuth } = require('amocrm-wizard-client');
 *   const amo = amocrmAuth(axios.create(), { env: '/srv/backend/.env' });
 *   await amo.patch('/api/v4/leads/123', { status_id: 142 });
 *
 * Tokens come from `amocrm-wizard token`, the credential helper: it reads the target the
 * wizard wrote, refreshes when needed and saves the new pair under the target's lock, so
 * every process sharing the target, in Node, Python or anything else, refreshes exactly
 * once. This module only caches the access token and asks again on a 401 (the seed's
 * request queue, with the refresh done by the helper instead of in memory).
 */

const { spawn } = require('node:child_process');

const DEFAULT_COMMAND = 'amocrm-wizard';
const DEFAULT_MIN_VALID = 300;
const MAX_MIN_VALID = 3600;
// A refresh may wait up to 60 s for another process's lock and then spend up to 30 s on
// retries; past two minutes the helper is stuck, and every request would wait behind it.
const DEFAULT_HELPER_TIMEOUT_MS = 120 * 1000;
// A token the helper hands back with less than the margin left (a long-lived token near its
// end) is still used this long, so that such a token costs one helper call, not one per request.
const SHORTEST_CACHE_MS = 30 * 1000;
// A plain key, not a Symbol: axios copies a request's own string keys into the retried request.
const RETRIED = '_amocrmRetried';
const INSTALL_HINT =
  'Install it where the backend runs (pip install amocrm-wizard, or pipx install amocrm-wizard) ' +
  "or pass its path: amocrmAuth(instance, { env, command: '/path/to/amocrm-wizard' }).";

/** The helper's exit codes (the contract's) that are not a configuration problem. */
const CODE_BY_EXIT = { 3: 'AMOCRM_REAUTH', 4: 'AMOCRM_UNAVAILABLE' };

function amocrmError(code, message, extra) {
  const error = new Error(message, extra && extra.cause ? { cause: extra.cause } : undefined);
  error.name = 'AmocrmError';
  error.code = code;
  if (extra && extra.exitCode !== undefined) error.exitCode = extra.exitCode;
  return error;
}

function isAmocrmError(error) {
  return error instanceof Error && typeof error.code === 'string' && error.code.startsWith('AMOCRM_');
}

function readOptions(options) {
  const given = options || {};
  const targets = ['env', 'db'].filter((name) => given[name] !== undefined && given[name] !== null);
  if (targets.length !== 1 || typeof given[targets[0]] !== 'string' || !given[targets[0]]) {
    throw amocrmError(
      'AMOCRM_CONFIG',
      "amocrmAuth needs exactly one target: { env: '/path/to/.env' } or { db: 'postgresql://…' }."
    );
  }
  const minValid = given.minValid === undefined ? DEFAULT_MIN_VALID : given.minValid;
  if (!Number.isInteger(minValid) || minValid < 0 || minValid > MAX_MIN_VALID) {
    throw amocrmError(
      'AMOCRM_CONFIG',
      `minValid must be a whole number of seconds from 0 to ${MAX_MIN_VALID} (default ${DEFAULT_MIN_VALID}).`
    );
  }
  const command = given.command === undefined ? DEFAULT_COMMAND : given.command;
  if (typeof command !== 'string' || !command) {
    throw amocrmError('AMOCRM_CONFIG', 'command must be the path of amocrm-wizard or a name on PATH.');
  }
  const helperTimeout = given.helperTimeout === undefined ? DEFAULT_HELPER_TIMEOUT_MS : given.helperTimeout;
  if (!Number.isInteger(helperTimeout) || helperTimeout <= 0) {
    throw amocrmError(
      'AMOCRM_CONFIG',
      `helperTimeout must be a whole number of milliseconds above 0 (default ${DEFAULT_HELPER_TIMEOUT_MS}).`
    );
  }
  return { command, target: [`--${targets[0]}`, given[targets[0]]], minValid, helperTimeout };
}

/** Runs `amocrm-wizard token --json`, the refused token (if any) on stdin, never in argv. */
function runHelper({ command, target, minValid, helperTimeout }, refused) {
  const args = ['token', '--json', ...target, '--min-valid', String(minValid)];
  if (refused) args.push('--stale');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out = [];
    const err = [];
    const timer = setTimeout(() => {
      // SIGKILL: a helper that ignores stdin and signals alike must not outlive the request.
      // Its lock on the target is a file lock, which the kernel releases with the process.
      child.kill('SIGKILL');
      // A grandchild may still hold the pipes open; stop waiting for them.
      child.stdout.destroy();
      child.stderr.destroy();
      const seconds = helperTimeout / 1000;
      reject(
        amocrmError(
          'AMOCRM_UNAVAILABLE',
          `"${command} token" did not answer within ${seconds} s and was stopped. amoCRM or the ` +
            'connection\'s storage may be very slow or stuck; try again later, or raise helperTimeout.'
        )
      );
    }, helperTimeout);
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    // The helper may exit before reading stdin (bad flags, say); its exit code tells why.
    child.stdin.on('error', () => {});
    child.on('error', (error) => {
      clearTimeout(timer);
      const missing = error.code === 'ENOENT' || error.code === 'EACCES';
      const message = missing
        ? `The credential helper "${command}" was not found. ${INSTALL_HINT}`
        : `Could not run "${command}": ${error.message}`;
      reject(amocrmError('AMOCRM_CONFIG', message, { cause: error }));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (exitCode !== 0) {
        const code = CODE_BY_EXIT[exitCode] || 'AMOCRM_CONFIG';
        const why = exitCode === null ? `was stopped by ${signal}` : `exited with code ${exitCode}`;
        reject(amocrmError(code, stderr || `${command} token ${why}.`, { exitCode }));
        return;
      }
      try {
        resolve(parseAnswer(Buffer.concat(out).toString('utf8'), command));
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end(refused ? `${refused}\n` : '');
  });
}

function parseAnswer(text, command) {
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = null;
  }
  const expiresAt = answer && Date.parse(answer.expires_at);
  if (!answer || typeof answer.access_token !== 'string' || !answer.access_token || Number.isNaN(expiresAt)) {
    throw amocrmError(
      'AMOCRM_CONFIG',
      `"${command} token --json" did not print {"access_token", "expires_at", "base_url"}; ` +
        'is it an amocrm-wizard older than the token command? Upgrade it: pip install -U amocrm-wizard.'
    );
  }
  return { accessToken: answer.access_token, expiresAt, baseUrl: String(answer.base_url || '') };
}

/** The access token of one instance: cached, and fetched by one helper call at a time. */
class CachedToken {
  constructor(settings) {
    this.settings = settings;
    this.token = null;
    this.usableUntil = 0;
    this.inflight = null;
  }

  /** The token for the next request: the cached one while it has more than minValid left. */
  current() {
    if (this.inflight) return this.inflight;
    if (this.token && Date.now() < this.usableUntil) return Promise.resolve(this.token);
    return this.ask(null);
  }

  /**
   * A token other than `refused`, which amoCRM just turned down. Every request refused at
   * the same moment shares one helper call; a request refused with a token that has
   * been replaced since is simply sent again with the new one.
   */
  async renew(refused) {
    if (this.inflight) {
      const token = await this.inflight;
      if (token.accessToken !== refused) return token;
    }
    if (this.token && this.token.accessToken !== refused) return this.token;
    return this.ask(refused);
  }

  ask(refused) {
    if (!this.inflight) {
      this.inflight = runHelper(this.settings, refused)
        .then((token) => {
          this.token = token;
          const margin = this.settings.minValid * 1000;
          this.usableUntil = Math.max(token.expiresAt - margin, Date.now() + SHORTEST_CACHE_MS);
          return token;
        })
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }
}

function bearerOf(headers) {
  const value = headers && (typeof headers.get === 'function' ? headers.get('Authorization') : headers.Authorization);
  return typeof value === 'string' && value.startsWith('Bearer ') ? value.slice(7) : '';
}

function setBearer(headers, accessToken) {
  if (typeof headers.set === 'function') headers.set('Authorization', `Bearer ${accessToken}`);
  else headers.Authorization = `Bearer ${accessToken}`;
}

/**
 * Makes `instance` (an axios instance) authenticate to amoCRM through amocrm-wizard.
 * Sets its baseURL when unset, adds the bearer token to every request, and on a 401
 * gets a new token once (shared by every request refused meanwhile) and retries each
 * request once. Returns `instance`.
 */
function amocrmAuth(instance, options) {
  if (!instance || !instance.interceptors || !instance.defaults) {
    throw new TypeError('amocrmAuth expects an axios instance, e.g. axios.create().');
  }
  const cached = new CachedToken(readOptions(options));
  // The baseURL this module set, if any: it follows the account when the helper reports a
  // new address (amoCRM moved it); one the backend set itself is never touched.
  let ownBaseURL = null;

  instance.interceptors.request.use(async (config) => {
    const token = await cached.current();
    const unset = (url) => !url || url === ownBaseURL;
    if (token.baseUrl && unset(instance.defaults.baseURL)) {
      const previous = ownBaseURL;
      instance.defaults.baseURL = ownBaseURL = token.baseUrl;
      if (!config.baseURL || config.baseURL === previous) config.baseURL = token.baseUrl;
    }
    config.headers = config.headers || {};
    setBearer(config.headers, token.accessToken);
    return config;
  });

  instance.interceptors.response.use(undefined, async (error) => {
    const config = error && error.config;
    if (!error.response || error.response.status !== 401 || !config || config[RETRIED]) throw error;
    const refused = bearerOf(config.headers);
    const token = await (refused ? cached.renew(refused) : cached.current());
    // The helper renews every token that can be renewed, so getting the refused one back
    // means it cannot be: a long-lived token that was revoked or has run out.
    if (refused && token.accessToken === refused) {
      throw amocrmError(
        'AMOCRM_REAUTH',
        'amoCRM refused the long-lived token amocrm-wizard keeps for this connection (it was revoked, ' +
          'it expired, or the integration was switched off), so the connection is dead. Make a new ' +
          "long-lived token on the integration's Keys and scopes tab and give it to amocrm-wizard, or connect again."
      );
    }
    config[RETRIED] = true;
    return instance.request(config);
  });

  return instance;
}

module.exports = { amocrmAuth, isAmocrmError };
