// src/contract/interfaces.ts is generated from dbus/org.bootc.BoundImages.xml: this fails while the
// committed module differs from what the XML generates (run `npm run contract` after editing the XML).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACT_MODULE, XML_FILE, renderContractModule } from '../../scripts/gen-contract.js';

describe('src/contract/interfaces.ts', () => {
  it('is what dbus/org.bootc.BoundImages.xml generates (npm run contract)', async () => {
    const expected = await renderContractModule(readFileSync(XML_FILE, 'utf8'));
    expect(readFileSync(CONTRACT_MODULE, 'utf8')).toBe(expected);
  });
});
