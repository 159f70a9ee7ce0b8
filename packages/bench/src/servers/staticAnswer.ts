import * as http from 'node:http';

/**
 * The machine's floor for a query answer: a plain Node server that answers every request with
 * the same prebuilt JSON body of BODY_BYTES bytes. Timed by the same load generator as the core,
 * it shows what loopback, scheduling and the client add to any answer of that size.
 */
const size = Number(process.env.BODY_BYTES ?? 1000);
// `{"events":[],"count":0}` padded with spaces inside the array to exactly `size` bytes.
const frame = '{"events":[],"count":0}';
const body = Buffer.from(`{"events":[${' '.repeat(Math.max(0, size - frame.length))}],"count":0}`);

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`);
});
