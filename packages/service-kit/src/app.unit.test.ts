import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Writable } from 'node:stream';
import { inSequence } from './app';

/** A stream for a pino logger that keeps every JSON line written to it, parsed. */
function lineSink(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

const req = {} as Request;
const res = {} as Response;

/** Runs `inSequence(handlers)` and resolves with what it passed to the outer `next`. */
function run(handlers: RequestHandler[]): { calls: string[]; nextArgs: unknown[][] } {
  const calls: string[] = [];
  const nextArgs: unknown[][] = [];
  const traced = handlers.map((h, i) => ((rq: Request, rs: Response, next: NextFunction) => {
    calls.push(`h${i}`);
    return h(rq, rs, next);
  }) as RequestHandler);
  inSequence(traced)(req, res, ((...args: unknown[]) => nextArgs.push(args)) as NextFunction);
  return { calls, nextArgs };
}

const pass: RequestHandler = (_q, _s, next) => next();

describe("inSequence", () => {
  it('runs every handler in order, then the next layer once', () => {
    const { calls, nextArgs } = run([pass, pass, pass]);
    expect(calls).toEqual(['h0', 'h1', 'h2']);
    expect(nextArgs).toEqual([[]]);
  });

  it('stops at an error passed to next and hands it on', () => {
    const err = new Error('refused');
    const { calls, nextArgs } = run([pass, (_q, _s, next) => next(err), pass]);
    expect(calls).toEqual(['h0', 'h1']);
    expect(nextArgs).toEqual([[err]]);
  });

  it('stops at a thrown error and hands it on', () => {
    const err = new Error('thrown');
    const { calls, nextArgs } = run([
      pass,
      () => {
        throw err;
      },
      pass,
    ]);
    expect(calls).toEqual(['h0', 'h1']);
    expect(nextArgs).toEqual([[err]]);
  });

  it('does not go on when a handler answers without calling next', () => {
    const { calls, nextArgs } = run([pass, () => undefined, pass]);
    expect(calls).toEqual(['h0', 'h1']);
    expect(nextArgs).toEqual([]);
  });
});

describe('createServiceApp logging', () => {
  it("logs a failed request's error on the request's own child logger, with its id", async () => {
    const { default: pino } = await import('pino');
    const { createServiceApp } = await import('./app');
    const { lines, stream: sink } = lineSink();
    const app = createServiceApp({ logger: pino({ level: 'info' }, sink), logRequests: true, metrics: undefined }, (a) => {
      a.get('/boom', () => {
        throw new Error('kaboom');
      });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/boom`, { headers: { 'X-Request-Id': 'req-under-test' } });
      expect(res.status).toBe(500);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const failure = lines.find((l) => l.msg === 'unhandled error');
    expect(failure).toMatchObject({ req_id: 'req-under-test', err: { message: 'kaboom' } });
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ req_id: 'req-under-test', status: 500, path: '/boom' });
  });
});

describe('createServiceApp request context', () => {
  it("gives each app's requests that app's logger and a request id echoed in X-Request-Id", async () => {
    const { default: pino } = await import('pino');
    const { createServiceApp } = await import('./app');
    const sinks = [lineSink(), lineSink()];
    const servers = sinks.map((sink, n) =>
      createServiceApp({ logger: pino({ level: 'info', base: { app: n } }, sink.stream), logRequests: true, metrics: undefined }, (a) => {
        a.get('/who', (req, res) => {
          req.log.info('routed');
          res.json({ id: req.id });
        });
      }).listen(0, '127.0.0.1'),
    );
    try {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.once('listening', resolve))));
      const answers = [];
      for (const s of servers) {
        const res = await fetch(`http://127.0.0.1:${(s.address() as { port: number }).port}/who`);
        answers.push({ header: res.headers.get('x-request-id'), body: (await res.json()) as { id: string } });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const [n, { header, body }] of answers.entries()) {
        expect(header).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(body.id).toBe(header);
        // Each app's lines went to its own logger, with the request's id.
        const lines = sinks[n]!.lines;
        expect(lines.find((l) => l.msg === 'routed')).toMatchObject({ app: n, req_id: header });
        expect(lines.find((l) => l.msg === 'request')).toMatchObject({ app: n, req_id: header, status: 200, path: '/who' });
      }
      expect(answers[0]!.header).not.toBe(answers[1]!.header);
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});

describe('createServiceApp common middleware', () => {
  it('runs on matched and unmatched routes alike, and its errors get the API error answer', async () => {
    const { default: pino } = await import('pino');
    const { createServiceApp } = await import('./app');
    const { ApiKeyStore } = await import('./security');
    const app = createServiceApp(
      {
        logger: pino({ level: 'silent' }),
        logRequests: false,
        metrics: undefined,
        security: {
          settings: { corsOrigins: [], apiKeys: new ApiKeyStore([]), metricsToken: undefined, rateLimitPerSecond: 0.001, rateLimitBurst: 2, rateLimitMaxClients: 10 },
          policy: () => 'open',
        },
      },
      (a) => a.get('/here', (_req, res) => res.json({ here: true })),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const answers = [];
      for (const path of ['/here', '/nowhere', '/here']) {
        const res = await fetch(base + path);
        answers.push({ status: res.status, id: res.headers.get('x-request-id'), nosniff: res.headers.get('x-content-type-options'), body: await res.json() });
      }
      expect(answers[0]).toMatchObject({ status: 200, nosniff: 'nosniff', body: { here: true } });
      expect(answers[1]).toMatchObject({ status: 404, nosniff: 'nosniff', body: { code: 'NOT_FOUND' } });
      // The burst of 2 is spent (and refills in 1,000 s): the rate limit, one of the shared
      // middleware, refuses the third.
      expect(answers[2]).toMatchObject({ status: 429, nosniff: 'nosniff', body: { code: 'RATE_LIMITED' } });
      for (const a of answers) expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('createServiceApp access log and request metrics', () => {
  it('logs and counts an answered request and one whose client went away first (aborted)', async () => {
    const http = await import('node:http');
    const { default: pino } = await import('pino');
    const { createServiceApp } = await import('./app');
    const { lines, stream: sink } = lineSink();
    const counted: string[] = [];
    let inFlight = 0;
    const metrics = {
      requests: { labels: (method: string, endpoint: string, status: string) => ({ inc: () => counted.push(`${method} ${endpoint} ${status}`) }) },
      duration: { labels: () => ({ observe: (s: number) => expect(s).toBeGreaterThanOrEqual(0) }) },
      inFlight: { inc: () => inFlight++, dec: () => inFlight-- },
    };
    let arrived!: () => void;
    const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
    const app = createServiceApp({ logger: pino({ level: 'info' }, sink), logRequests: true, metrics }, (a) => {
      a.get('/fast', (_req, res) => res.json({ ok: true }));
      a.get('/slow', (_req, res) => {
        arrived();
        setTimeout(() => res.json({ ok: true }), 200);
      });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      expect((await fetch(`http://127.0.0.1:${port}/fast`)).status).toBe(200);
      await new Promise<void>((resolve) => {
        const request = http.get({ host: '127.0.0.1', port, path: '/slow', headers: { 'X-Request-Id': 'gone-early' } });
        request.on('error', () => resolve());
        // Gone once the route has the request, before it answers.
        void slowArrived.then(() => request.destroy());
      });
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({ path: '/fast', status: 200 });
    expect(access[0]!.aborted).toBeUndefined();
    expect(access[1]).toMatchObject({ req_id: 'gone-early', path: '/slow', aborted: true });
    // Nothing was sent: no status to report.
    expect(access[1]!.status).toBeUndefined();
    expect(counted).toEqual(['GET /fast 200', 'GET /slow 200']);
    expect(inFlight).toBe(0);
  });
});
