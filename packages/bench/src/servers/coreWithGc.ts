import * as path from 'node:path';

/**
 * The unmodified core (services/core/dist/main.js, configured from the environment) plus an IPC
 * hook for the memory benchmark: on `{ cmd: 'mem' }` it runs a full gc() and answers with
 * process.memoryUsage(). Start with `node --expose-gc` and an IPC channel.
 */
process.on('message', (msg: { cmd?: string }) => {
  if (msg?.cmd !== 'mem') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.send?.({ mem: process.memoryUsage(), gc: gc !== undefined });
});
// Let the IPC channel not keep the process alive on its own (the core's server does).
process.channel?.unref();

require(path.resolve(__dirname, '../../../../services/core/dist/main.js'));
