// Fault injection for the job follower of `bound-images upgrade`: a tiny dbus-next service that owns
// org.bootc.BoundImages on a private bus and plays timings the real daemon cannot be made to produce
// on demand — a job already finished when the client first looks, a job that ended and was pruned
// before Upgrade even answered, signals racing right behind the GetAll answer — and replies of the
// wrong type. The normal paths are tested against the real daemon in cli-upgrade.test.ts.
import dbus from 'dbus-next';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { connectSystemBus } from '../../src/cli/bus.js';
import { cli, lines } from './cli-harness.js';
import { connectClient, ensureBuilt } from './daemon-harness.js';
import {
  BUS_NAME,
  JOB_INTERFACE,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  PROPERTIES_INTERFACE,
} from '../../src/contract/index.js';

const MANAGER_IFACE = MANAGER_INTERFACE;
const JOB_IFACE = JOB_INTERFACE;
const PROPS_IFACE = PROPERTIES_INTERFACE;
const V = (signature: string, value: unknown) => new dbus.Variant(signature, value);

type Props = Record<string, dbus.Variant>;

/** How the fake answers: Upgrade's job path (and what it sends around the reply), and GetAll. */
interface Scenario {
  jobPath: string;
  beforeUpgradeReply?: () => void;
  /** The answer to the n-th GetAll of the job (0-based); null: the object does not exist. */
  jobProps: (n: number) => Props | null;
  afterGetAllReply?: (n: number) => void;
}

let bus: PrivateBus;
let fake: dbus.MessageBus;
let scenario: Scenario;
let getAllCalls = 0;

function jobProps(id: number, over: Props): Props {
  return {
    Id: V('u', id),
    State: V('s', 'running'),
    Phase: V('s', 'pull'),
    ImagesTotal: V('u', 1),
    ImagesDone: V('u', 0),
    Progress: V('d', 0),
    Pulled: V('as', []),
    Removed: V('as', []),
    Errors: V('a(ss)', []),
    StartedByUID: V('u', 0),
    StartTime: V('t', 1_000_000n),
    FinishTime: V('t', 0n),
    Result: V('s', ''),
    GcSkipped: V('s', ''),
    CurrentImage: V('s', ''),
    Options: V('a{sv}', {}),
    ...over,
  };
}

function emit(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
  fake.send(dbus.Message.newSignal(path, iface, member, signature, body));
}

