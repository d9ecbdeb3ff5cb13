import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOB_SPEC, MANAGER_SPEC } from './index.js';
import { parseIntrospection, renderIntrospection } from './introspection-xml.js';

const XML_FILE = new URL('../../dbus/org.bootc.BoundImages.xml', import.meta.url);

describe('dbus/org.bootc.BoundImages.xml', () => {
  const parsed = parseIntrospection(readFileSync(XML_FILE, 'utf8'));

  it('declares exactly the two interfaces of the contract, member for member', () => {
    expect(parsed.interfaces).toEqual([MANAGER_SPEC, JOB_SPEC]);
    expect(parsed.nodes).toEqual([]);
  });

  it('holds every member docs/dbus-api.md names, with its signature', () => {
    const members = (i: (typeof parsed.interfaces)[number] | undefined) =>
      Object.fromEntries([
        ...(i?.methods ?? []).map((m) => [m.name, m.args.map((a) => `${a.direction}:${a.type}`).join(',')]),
        ...(i?.properties ?? []).map((p) => [p.name, p.type]),
        ...(i?.signals ?? []).map((s) => [s.name, s.args.map((a) => a.type).join(',')]),
      ]);
    expect(members(parsed.interfaces[0])).toMatchObject({
      Upgrade: 'in:a{sv},out:o',
      ListBoundImages: 'out:a(ssss)',
      State: 's',
      LastResult: 's',
      LastReconcileTime: 't',
      Roots: 'as',
      StorePath: 's',
      Version: 's',
      JobRemoved: 'o,s',
    });
    expect(members(parsed.interfaces[1])).toMatchObject({
      Cancel: '',
      Id: 'u',
      State: 's',
      Phase: 's',
      ImagesTotal: 'u',
      ImagesDone: 'u',
      Progress: 'd',
      Pulled: 'as',
      Removed: 'as',
      Errors: 'a(ss)',
      StartedByUID: 'u',
      StartTime: 't',
      FinishTime: 't',
    });
  });

  it('has only read-only properties', () => {
    for (const i of parsed.interfaces) for (const p of i.properties) expect(p.access).toBe('read');
  });
});

describe('renderIntrospection', () => {
  it('round-trips through the parser with standard interfaces and child nodes', () => {
    const xml = renderIntrospection([MANAGER_SPEC], ['job']);
    const back = parseIntrospection(xml);
    expect(back.interfaces.map((i) => i.name)).toEqual([
      'org.freedesktop.DBus.Introspectable',
      'org.freedesktop.DBus.Peer',
      'org.freedesktop.DBus.Properties',
      'org.bootc.BoundImages',
    ]);
    expect(back.interfaces[3]).toEqual(MANAGER_SPEC);
    expect(back.nodes).toEqual(['job']);
  });
});

describe('parseIntrospection', () => {
  it('ignores comments and the DOCTYPE and decodes entities', () => {
    const p = parseIntrospection(
      '<!DOCTYPE node PUBLIC "x" "y"><!-- <interface name="no"/> --><node><interface name="a.B">' +
        '<property name="P" type="a{s&quot;}" access="read"/></interface></node>',
    );
    expect(p.interfaces).toEqual([
      { name: 'a.B', methods: [], properties: [{ name: 'P', type: 'a{s"}', access: 'read' }], signals: [] },
    ]);
  });

  it.each([
    ['<node><interface name="a.B"></node>', /closes <interface>/],
    ['<node>text</node>', /unexpected text/],
    ['<node><interface/></node>', /lacks the 'name'/],
    ['<node/><node/>', /one <node>/],
    ['<node><interface name="a.B"><property name="P" type="s" access="rw"/></interface></node>', /access/],
  ])('refuses malformed input %s', (xml, message) => {
    expect(() => parseIntrospection(xml)).toThrow(message);
  });
});
