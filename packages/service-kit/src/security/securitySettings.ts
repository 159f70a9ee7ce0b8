import { ConfigError, envInt, type Env } from '../config';
import { loadApiKeys, type ApiKeyStore } from './apiKeys';

/** The security settings both services read (docs/security.md). */
export interface SecuritySettings {
  apiKeys: ApiKeyStore;
  metricsToken: string | undefined;
  corsOrigins: string[];
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  rateLimitMaxClients: number;
}

export function securitySettings(env: Env): SecuritySettings {
  const apiKeys = loadApiKeys(env);
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  if (apiKeys.enabled && corsOrigins.includes('*')) {
    throw new ConfigError('CORS_ORIGINS=* is not allowed while API keys are configured: list the origins');
  }
  const metricsToken = env.METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  const rateLimitPerSecond = envInt(env, 'RATE_LIMIT_PER_SECOND', 0, 0, 1_000_000);
  return {
    apiKeys,
    metricsToken,
    corsOrigins,
    rateLimitPerSecond,
    rateLimitBurst: envInt(env, 'RATE_LIMIT_BURST', Math.max(1, rateLimitPerSecond * 2), 1, 10_000_000),
    rateLimitMaxClients: envInt(env, 'RATE_LIMIT_MAX_CLIENTS', 10_000, 1, 10_000_000),
  };
}