function propertiesChanged(path: string, changed: Props): void {
  emit(path, PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as', [JOB_IFACE, changed, []]);
}

function jobRemoved(path: string, result: string): void {
  emit(MANAGER_PATH, MANAGER_IFACE, 'JobRemoved', 'os', [path, result]);
}

function handle(msg: dbus.Message): boolean {
  const reply = (signature: string, body: unknown[]) =>
    fake.send(dbus.Message.newMethodReturn(msg, signature, body));
  if (msg.path === MANAGER_PATH && msg.interface === MANAGER_IFACE && msg.member === 'Upgrade') {
    scenario.beforeUpgradeReply?.();
    reply('o', [scenario.jobPath]);
    return true;
  }
  if (msg.interface === PROPS_IFACE && msg.member === 'GetAll' && msg.path === scenario.jobPath) {
    const n = getAllCalls++;
    const props = scenario.jobProps(n);
    if (props === null) {
      const newError = dbus.Message.newError as unknown as (
        m: dbus.Message,
        name: string,
        text: string,
      ) => dbus.Message;
      fake.send(newError(msg, 'org.freedesktop.DBus.Error.UnknownObject', `no object ${msg.path}`));
    } else {
      reply('a{sv}', [props]);
      scenario.afterGetAllReply?.(n);
    }
    return true;
  }
  return false;
}

const run = (args: string[]) => cli(args, { env: bus.env(), timeoutMs: 20_000 });

beforeAll(async () => {
  await ensureBuilt();
  bus = await startPrivateBus();
  fake = await connectClient(bus);
  fake.addMethodHandler(handle);
  const owned = await fake.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  expect(owned).toBe(dbus.RequestNameReply.PRIMARY_OWNER);
});

beforeEach(() => {
  getAllCalls = 0;
});

afterAll(async () => {
  fake?.disconnect();
  await bus?.stop();
});

describe('a job that ended before the client subscribed to anything about it', () => {
  it('is recognized from its properties: no hang, its lines, exit 0', async () => {
    const path = '/org/bootc/BoundImages/job/7';
    scenario = {
      jobPath: path,
      jobProps: () =>
        jobProps(7, {
          State: V('s', 'success'),
          Phase: V('s', 'done'),
          ImagesDone: V('u', 1),
          Progress: V('d', 1),
          Pulled: V('as', ['q.io/a:1']),
          Result: V('s', 'success'),
        }),
    };
    const r = await run(['upgrade']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(lines(r.stdout)).toEqual(['job 7', 'found 1 bound image', 'pulled q.io/a:1', 'success']);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a failed one the same way with --json: exit 1 and the job document', async () => {
    scenario = {
      jobPath: '/org/bootc/BoundImages/job/8',
      jobProps: () =>
        jobProps(8, {
          State: V('s', 'failed'),
          Phase: V('s', 'done'),
          Errors: V('a(ss)', [['q.io/a:1', 'manifest unknown']]),
          Result: V('s', 'failed: 1 pull failed'),
        }),
    };
    const r = await run(['upgrade', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 8, state: 'failed', result: 'failed: 1 pull failed' });
    expect(r.stderr).toBe('bound-images: job 8 failed: 1 pull failed\n');
  });
});

describe('a job that ended and was pruned before Upgrade answered', () => {
  it('is known from the signals sent before the reply (the client subscribed before calling)', async () => {
    const path = '/org/bootc/BoundImages/job/9';
    scenario = {
      jobPath: path,
      beforeUpgradeReply: () => {
        propertiesChanged(path, {
          Phase: V('s', 'done'),
          ImagesDone: V('u', 1),
          ImagesTotal: V('u', 1),
          Pulled: V('as', ['q.io/b:2']),
          State: V('s', 'success'),
          Result: V('s', 'success'),
        });
        jobRemoved(path, 'success');
      },
      jobProps: () => null,
    };
    const r = await run(['upgrade']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(lines(r.stdout)).toEqual(['job 9', 'found 1 bound image', 'pulled q.io/b:2', 'success']);
  });

  it('JobRemoved alone is enough to end with its result', async () => {
    const path = '/org/bootc/BoundImages/job/10';
    scenario = {
      jobPath: path,
      beforeUpgradeReply: () => jobRemoved(path, 'cancelled'),
      jobProps: () => null,
    };
    const r = await run(['upgrade']);
    expect(r.code).toBe(1);
    expect(lines(r.stdout).at(-1)).toBe('cancelled');
    expect(r.stderr).toBe('bound-images: job 10 cancelled\n');
  });

  it('without any signal, a job that cannot be read is an error, not a hang', async () => {
    scenario = { jobPath: '/org/bootc/BoundImages/job/11', jobProps: () => null };
    const r = await run(['upgrade']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        /^bound-images: job \/org\/bootc\/BoundImages\/job\/11 cannot be read: .*UnknownObject/,
      ),
    ]);
  });
});

describe('signals racing right behind the GetAll answer', () => {
  it('are applied after it, in bus order, even when the job is gone by the final read', async () => {
    const path = '/org/bootc/BoundImages/job/12';
    scenario = {
      jobPath: path,
      jobProps: (n) => (n === 0 ? jobProps(12, { CurrentImage: V('s', 'q.io/c:3') }) : null),
      afterGetAllReply: (n) => {
        if (n !== 0) return;
        propertiesChanged(path, {
          ImagesDone: V('u', 1),
          Pulled: V('as', ['q.io/c:3']),
          CurrentImage: V('s', ''),
          Phase: V('s', 'done'),
          State: V('s', 'success'),
          Result: V('s', 'success'),
        });
        jobRemoved(path, 'success');
      },
    };
    const r = await run(['upgrade']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    // Had the GetAll answer (running, nothing pulled) been applied after the signals, the job would
    // end with no "pulled" line. (The running view itself may be coalesced away: no "pulling" line needed.)
    const out = lines(r.stdout);
    expect(out.filter((l) => !l.startsWith('pulling '))).toEqual([
      'job 12',
      'found 1 bound image',
      'pulled q.io/c:3',
      'success',
    ]);
    expect(out.filter((l) => l.startsWith('pulling '))).toEqual(
      out.includes('pulling 1/1 q.io/c:3') ? ['pulling 1/1 q.io/c:3'] : [],
    );
  });
});

describe('bus order of a GetAll answer and the signals behind it (the client library itself)', () => {
  /** Blocks the event loop, so that the answer and the signals pile up and arrive in one read. */
  function busyWait(ms: number): void {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // spin
    }
  }

  async function order(read: 'in order' | 'awaited'): Promise<string[]> {
    const path = '/org/bootc/BoundImages/job/20';
    scenario = {
      jobPath: path,
      jobProps: () => jobProps(20, {}),
      afterGetAllReply: () => propertiesChanged(path, { State: V('s', 'success') }),
    };
    const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
    const client = await connectSystemBus();
    if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
    try {
      const seen: string[] = [];
      // The job's signals only: the bus's own NameAcquired for the client's unique name may arrive
      // after the handler is added when the machine is busy.
      client.onSignal((m) => {
        if (m.path === path) seen.push(`signal ${m.member}`);
      });
      await client.addMatch(`type='signal',sender='${BUS_NAME}',path='${path}'`);
      const done =
        read === 'in order'
          ? client.getAllInOrder(path, JOB_IFACE, () => seen.push('answer'))
          : client.getAll(path, JOB_IFACE).then(() => seen.push('answer'));
      busyWait(500);
      await done;
      await new Promise((r) => setTimeout(r, 200));
      return seen;
    } finally {
      client.close();
    }
  }

  it('getAllInOrder hands the answer over before the signals sent after it', async () => {
    expect(await order('in order')).toEqual(['answer', 'signal PropertiesChanged']);
  });

  it('which an awaited GetAll cannot: its continuation runs after them (the race getAllInOrder closes)', async () => {
    expect(await order('awaited')).toEqual(['signal PropertiesChanged', 'answer']);
  });
});

describe('replies of the wrong shape: exit 3, naming what was wrong', () => {
  it('a property of the wrong type', async () => {
    scenario = {
      jobPath: '/org/bootc/BoundImages/job/13',
      jobProps: () => jobProps(13, { State: V('u', 1) }),
    };
    const r = await run(['upgrade']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      "bound-images: unexpected reply from bound-imaged: property State has type 'u', expected 's'\n",
    );
  });

  it('an Upgrade answer that is not a job path', async () => {
    scenario = { jobPath: '/', jobProps: () => null };
    const r = await run(['upgrade', '--no-wait']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("bound-images: unexpected reply from bound-imaged: Upgrade returned '/'\n");
  });
});
