import { AllSourceApiError, AllSourceClient } from '@allsource/client';
import axios from 'axios';
import type { CoreNode } from '../config';

/**
 * A typed client of one core node whose answers are capped at `maxBytes`: the shared client sets
 * no size limit, so a request interceptor puts axios' `maxContentLength` / `maxBodyLength` back on
 * every request (a node answering an endless body fails its scrape instead of filling memory).
 */
export function createCoreClient(node: CoreNode, options: { apiKey: string | undefined; maxBytes: number; timeoutMs: number }): AllSourceClient {
  const instance = axios.create();
  instance.interceptors.request.use((config) => {
    config.maxContentLength = options.maxBytes;
    config.maxBodyLength = options.maxBytes;
    return config;
  });
  return new AllSourceClient({
    baseUrl: node.url,
    axios: instance,
    timeoutMs: options.timeoutMs,
    headers: { 'User-Agent': 'allsource-control-plane/0.1.0' },
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
  });
}

/** Transport codes that mean "no answer from the node" (as opposed to a bad answer). */
const NO_ANSWER_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ERR_CANCELED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'EPIPE',
  'ERR_NETWORK',
  'ESOCKETTIMEDOUT',
]);

/** True when the call got no HTTP answer at all (refused, reset, timed out, aborted, DNS). */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof AllSourceApiError && err.kind === 'network' && NO_ANSWER_CODES.has(err.code);
}

/** A short, log-safe description of a failed call (never a stack, at most 300 characters). */
export function describeError(err: unknown, timedOut: boolean, timeoutMs: number): string {
  let text: string;
  if (timedOut && isNoAnswer(err)) text = `timeout after ${timeoutMs} ms`;
  else if (err instanceof AllSourceApiError) {
    if (err.kind === 'network') {
      const cause = err.cause as { message?: unknown } | undefined;
      const detail = typeof cause?.message === 'string' ? cause.message : err.message;
      text = `${err.code}: ${detail}`;
    } else text = err.status > 0 ? `HTTP ${err.status} ${err.code}: ${err.serverMessage ?? err.message}` : err.message;
  } else if (err instanceof Error) text = err.message;
  else text = String(err);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
