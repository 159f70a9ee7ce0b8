import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { ConfigError } from '../config';

/** Roles, each including the ones before it: write can also read, admin can do everything. */
export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface ApiKeyIdentity {
  /** A label for logs and rate limits; the key itself is never logged. */
  name: string;
  role: Role;
}

interface StoredKey extends ApiKeyIdentity {
  sha256: Buffer;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * The configured API keys, kept only as SHA-256 digests. A presented key is hashed and compared
 * with every stored digest in constant time (timingSafeEqual over fixed-length digests, and no
 * early exit), so neither the key nor its position leaks through timing.
 */
export class ApiKeyStore {
  private readonly keys: StoredKey[];

  constructor(keys: ReadonlyArray<ApiKeyIdentity & ({ key: string } | { sha256: string })>) {
    this.keys = keys.map((k) => ({
      name: k.name,
      role: k.role,
      sha256: 'key' in k ? sha256(k.key) : Buffer.from(k.sha256, 'hex'),
    }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  get size(): number {
    return this.keys.length;
  }

  identify(presented: string): ApiKeyIdentity | undefined {
    const digest = sha256(presented);
    let found: StoredKey | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(digest, k.sha256) && !found) found = k;
    }
    return found && { name: found.name, role: found.role };
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function checkRole(role: string, where: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new ConfigError(`${where}: role must be one of ${ROLES.join(', ')}, got '${role}'`);
  return role as Role;
}

/**
 * Keys from `API_KEYS` (`name:role:key,…`) and/or `API_KEYS_FILE` (JSON array of
 * `{"name","role","key"}` or `{"name","role","sha256"}` — a digest keeps the plaintext out of
 * the file). No keys configured means access control is off.
 */
export function loadApiKeys(env: Record<string, string | undefined>): ApiKeyStore {
  const keys: Array<ApiKeyIdentity & ({ key: string } | { sha256: string })> = [];
  const inline = env.API_KEYS?.trim();
  if (inline) {
    for (const [i, entry] of inline.split(',').entries()) {
      const [name = '', role = '', ...rest] = entry.trim().split(':');
      const key = rest.join(':');
      if (!NAME.test(name) || key.length < 16) {
        throw new ConfigError(`API_KEYS entry ${i + 1}: expected name:role:key with a name of [A-Za-z0-9_.-] and a key of at least 16 characters`);
      }
      keys.push({ name, role: checkRole(role, `API_KEYS entry ${i + 1}`), key });
    }
  }
  const file = env.API_KEYS_FILE?.trim();
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`API_KEYS_FILE ${file}: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new ConfigError(`API_KEYS_FILE ${file}: expected a JSON array`);
    for (const [i, raw] of parsed.entries()) {
      const e = raw as { name?: unknown; role?: unknown; key?: unknown; sha256?: unknown };
      const where = `API_KEYS_FILE entry ${i + 1}`;
      if (typeof e.name !== 'string' || !NAME.test(e.name)) throw new ConfigError(`${where}: name must be 1-64 of [A-Za-z0-9_.-]`);
      const role = checkRole(String(e.role), where);
      if (typeof e.key === 'string' && e.key.length >= 16) keys.push({ name: e.name, role, key: e.key });
      else if (typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(e.sha256)) keys.push({ name: e.name, role, sha256: e.sha256 });
      else throw new ConfigError(`${where}: needs "key" (at least 16 characters) or "sha256" (64 hex digits)`);
    }
  }
  return new ApiKeyStore(keys);
}
