import { AllSourceError } from '@allsource/errors';
import { jsonBody } from '@allsource/service-kit';
import type { Express } from 'express';
import type { CoreConfig } from '../config';
import { optionalInt } from '../http/params';
import { COMPATIBILITY_MODES, type CompatibilityMode } from './compatibility';
import { violationText } from './jsonSchema';
import { schemaVersionJson, type RegisterInput, type SchemaRegistry } from './schemaRegistry';

const MAX_DESCRIPTION_CHARS = 4096;
const MAX_TAGS = 64;
const MAX_TAG_CHARS = 128;

type Body = Record<string, unknown>;

function objectBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AllSourceError('INVALID_INPUT', 'the body must be a JSON object');
  }
  return body as Body;
}

function parseRegister(raw: unknown): RegisterInput {
  const body = objectBody(raw);
  if (typeof body.subject !== 'string') throw new AllSourceError('INVALID_INPUT', 'subject must be a string (an event type)');
  const { description, tags } = body;
  if (description !== undefined && description !== null && (typeof description !== 'string' || description.length > MAX_DESCRIPTION_CHARS)) {
    throw new AllSourceError('INVALID_INPUT', `description must be a string of at most ${MAX_DESCRIPTION_CHARS} characters`);
  }
  if (
    tags !== undefined &&
    tags !== null &&
    (!Array.isArray(tags) ||
      tags.length > MAX_TAGS ||
      !tags.every((t) => typeof t === 'string' && t.length >= 1 && t.length <= MAX_TAG_CHARS))
  ) {
    throw new AllSourceError('INVALID_INPUT', `tags must be an array of at most ${MAX_TAGS} strings of 1-${MAX_TAG_CHARS} characters`);
  }
  return {
    subject: body.subject,
    schema: body.schema,
    description: (description as string | null | undefined) ?? null,
    tags: (tags as string[] | null | undefined) ?? [],
  };
}

/** The schema registry's HTTP API (see docs/api.md, "Schema registry"). */
export function schemaRoutes(app: Express, registry: SchemaRegistry, config: CoreConfig): void {
  const body = jsonBody(config.maxBodyBytes);

  app.post('/api/v1/schemas', body, async (req, res) => {
    const { record } = await registry.register(parseRegister(req.body));
    res.json({ schema_id: record.id, subject: record.subject, version: record.version, created_at: record.createdAt });
  });

  app.get('/api/v1/schemas', (_req, res) => {
    const subjects = registry.subjectNames();
    res.json({ subjects, total: subjects.length });
  });

  app.post('/api/v1/schemas/validate', body, (req, res) => {
    const b = objectBody(req.body);
    if (typeof b.subject !== 'string') throw new AllSourceError('INVALID_INPUT', 'subject must be a string');
    const version = b.version ?? undefined;
    if (version !== undefined && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)) {
      throw new AllSourceError('INVALID_INPUT', 'version must be a positive integer');
    }
    if (b.payload === undefined) throw new AllSourceError('INVALID_INPUT', 'payload is required');
    const result = registry.validate(b.subject, b.payload, version as number | undefined);
    res.json({
      valid: result.valid,
      errors: result.violations.map(violationText),
      schema_version: result.version,
      // Extension: the same errors, structured (ajv's, in snake_case).
      violations: result.violations,
    });
  });

  app.get('/api/v1/schemas/:subject', (req, res) => {
    const version = optionalInt(req.query as Record<string, unknown>, 'version', 1, Number.MAX_SAFE_INTEGER);
    res.json(schemaVersionJson(registry.get(req.params.subject, version)));
  });

  app.get('/api/v1/schemas/:subject/versions', (req, res) => {
    const subject = req.params.subject as string;
    const versions = registry.versions(subject);
    // Extension: the subject's settings ride along.
    res.json({ subject, versions, ...settingsJson(registry, subject) });
  });

  app.put('/api/v1/schemas/:subject/compatibility', body, async (req, res) => {
    const raw = objectBody(req.body).compatibility;
    const mode = typeof raw === 'string' ? raw.toUpperCase() : raw;
    if (!COMPATIBILITY_MODES.includes(mode as CompatibilityMode)) {
      throw new AllSourceError('INVALID_INPUT', `compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}`);
    }
    const subject = req.params.subject as string;
    const settings = await registry.setCompatibility(subject, mode as CompatibilityMode);
    res.json({ subject, compatibility: settings.compatibility });
  });

  // Extension: per-subject ingest enforcement.
  app.put('/api/v1/schemas/:subject/enforcement', body, async (req, res) => {
    const enforce = objectBody(req.body).enforce;
    if (typeof enforce !== 'boolean') throw new AllSourceError('INVALID_INPUT', 'enforce must be true or false');
    const subject = req.params.subject as string;
    const settings = await registry.setEnforcement(subject, enforce);
    res.json({ subject, enforce: settings.enforce, enforced: settings.enforced });
  });
}

function settingsJson(registry: SchemaRegistry, subject: string): object {
  const s = registry.settings(subject);
  return { compatibility: s.compatibility, enforce: s.enforce, enforced: s.enforced };
}
