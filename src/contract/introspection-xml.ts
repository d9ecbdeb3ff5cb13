// D-Bus introspection XML: rendering the live Introspect answer from the contract (with argument
// names, which dbus-next's own introspection drops), and parsing introspection XML back into
// interface specs so tests can compare the XML file, the contract and the live daemon.
import type { ArgSpec, InterfaceSpec, MethodSpec, PropertySpec, SignalSpec } from './spec.js';
import { clip } from '../clip.js';

export const INTROSPECT_DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n' +
  ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">';

export const EMITS_CHANGED = 'org.freedesktop.DBus.Property.EmitsChangedSignal';

/** The standard interfaces every object of ours answers (served by dbus-next and our handler). */
export const STANDARD_INTERFACES: readonly InterfaceSpec[] = [
  {
    name: 'org.freedesktop.DBus.Introspectable',
    methods: [{ name: 'Introspect', args: [{ name: 'xml_data', type: 's', direction: 'out' }] }],
    properties: [],
    signals: [],
  },
  {
    name: 'org.freedesktop.DBus.Peer',
    methods: [
      { name: 'Ping', args: [] },
      { name: 'GetMachineId', args: [{ name: 'machine_uuid', type: 's', direction: 'out' }] },
    ],
    properties: [],
    signals: [],
  },
  {
    name: 'org.freedesktop.DBus.Properties',
    methods: [
      {
        name: 'Get',
        args: [
          { name: 'interface_name', type: 's', direction: 'in' },
          { name: 'property_name', type: 's', direction: 'in' },
          { name: 'value', type: 'v', direction: 'out' },
        ],
      },
      {
        name: 'GetAll',
        args: [
          { name: 'interface_name', type: 's', direction: 'in' },
          { name: 'props', type: 'a{sv}', direction: 'out' },
        ],
      },
      {
        name: 'Set',
        args: [
          { name: 'interface_name', type: 's', direction: 'in' },
          { name: 'property_name', type: 's', direction: 'in' },
          { name: 'value', type: 'v', direction: 'in' },
        ],
      },
    ],
    properties: [],
    signals: [
      {
        name: 'PropertiesChanged',
        args: [
          { name: 'interface_name', type: 's' },
          { name: 'changed_properties', type: 'a{sv}' },
          { name: 'invalidated_properties', type: 'as' },
        ],
      },
    ],
  },
];

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function renderArg(a: ArgSpec, indent: string): string {
  const dir = a.direction ? ` direction="${a.direction}"` : '';
  return `${indent}<arg name="${escapeAttr(a.name)}" type="${escapeAttr(a.type)}"${dir}/>`;
}

function renderMember(kind: 'method' | 'signal', m: MethodSpec | SignalSpec): string[] {
  if (m.args.length === 0) return [`  <${kind} name="${m.name}"/>`];
  return [`  <${kind} name="${m.name}">`, ...m.args.map((a) => renderArg(a, '   ')), `  </${kind}>`];
}

function renderInterface(i: InterfaceSpec): string[] {
  return [
    ` <interface name="${i.name}">`,
    ...i.methods.flatMap((m) => renderMember('method', m)),
    ...i.properties.flatMap((p) => {
      const open = `  <property name="${p.name}" type="${escapeAttr(p.type)}" access="${p.access}"`;
      if (!p.constant) return [`${open}/>`];
      return [`${open}>`, `   <annotation name="${EMITS_CHANGED}" value="const"/>`, '  </property>'];
    }),
    ...i.signals.flatMap((s) => renderMember('signal', s)),
    ' </interface>',
  ];
}

/** The Introspect answer of one object: standard interfaces, `interfaces`, then child nodes. */
export function renderIntrospection(
  interfaces: readonly InterfaceSpec[],
  children: readonly string[],
): string {
  const lines = [
    INTROSPECT_DOCTYPE,
    '<node>',
    ...[...STANDARD_INTERFACES, ...interfaces].flatMap(renderInterface),
    ...children.map((c) => ` <node name="${escapeAttr(c)}"/>`),
    '</node>',
  ];
  return lines.join('\n') + '\n';
}

