import type { AxiosInstance } from 'axios';

/** Where amocrm-wizard keeps the connection: exactly one of a .env file or a database URL. */
export type AmocrmTarget = { env: string; db?: undefined } | { db: string; env?: undefined };

export interface AmocrmAuthOptions {
  /** `amocrm-wizard`'s path, or a name found on PATH. Default: `'amocrm-wizard'`. */
  command?: string;
  /**
   * Seconds: a token with less left is renewed before use (the helper's `--min-valid`),
   * and the cached token is used until this long before it expires. 0 to 3600; default 300.
   */
  minValid?: number;
  /**
   * Milliseconds one `amocrm-wizard token` run may take before it is killed and the request
   * fails with `AMOCRM_UNAVAILABLE`. Whole number above 0; default 120000 (a refresh may wait
   * up to 60 s for another process's lock, then retry for up to 30 s).
   */
  helperTimeout?: number;
}

/**
 * - `AMOCRM_REAUTH`: the connection is dead (helper exit 3), or amoCRM refuses the stored
 *   long-lived token (revoked or expired; no `exitCode` then); an admin must run amocrm-wizard again.
 * - `AMOCRM_UNAVAILABLE`: amoCRM could not be reached, failed, or blocked the account (exit 4),
 *   or the helper did not answer within `helperTimeout` and was killed (no `exitCode` then).
 * - `AMOCRM_CONFIG`: nothing is stored, bad input, the target cannot be read (exits 1, 2, 5),
 *   or amocrm-wizard is not installed.
 */
export type AmocrmErrorCode = 'AMOCRM_REAUTH' | 'AMOCRM_UNAVAILABLE' | 'AMOCRM_CONFIG';

/** An `Error` whose message is the helper's own (what happened, what to do). */
export interface AmocrmError extends Error {
  name: 'AmocrmError';
  code: AmocrmErrorCode;
  /** The helper's exit code, when it ran and failed. */
  exitCode?: number | null;
}

/**
 * Makes an axios instance authenticate to amoCRM through `amocrm-wizard token`: sets its
 * `baseURL` when unset, adds the bearer token to every request, and on a 401 renews the token
 * once for every request refused at that moment, then retries each once. Returns the instance.
 */
export function amocrmAuth<T extends AxiosInstance>(instance: T, options: AmocrmTarget & AmocrmAuthOptions): T;

export function isAmocrmError(error: unknown): error is AmocrmError;
