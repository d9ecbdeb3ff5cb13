// Example roots for the tests of `bound-images check` (the lint's unit tests and the command's
// integration test): one clean, one with an error, one bootc-incompatible, one with a consumer
// warning. Each is a tree for writeTree() (root-absolute path → file text or link).
import { BOUND_IMAGES_DIR } from '../discovery/index.js';
import type { TreeNode } from '../../scripts/harness/tree-fixture.js';

const U = '/usr/share/containers/systemd';
const B = BOUND_IMAGES_DIR;
export const STORE_ARGS = 'GlobalArgs=--storage-opt=additionalimagestore=/usr/lib/bootc/storage';

function bind(name: string): Record<string, TreeNode> {
  return { [`${B}/${name}`]: { symlink: `${U}/${name}` } };
}

export const CHECK_ROOTS = {
  /** A .image and a .container that both bound-imaged and bootc read the same way. */
  good: {
    ...bind('db.image'),
    ...bind('web.container'),
    [`${U}/db.image`]: '[Image]\nImage=quay.io/example/db:16\n',
    [`${U}/web.container`]: `[Container]\nImage=quay.io/example/web:3\n${STORE_ARGS}\nExec=/bin/web\n`,
  },
  /** One entry discovery refuses (empty Image=, line 3), beside a good one. */
  broken: {
    ...bind('db.image'),
    ...bind('bad.image'),
    [`${U}/db.image`]: '[Image]\nImage=quay.io/example/db:16\n',
    [`${U}/bad.image`]: '[Image]\n# left empty by mistake\nImage=\n',
  },
  /** bound-imaged binds these, bootc does not read them the same way: AuthFile=, a short name. */
  bootc: {
    ...bind('private.image'),
    ...bind('proxy.container'),
    [`${U}/private.image`]:
      '[Image]\nImage=registry.example.com/team/private:1\nAuthFile=/etc/containers/team.json\n',
    '/etc/containers/team.json': '{"auths":{}}\n',
    [`${U}/proxy.container`]: `[Container]\nImage=nginx\n${STORE_ARGS}\n`,
  },
  /** A bound .container whose Podman would not read the bound store. */
  consumer: {
    ...bind('web.container'),
    [`${U}/web.container`]: '[Container]\nImage=quay.io/example/web:3\nExec=/bin/web\n',
  },
} satisfies Record<string, Record<string, TreeNode>>;
