// Generates src/contract/interfaces.ts from dbus/org.bootc.BoundImages.xml, the one source of the D-Bus
// contract: every interface, member for member, as a typed constant the daemon and the client import.
// `npm run contract` writes it; test/unit/contract-generated.test.ts fails while it is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';

import { parseIntrospection } from '../src/contract/introspection-xml.js';

const REPO = new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url);
export const XML_FILE = fileURLToPath(new URL('dbus/org.bootc.BoundImages.xml', REPO));
export const CONTRACT_MODULE = fileURLToPath(new URL('src/contract/interfaces.ts', REPO));

/** The constant each interface of the XML becomes. */
const CONSTANTS: Record<string, string> = {
  'org.bootc.BoundImages': 'MANAGER_SPEC',
  'org.bootc.BoundImages.Job': 'JOB_SPEC',
};

/** The text of src/contract/interfaces.ts for the introspection XML `xml` (formatted as the repository is). */
export async function renderContractModule(xml: string): Promise<string> {
  const { interfaces } = parseIntrospection(xml);
  const body = interfaces.map((i) => {
    const constant = CONSTANTS[i.name];
    if (constant === undefined) {
      throw new Error(`${XML_FILE}: interface ${i.name} has no constant name in scripts/gen-contract.ts`);
    }
    return `export const ${constant} = ${JSON.stringify(i)} as const satisfies InterfaceSpec;`;
  });
  const text = [
    '// GENERATED from dbus/org.bootc.BoundImages.xml by scripts/gen-contract.ts (`npm run contract`): do not',
    '// edit. The interfaces of org.bootc.BoundImages member for member; src/contract/index.ts adds the names.',
    "import type { InterfaceSpec } from './spec.js';",
    '',
    body.join('\n\n'),
    '',
  ].join('\n');
  const options = await prettier.resolveConfig(CONTRACT_MODULE);
  return prettier.format(text, { ...options, filepath: CONTRACT_MODULE });
}

async function main(): Promise<void> {
  const text = await renderContractModule(readFileSync(XML_FILE, 'utf8'));
  writeFileSync(CONTRACT_MODULE, text);
  console.log(`wrote ${CONTRACT_MODULE}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
