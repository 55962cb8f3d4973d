/**
 * The library's API reference is generated from its TypeScript types by TypeDoc (`npm run docs:api`
 * writes docs/api, not committed). This spec runs TypeDoc without output, so that an export it
 * cannot document (a broken entry, a type it cannot resolve) fails the suite.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs: the API reference (TypeDoc over lib/index.ts)', function () {
  this.timeout(180_000);

  it('generates from the public entry without errors', async () => {
    const out = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile(process.execPath, ['node_modules/typedoc/bin/typedoc', '--emit', 'none', '--logLevel', 'Warn'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, text: `${stdout}${stderr}` });
      });
    });
    expect(out.text, out.text).not.to.match(/\[error\]/);
    expect(out.code, out.text).to.equal(0);
  });
});