export interface ParsedNode {
  interfaces: InterfaceSpec[];
  /** Names of the child nodes. */
  nodes: string[];
}

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
}

const ENTITIES: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };

function decode(value: string): string {
  return value.replace(/&(amp|quot|apos|lt|gt);/g, (_m, e: string) => ENTITIES[e] ?? '');
}

/** Parses the small XML subset introspection uses (elements, attributes, comments, a DOCTYPE). */
function parseElements(xml: string): Element {
  const text = xml
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<\?[\s\S]*?\?>/g, '')
    .replace(/<!DOCTYPE[^>]*>/i, '');
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  const root: Element = { name: '#document', attrs: {}, children: [] };
  const stack: Element[] = [root];
  let last = 0;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    const between = text.slice(last, m.index);
    if (between.trim() !== '')
      throw new Error(`introspection XML: unexpected text '${clip(between.trim(), 40)}'`);
    last = tag.lastIndex;
    const [, closing, name = '', attrText = '', selfClosing] = m;
    const top = stack[stack.length - 1] as Element;
    if (closing) {
      if (top.name !== name) throw new Error(`introspection XML: </${name}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attrs[a[1] as string] = decode(a[2] ?? a[3] ?? '');
    }
    const el: Element = { name, attrs, children: [] };
    top.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (text.slice(last).trim() !== '')
    throw new Error('introspection XML: unexpected text after the last tag');
  if (stack.length !== 1)
    throw new Error(`introspection XML: <${stack[stack.length - 1]?.name}> is not closed`);
  const node = root.children.find((c) => c.name === 'node');
  if (!node || root.children.length !== 1) throw new Error('introspection XML: expected one <node> element');
  return node;
}

function required(el: Element, attr: string): string {
  const v = el.attrs[attr];
  if (v === undefined) throw new Error(`introspection XML: <${el.name}> lacks the '${attr}' attribute`);
  return v;
}

function parseArgs(el: Element, defaultDirection: 'in' | undefined): ArgSpec[] {
  return el.children
    .filter((c) => c.name === 'arg')
    .map((c) => {
      const dir = c.attrs.direction ?? defaultDirection;
      if (dir !== undefined && dir !== 'in' && dir !== 'out') {
        throw new Error(`introspection XML: arg direction '${dir}' is neither in nor out`);
      }
      return { name: c.attrs.name ?? '', type: required(c, 'type'), ...(dir ? { direction: dir } : {}) };
    });
}

function parseAccess(el: Element): PropertySpec['access'] {
  const a = required(el, 'access');
  if (a !== 'read' && a !== 'write' && a !== 'readwrite') {
    throw new Error(`introspection XML: property access '${a}' is not read, write or readwrite`);
  }
  return a;
}

/** The interfaces and child node names of one introspection document. */
export function parseIntrospection(xml: string): ParsedNode {
  const node = parseElements(xml);
  const interfaces = node.children
    .filter((c) => c.name === 'interface')
    .map((i): InterfaceSpec => ({
      name: required(i, 'name'),
      methods: i.children
        .filter((c) => c.name === 'method')
        .map((m) => ({ name: required(m, 'name'), args: parseArgs(m, 'in') })),
      properties: i.children
        .filter((c) => c.name === 'property')
        .map((p): PropertySpec => {
          const emits = p.children.find((c) => c.name === 'annotation' && c.attrs.name === EMITS_CHANGED);
          return {
            name: required(p, 'name'),
            type: required(p, 'type'),
            access: parseAccess(p),
            ...(emits?.attrs.value === 'const' ? { constant: true as const } : {}),
          };
        }),
      signals: i.children
        .filter((c) => c.name === 'signal')
        .map((s) => ({ name: required(s, 'name'), args: parseArgs(s, undefined) })),
    }));
  const nodes = node.children.filter((c) => c.name === 'node').map((n) => required(n, 'name'));
  return { interfaces, nodes };
}
