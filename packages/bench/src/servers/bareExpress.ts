import express from 'express';

/** A bare Express 5 app on the ingest route: parse the JSON and answer. The single-ingest baseline. */
const app = express();
app.post('/api/v1/events', express.json({ limit: '1mb' }), (req, res) => {
  res.json({ event_id: 'x', received: typeof req.body === 'object' });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`);
});
server.keepAliveTimeout = 65_000;
