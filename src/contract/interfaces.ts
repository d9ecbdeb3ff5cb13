// GENERATED from dbus/org.bootc.BoundImages.xml by scripts/gen-contract.ts (`npm run contract`): do not
// edit. The interfaces of org.bootc.BoundImages member for member; src/contract/index.ts adds the names.
import type { InterfaceSpec } from './spec.js';

export const MANAGER_SPEC = {
  name: 'org.bootc.BoundImages',
  methods: [
    {
      name: 'Upgrade',
      args: [
        { name: 'options', type: 'a{sv}', direction: 'in' },
        { name: 'job', type: 'o', direction: 'out' },
      ],
    },
    { name: 'ListBoundImages', args: [{ name: 'images', type: 'a(ssss)', direction: 'out' }] },
    { name: 'ListBoundImagesByRoot', args: [{ name: 'images', type: 'a(sssss)', direction: 'out' }] },
  ],
  properties: [
    { name: 'State', type: 's', access: 'read' },
    { name: 'LastResult', type: 's', access: 'read' },
    { name: 'LastReconcileTime', type: 't', access: 'read' },
    { name: 'Roots', type: 'as', access: 'read' },
    { name: 'StorePath', type: 's', access: 'read', constant: true },
    { name: 'Version', type: 's', access: 'read', constant: true },
    { name: 'CurrentJob', type: 'o', access: 'read' },
    { name: 'StagedDeployment', type: 'a{sv}', access: 'read' },
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
} as const satisfies InterfaceSpec;

export const JOB_SPEC = {
  name: 'org.bootc.BoundImages.Job',
  methods: [{ name: 'Cancel', args: [] }],
  properties: [
    { name: 'Id', type: 'u', access: 'read', constant: true },
    { name: 'State', type: 's', access: 'read' },
    { name: 'Phase', type: 's', access: 'read' },
    { name: 'ImagesTotal', type: 'u', access: 'read' },
    { name: 'ImagesDone', type: 'u', access: 'read' },
    { name: 'Progress', type: 'd', access: 'read' },
    { name: 'Pulled', type: 'as', access: 'read' },
    { name: 'Removed', type: 'as', access: 'read' },
    { name: 'Errors', type: 'a(ss)', access: 'read' },
    { name: 'StartedByUID', type: 'u', access: 'read', constant: true },
    { name: 'StartTime', type: 't', access: 'read', constant: true },
    { name: 'FinishTime', type: 't', access: 'read' },
    { name: 'Result', type: 's', access: 'read' },
    { name: 'GcSkipped', type: 's', access: 'read' },
    { name: 'CurrentImage', type: 's', access: 'read' },
    { name: 'Options', type: 'a{sv}', access: 'read', constant: true },
    { name: 'Planned', type: 'a(ss)', access: 'read' },
  ],
  signals: [],
} as const satisfies InterfaceSpec;
