// Who is calling: the caller's UID as the bus daemon knows it (GetConnectionUnixUser on the sender's
// unique name). The bus, not the caller, vouches for it; any doubt is an error (callers fail closed).
import dbus from 'dbus-next';

const UID_MAX = 0xffffffff;

export async function callerUid(bus: dbus.MessageBus, sender: string | undefined | null): Promise<number> {
  if (!sender) throw new Error('the call carries no sender (not from a message bus)');
  const reply = await bus.call(
    new dbus.Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'GetConnectionUnixUser',
      signature: 's',
      body: [sender],
    }),
  );
  const uid: unknown = reply?.body?.[0];
  if (
    reply?.signature !== 'u' ||
    typeof uid !== 'number' ||
    !Number.isInteger(uid) ||
    uid < 0 ||
    uid > UID_MAX
  ) {
    throw new Error(`the bus answered GetConnectionUnixUser(${sender}) with an unexpected value`);
  }
  return uid;
}
