/**
 * A real `redis-server` for tests: on a free port of 127.0.0.1 (the kernel picks it), no
 * persistence, stopped by `stop()`. The binary comes from PATH (`.ci/run` installs Debian's
 * redis-server when it is missing); `REDIS_SERVER` overrides it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const binary = (): string => process.env.REDIS_SERVER ?? 'redis-server';

/** Whether a redis-server binary is there (the CI installs it; tests say so plainly when it is not). */
export function haveRedisServer(): boolean {
  return spawnSync(binary(), ['--version'], { stdio: 'ignore' }).status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  // a port found free can be taken before redis binds it: try a few
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      binary(),
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'notice'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    const ready = await new Promise<boolean>((resolve) => {
      const onData = (d: Buffer) => {
        log += d.toString();
        if (/Ready to accept connections/.test(log)) resolve(true);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', () => resolve(false));
      setTimeout(() => resolve(false), 10_000).unref();
    });
    if (ready) {
      return {
        url: `redis://127.0.0.1:${port}/0`,
        port,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 4) throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${log}`);
  }
}
