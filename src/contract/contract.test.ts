// The names and property types the daemon and the client share must match the contract's source of
// truth, dbus/org.bootc.BoundImages.xml: a renamed or retyped member breaks this test, not the client
// in the field.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MATCH_RULES } from '../cli/follow.js';
import {
  BUS_NAME,
  JOB_INTERFACE,
  JOB_SPEC,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  MANAGER_SPEC,
  jobIdOfPath,
  jobPath,
  type InterfaceSpec,
} from './index.js';

/** name → type of every property of one interface of the contract module. */
const propertyTypes = (spec: InterfaceSpec): Record<string, string> =>
  Object.fromEntries(spec.properties.map((p) => [p.name, p.type]));
const MANAGER_PROPERTY_TYPES = propertyTypes(MANAGER_SPEC);
const JOB_PROPERTY_TYPES = propertyTypes(JOB_SPEC);

const XML = readFileSync(new URL('../../dbus/org.bootc.BoundImages.xml', import.meta.url), 'utf8');

/** name → type of every <property> of one <interface> in the XML. */
function xmlProperties(iface: string): Record<string, string> {
  const block = new RegExp(`<interface name="${iface.replace(/\./g, '\\.')}">([\\s\\S]*?)</interface>`).exec(
    XML,
  )?.[1];
  if (!block) throw new Error(`no interface ${iface} in the XML`);
  const out: Record<string, string> = {};
  for (const m of block.matchAll(/<property name="([^"]+)" type="([^"]+)"/g))
    out[m[1] as string] = m[2] as string;
  return out;
}

function xmlMembers(iface: string, kind: 'method' | 'signal'): string[] {
  const block =
    new RegExp(`<interface name="${iface.replace(/\./g, '\\.')}">([\\s\\S]*?)</interface>`).exec(XML)?.[1] ??
    '';
  return [...block.matchAll(new RegExp(`<${kind} name="([^"]+)"`, 'g'))].map((m) => m[1] as string);
}

describe('the shared contract equals dbus/org.bootc.BoundImages.xml', () => {
  it('names the bus, the manager object and its interfaces as the XML does', () => {
    expect(XML).toContain(`Name: ${BUS_NAME}.`);
    expect(XML).toContain(`Objects: ${MANAGER_PATH} (interface ${MANAGER_INTERFACE})`);
    expect(XML).toContain(`${MANAGER_PATH}/job/N (interface ${JOB_INTERFACE})`);
  });

  it('has every manager property with the XML type', () => {
    expect(MANAGER_PROPERTY_TYPES).toEqual(xmlProperties(MANAGER_INTERFACE));
  });

  it('has every job property with the XML type', () => {
    expect(JOB_PROPERTY_TYPES).toEqual(xmlProperties(JOB_INTERFACE));
  });

  it('calls only members the XML declares', () => {
    expect(xmlMembers(MANAGER_INTERFACE, 'method')).toEqual(
      expect.arrayContaining(['Upgrade', 'ListBoundImages']),
    );
    expect(xmlMembers(MANAGER_INTERFACE, 'signal')).toContain('JobRemoved');
    expect(xmlMembers(JOB_INTERFACE, 'method')).toContain('Cancel');
    expect(XML).toMatch(
      /<method name="Upgrade">\s*<arg name="options" type="a\{sv\}" direction="in"\/>\s*<arg name="job" type="o"/,
    );
    expect(XML).toMatch(
      /<signal name="JobRemoved">\s*<arg name="job" type="o"\/>\s*<arg name="result" type="s"\/>/,
    );
  });

  it('subscribes to exactly the signals it follows', () => {
    expect(MATCH_RULES).toEqual([
      "type='signal',sender='org.bootc.BoundImages',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='/org/bootc/BoundImages/job'",
      "type='signal',sender='org.bootc.BoundImages',interface='org.bootc.BoundImages',member='JobRemoved',path='/org/bootc/BoundImages'",
      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bootc.BoundImages'",
    ]);
  });

  it('maps job numbers and paths both ways', () => {
    expect(jobPath(12)).toBe('/org/bootc/BoundImages/job/12');
    expect(jobIdOfPath('/org/bootc/BoundImages/job/12')).toBe(12);
    expect(jobIdOfPath('/org/bootc/BoundImages/job/012')).toBeNull();
    expect(jobIdOfPath('/org/bootc/BoundImages')).toBeNull();
  });
});
