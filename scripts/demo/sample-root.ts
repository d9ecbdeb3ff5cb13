// The demo's sample deployment root: Quadlet files under usr/share/containers/systemd and the links in
// usr/lib/bootc/bound-images.d that bind them — a plain .image (the multi-layer image), a .container
// whose Image= names a .image file with AuthFile= (the image behind htpasswd auth), and a .container
// whose drop-in pins its image by digest. Also says, per entry, what it demonstrates.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MadeImage, RegistryCredentials } from '../harness/index.js';

/** Where the Quadlet files live inside the root (root-absolute). */
export const UNIT_DIR = '/usr/share/containers/systemd';
/** The bound-images directory, relative to the root. */
export const BOUND_DIR = 'usr/lib/bootc/bound-images.d';
/** The auth file app.image names with AuthFile= (root-absolute). */
export const AUTH_FILE = '/etc/containers/demo-auth.json';

export interface DemoImages {
  /** Multi-layer, on the open registry; bound by web.image. */
  web: MadeImage;
  /** Behind htpasswd auth; bound by app.container → app.image (AuthFile=). */
  app: MadeImage;
  /** On the open registry; db.container names its tag, a drop-in pins its digest. */
  db: MadeImage;
}

export interface SampleFile {
  /** Root-absolute path. */
  path: string;
  content: string;
}

export interface BoundEntryInfo {
  /** The link's name in bound-images.d, e.g. `web.image`. */
  entry: string;
  /** The reference the daemon binds for this entry (what `bound-images list` shows). */
  reference: string;
  /** What this entry demonstrates, one sentence. */
  demonstrates: string;
  /** The files behind the entry, in reading order (unit, referenced .image, drop-ins). */
  files: SampleFile[];
}

/** A containers-auth.json granting `creds` on `host`. */
export function authFileContent(host: string, creds: RegistryCredentials): string {
  const auth = Buffer.from(`${creds.user}:${creds.password}`).toString('base64');
  return `${JSON.stringify({ auths: { [host]: { auth } } }, null, 2)}\n`;
}

/** The entries of the sample root; pure, so the demo can describe them before writing them. */
export function sampleEntries(images: DemoImages): BoundEntryInfo[] {
  const unit = (name: string): string => `${UNIT_DIR}/${name}`;
  return [
    {
      entry: 'web.image',
      reference: images.web.reference,
      demonstrates: `a plain .image file; the image has ${images.web.layers} layers, pulled in parallel with the others`,
      files: [{ path: unit('web.image'), content: `[Image]\nImage=${images.web.reference}\n` }],
    },
    {
      entry: 'app.container',
      reference: images.app.reference,
      demonstrates:
        'a .container whose Image= names a .image file; that file brings AuthFile=, the credentials for the registry behind htpasswd',
      files: [
        {
          path: unit('app.container'),
          content: `[Container]\nImage=app.image\nExec=/bin/sh -c 'cat /marker'\n`,
        },
        {
          path: unit('app.image'),
          content: `[Image]\nImage=${images.app.reference}\nAuthFile=${AUTH_FILE}\n`,
        },
      ],
    },
    {
      entry: 'db.container',
      reference: images.db.digestReference,
      demonstrates: 'a drop-in overrides the .container’s Image=: the tag is pinned to a digest',
      files: [
        { path: unit('db.container'), content: `[Container]\nImage=${images.db.reference}\n` },
        {
          path: unit('db.container.d/10-pin.conf'),
          content: `[Container]\nImage=${images.db.digestReference}\n`,
        },
      ],
    },
  ];
}

/** Writes the root's files and links (absolute, in-root link targets, as bootc images have them). */
export async function writeSampleRoot(
  root: string,
  entries: BoundEntryInfo[],
  auth: { host: string; creds: RegistryCredentials },
): Promise<void> {
  const put = async (path: string, content: string): Promise<void> => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  };
  await mkdir(join(root, BOUND_DIR), { recursive: true });
  for (const e of entries) {
    for (const f of e.files) await put(f.path, f.content);
    await symlink(`${UNIT_DIR}/${e.entry}`, entryLink(root, e.entry));
  }
  await put(AUTH_FILE, authFileContent(auth.host, auth.creds));
}

/** The host path of an entry's link in the root. */
export function entryLink(root: string, entry: string): string {
  return join(root, BOUND_DIR, entry);
}

/** Removes one entry's link (the unit files stay, as after an image update that drops the binding). */
export async function unlinkEntry(root: string, entry: string): Promise<void> {
  await rm(entryLink(root, entry));
}
