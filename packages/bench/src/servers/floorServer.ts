import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

/**
 * The machine's floor for durable JSON ingest: parse the body, one write and one fdatasync per
 * request, answer. No validation, no index, no group commit. The core is compared against it.
 */
const dir = process.env.DATA_DIR ?? fs.mkdtempSync('/tmp/allsource-floor-');
fs.mkdirSync(dir, { recursive: true });
const fd = fs.openSync(path.join(dir, 'floor.log'), 'a');

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const parsed = JSON.parse(body.toString('utf8')) as { events?: unknown[] };
    fs.write(fd, body, (err) => {
      if (err) throw err;
      fs.fdatasync(fd, (syncErr) => {
        if (syncErr) throw syncErr;
        res.setHeader('Content-Type', 'application/json');
        res.end(`{"ingested":${Array.isArray(parsed.events) ? parsed.events.length : 1}}`);
      });
    });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`);
});
