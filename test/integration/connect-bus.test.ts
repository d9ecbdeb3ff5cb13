// connectBus(), the one way the daemon and the client connect: to the address given (the environment
// untouched), a BusConnectError naming the address when nothing listens, and one `lost` notice, saying
// the bus closed the connection, soon after the bus goes away.
import dbus from 'dbus-next';
import { describe, expect, it } from 'vitest';
import { startPrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { BusConnectError, connectBus, type BusLostError } from '../../src/contract/connect-bus.js';

describe('connectBus', () => {
  it('connects to the given address without touching the environment', async () => {
    const bus = await startPrivateBus();
    const before = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    try {
      const c = await connectBus({ address: bus.address });
      expect(c.address).toBe(bus.address);
      const reply = await c.bus.call(
        new dbus.Message({
          destination: 'org.freedesktop.DBus',
          path: '/org/freedesktop/DBus',
          interface: 'org.freedesktop.DBus',
          member: 'GetId',
        }),
      );
      expect(reply?.body[0]).toMatch(/^[0-9a-f]{32}$/);
      expect(process.env.DBUS_SYSTEM_BUS_ADDRESS).toBe(before);
      c.close();
    } finally {
      await bus.stop();
    }
  });

  it('names the address when nothing listens there', async () => {
    const address = 'unix:path=/nonexistent/connect-bus-test/bus';
    const err = await connectBus({ address }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusConnectError);
    expect((err as BusConnectError).message).toBe(
      `cannot connect to the system bus at ${address}: connect ENOENT /nonexistent/connect-bus-test/bus`,
    );
  });

  it('reports once, within a few pings, that the bus closed the connection', async () => {
    const bus = await startPrivateBus();
    const c = await connectBus({ address: bus.address, livenessMs: 100 });
    const notices: BusLostError[] = [];
    const lost = new Promise<void>((resolve) =>
      c.onLost((err) => {
        notices.push(err);
        resolve();
      }),
    );
    const stoppedAt = Date.now();
    await bus.stop();
    await lost;
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(notices.map((n) => [n.message, n.closedByBus])).toEqual([['the bus closed the connection', true]]);
    c.close();
  });
});
