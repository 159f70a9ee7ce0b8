import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ServerProcess {
  name: string;
  port: number;
  url: string;
  dataDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Start a server as a child process and wait for it to report its port: `{"listening":port}`
 * for the bench servers, the core's "allsource core listening" log line for the core.
 */
export async function startServer(name: string, script: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `allsource-bench-${name}-`));
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    // The core reports its port in its 'listening' log line, so its log level must include info.
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start in 30 s`));
    }, 30_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before listening`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const msg = JSON.parse(line) as { listening?: number; port?: number; msg?: string };
          const found = msg.listening ?? (msg.msg === 'allsource core listening' ? msg.port : undefined);
          if (found !== undefined) {
            clearTimeout(timer);
            resolve(found);
          }
        } catch {
          // not a JSON line
        }
      }
    });
  });
  // Keep draining output (request logs) so the child never blocks on a full pipe.
  child.stdout!.resume();
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
