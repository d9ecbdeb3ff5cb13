import dbus from 'dbus-next';
import { describe, expect, it } from 'vitest';
import {
  ALLOW_INTERACTIVE_AUTHORIZATION,
  Authorizer,
  MAX_PENDING_CHECKS,
  PolkitAction,
  parseAuthorizationResult,
} from './polkit.js';

type Answer = dbus.Message | Error | Promise<dbus.Message>;

/** A bus that answers GetConnectionUnixUser with `uid` and CheckAuthorization with `polkit(msg)`. */
function fakeBus(uid: number, polkit: (msg: dbus.Message) => Answer) {
  const asked: dbus.Message[] = [];
  const bus = {
    call(msg: dbus.Message): Promise<dbus.Message> {
      if (msg.member === 'GetConnectionUnixUser') {
        return Promise.resolve(
          new dbus.Message({
            type: dbus.MessageType.METHOD_RETURN,
            replySerial: '1',
            signature: 'u',
            body: [uid],
          }),
        );
      }
      asked.push(msg);
      const a = polkit(msg);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
  };
  return { bus: bus as unknown as dbus.MessageBus, asked };
}

const result = (authorized: boolean, challenge: boolean, details: Record<string, string> = {}) =>
  new dbus.Message({
    type: dbus.MessageType.METHOD_RETURN,
    replySerial: '1',
    signature: '(bba{ss})',
    body: [[authorized, challenge, details]],
  });

const request = (flags = 0) => ({
  method: 'org.bootc.BoundImages.Upgrade',
  action: PolkitAction.upgrade,
  sender: ':1.42',
  flags,
});

describe('Authorizer', () => {
  it('allows root without asking polkit', async () => {
    const { bus, asked } = fakeBus(0, () => new Error('must not be asked'));
    expect(await new Authorizer(bus).authorize(request())).toEqual({ allowed: true, uid: 0, by: 'root' });
    expect(asked).toEqual([]);
  });

  it("asks polkit for the caller's bus name, interaction only with the caller's flag", async () => {
    const { bus, asked } = fakeBus(1000, () => result(true, false));
    const auth = new Authorizer(bus);
    expect(await auth.authorize(request())).toEqual({ allowed: true, uid: 1000, by: 'polkit' });
    await auth.authorize(request(ALLOW_INTERACTIVE_AUTHORIZATION));
    const [plain, interactive] = asked as [dbus.Message, dbus.Message];
    expect(plain.destination).toBe('org.freedesktop.PolicyKit1');
    expect(plain.member).toBe('CheckAuthorization');
    expect(plain.signature).toBe('(sa{sv})sa{ss}us');
    const [subject, action, , flags] = plain.body as [
      [string, Record<string, dbus.Variant>],
      string,
      unknown,
      number,
    ];
    expect(subject[0]).toBe('system-bus-name');
    expect(subject[1].name?.value).toBe(':1.42');
    expect(action).toBe('org.bootc.BoundImages.upgrade');
    expect(flags).toBe(0);
    expect(interactive.body[3]).toBe(1);
  });

  it.each([
    [
      result(false, false),
      'denied',
      'org.bootc.BoundImages.Upgrade is not allowed: polkit denies action org.bootc.BoundImages.upgrade; the caller is UID 1000',
    ],
    [
      result(false, true),
      'challenge',
      'org.bootc.BoundImages.Upgrade needs authentication for polkit action org.bootc.BoundImages.upgrade; the caller is UID 1000: call it with interactive authorization allowed (and a polkit agent running), or have a polkit rule allow the action',
    ],
    [
      result(false, true, { 'polkit.dismissed': 'true' }),
      'dismissed',
      'org.bootc.BoundImages.Upgrade: authentication for polkit action org.bootc.BoundImages.upgrade was dismissed; the caller is UID 1000',
    ],
    [
      new dbus.DBusError(
        'org.freedesktop.DBus.Error.ServiceUnknown',
        'The name … was not provided by any .service files',
      ),
      'unavailable',
      'org.bootc.BoundImages.Upgrade is only allowed for root (UID 0) or through polkit action org.bootc.BoundImages.upgrade; the caller is UID 1000, and polkit could not be asked (org.freedesktop.DBus.Error.ServiceUnknown)',
    ],
    [
      new dbus.Message({
        type: dbus.MessageType.METHOD_RETURN,
        replySerial: '1',
        signature: 's',
        body: ['yes'],
      }),
      'unavailable',
      'org.bootc.BoundImages.Upgrade is only allowed for root (UID 0) or through polkit action org.bootc.BoundImages.upgrade; the caller is UID 1000, and polkit could not be asked (polkit answered CheckAuthorization with (s))',
    ],
  ])('refuses, naming the action: %#', async (answer, why, text) => {
    const { bus } = fakeBus(1000, () => answer);
    expect(await new Authorizer(bus).authorize(request())).toEqual({ allowed: false, uid: 1000, why, text });
  });

  it('refuses when the bus cannot say who the caller is', async () => {
    const { bus } = fakeBus(0, () => result(true, false));
    const d = await new Authorizer(bus).authorize({ ...request(), sender: undefined });
    expect(d).toMatchObject({ allowed: false, uid: null, why: 'unknown-caller' });
  });

  it(`runs at most ${MAX_PENDING_CHECKS} polkit checks at once, refusing the rest`, async () => {
    let release: (m: dbus.Message) => void = () => undefined;
    const gate = new Promise<dbus.Message>((r) => (release = r));
    const { bus } = fakeBus(1000, () => gate);
    const auth = new Authorizer(bus);
    const first = Array.from({ length: MAX_PENDING_CHECKS }, () => auth.authorize(request()));
    await new Promise((r) => setTimeout(r, 10));
    expect(auth.pendingChecks).toBe(MAX_PENDING_CHECKS);
    expect(await auth.authorize(request())).toMatchObject({ allowed: false, why: 'busy' });
    release(result(true, false));
    expect((await Promise.all(first)).every((d) => d.allowed)).toBe(true);
    expect(auth.pendingChecks).toBe(0);
  });
});

describe('parseAuthorizationResult', () => {
  it('reads (bba{ss})', () => {
    expect(parseAuthorizationResult(result(false, true, { a: 'b' }))).toEqual({
      authorized: false,
      challenge: true,
      details: { a: 'b' },
    });
  });
  it('throws on anything else', () => {
    expect(() => parseAuthorizationResult(null)).toThrow('(nothing)');
  });
});
