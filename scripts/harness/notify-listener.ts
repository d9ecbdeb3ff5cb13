// A real NOTIFY_SOCKET for tests: an AF_UNIX SOCK_DGRAM socket, as systemd's, that records every
// sd_notify datagram with the sender's pid (SCM_CREDENTIALS, as systemd checks NotifyAccess=).
// Node has no unix datagram sockets, so a tiny python3 listener (python3 is on every test machine;
// no extra package) binds the socket and prints each datagram as one JSON line.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeTempDir, releaseDir, trackChild, untrackChild } from './cleanup.js';

/** One sd_notify datagram. */
export interface NotifyDatagram {
  /** The sending process, from SCM_CREDENTIALS; null if the kernel attached none. */
  pid: number | null;
  /** The datagram's `KEY=value` assignments, one per line, empty lines dropped. */
  lines: string[];
  /** Receive time in ms on the listener's monotonic clock: compare datagrams with each other only. */
  receivedAtMs: number;
}

export interface NotifyListener {
  /** The socket path to put in NOTIFY_SOCKET. */
  readonly path: string;
  /** Every datagram so far, as its lines. */
  messages(): string[][];
  datagrams(): NotifyDatagram[];
  /** Resolves with all messages once `pred(all messages)` holds; rejects after timeoutMs, saying what did arrive. */
  waitFor(pred: (messages: string[][]) => boolean, timeoutMs?: number): Promise<string[][]>;
  stop(): Promise<void>;
}

const LISTENER = `
import json, socket, struct, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
print(json.dumps({"listening": path}), flush=True)
while True:
    data, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
    now = time.monotonic() * 1000
    pid = None
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(cdata) >= 12:
            pid = struct.unpack("iII", cdata[:12])[0]
    print(json.dumps({"pid": pid, "data": data.decode("utf-8", "replace"), "at": now}), flush=True)
`;

function python(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function parseDatagram(line: string): NotifyDatagram | undefined {
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== 'object' || parsed === null || !('data' in parsed)) return undefined;
  const { pid, data, at } = parsed as { pid: unknown; data: unknown; at: unknown };
  if (typeof data !== 'string' || typeof at !== 'number')
    throw new Error(`notify listener: bad line ${line}`);
  return {
    pid: typeof pid === 'number' ? pid : null,
    lines: data.split('\n').filter((l) => l !== ''),
    receivedAtMs: at,
  };
}

export async function startNotifyListener(opts: { timeoutMs?: number } = {}): Promise<NotifyListener> {
  const dir = makeTempDir('notify'); // short: sun_path holds 108 bytes
  const path = join(dir, 'notify.sock');
  const argv = [python(), '-c', LISTENER, path];
  // Under setpriv --pdeathsig, like every harness child: it dies with us, even on SIGKILL.
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) {
    const pid = child.pid;
    trackChild(pid, argv, () => child.kill('SIGKILL'));
    child.once('exit', () => untrackChild(pid));
  }
  const received: NotifyDatagram[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let exited = false;
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));

  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`notify listener did not bind ${path} in time: ${stderr}`)),
      opts.timeoutMs ?? 10_000,
    );
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the notify listener (${python()}): ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      reject(new Error(`notify listener exited (${code ?? signal}) before binding ${path}: ${stderr}`));
      for (const wake of waiters) wake();
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const datagram = parseDatagram(line);
      if (datagram === undefined) {
        clearTimeout(timer);
        resolve();
        return;
      }
      received.push(datagram);
      for (const wake of waiters) wake();
    });
  });
  try {
    await listening;
  } catch (err) {
    child.kill('SIGKILL');
    releaseDir(dir);
    throw err;
  }

  const messages = (): string[][] => received.map((d) => [...d.lines]);

  return {
    path,
    messages,
    datagrams: () => received.map((d) => ({ ...d, lines: [...d.lines] })),
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (pred(messages())) {
            done();
            resolve(messages());
            return true;
          }
          if (exited) {
            done();
            reject(new Error(`notify listener exited; received ${JSON.stringify(messages())}: ${stderr}`));
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting on ${path}; received ${JSON.stringify(messages())}`,
            ),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        if (!check()) waiters.add(check);
      });
    },
    async stop() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      releaseDir(dir);
    },
  };
}
