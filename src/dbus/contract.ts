// The D-Bus contract of org.bootc.BoundImages in code: names, paths, and every interface member with
// its signature and argument names. dbus/org.bootc.BoundImages.xml is the source of truth; a unit test
// keeps this table equal to it, and the live introspection is rendered from this table.

export const BUS_NAME = 'org.bootc.BoundImages';
export const MANAGER_PATH = '/org/bootc/BoundImages';
export const JOB_PATH_PREFIX = '/org/bootc/BoundImages/job/';
export const MANAGER_INTERFACE = 'org.bootc.BoundImages';
export const JOB_INTERFACE = 'org.bootc.BoundImages.Job';

export interface ArgSpec {
  name: string;
  type: string;
  direction?: 'in' | 'out';
}

export interface MethodSpec {
  name: string;
  args: readonly ArgSpec[];
}

export interface PropertySpec {
  name: string;
  type: string;
  access: 'read' | 'write' | 'readwrite';
  /** Never changes for the object's lifetime (annotated EmitsChangedSignal=const). */
  constant?: true;
}

export interface SignalSpec {
  name: string;
  args: readonly ArgSpec[];
}

export interface InterfaceSpec {
  name: string;
  methods: readonly MethodSpec[];
  properties: readonly PropertySpec[];
  signals: readonly SignalSpec[];
}

const ro = (name: string, type: string): PropertySpec => ({ name, type, access: 'read' });
const constant = (name: string, type: string): PropertySpec => ({
  name,
  type,
  access: 'read',
  constant: true,
});

export const MANAGER_SPEC: InterfaceSpec = {
  name: MANAGER_INTERFACE,
  methods: [
    {
      name: 'Upgrade',
      args: [
        { name: 'options', type: 'a{sv}', direction: 'in' },
        { name: 'job', type: 'o', direction: 'out' },
      ],
    },
    { name: 'ListBoundImages', args: [{ name: 'images', type: 'a(ssss)', direction: 'out' }] },
  ],
  properties: [
    ro('State', 's'),
    ro('LastResult', 's'),
    ro('LastReconcileTime', 't'),
    ro('Roots', 'as'),
    constant('StorePath', 's'),
    constant('Version', 's'),
    ro('CurrentJob', 'o'),
  ],
  signals: [
    {
      name: 'JobRemoved',
      args: [
        { name: 'job', type: 'o' },
        { name: 'result', type: 's' },
      ],
    },
  ],
};

export const JOB_SPEC: InterfaceSpec = {
  name: JOB_INTERFACE,
  methods: [{ name: 'Cancel', args: [] }],
  properties: [
    constant('Id', 'u'),
    ro('State', 's'),
    ro('Phase', 's'),
    ro('ImagesTotal', 'u'),
    ro('ImagesDone', 'u'),
    ro('Progress', 'd'),
    ro('Pulled', 'as'),
    ro('Removed', 'as'),
    ro('Errors', 'a(ss)'),
    constant('StartedByUID', 'u'),
    constant('StartTime', 't'),
    ro('FinishTime', 't'),
    ro('Result', 's'),
    ro('GcSkipped', 's'),
    ro('CurrentImage', 's'),
    constant('Options', 'a{sv}'),
  ],
  signals: [],
};

export function jobPath(id: number): string {
  return `${JOB_PATH_PREFIX}${id}`;
}

/** The job id of a job object path, or null when `path` is not one. */
export function jobIdOfPath(path: string): number | null {
  if (!path.startsWith(JOB_PATH_PREFIX)) return null;
  const rest = path.slice(JOB_PATH_PREFIX.length);
  if (!/^[1-9][0-9]{0,9}$/.test(rest)) return null;
  return Number(rest);
}
