/**
 * `flotilla simulate` as a real process, on the example machines (dist/examples/sim): the planted
 * bug fails a sweep with exit 1 and a replay command; the replay prints the same violation with
 * its trace; the fixed twin passes; a module without a factory is a usage error (exit 2).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
const example = (name: string): string => fileURLToPath(new URL(`../../examples/sim/${name}.js`, import.meta.url));

function flotilla(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('flotilla simulate', function () {
  this.timeout(60_000);

  it('fails a sweep of the buggy machine with a replay command, and the replay shows the same violation with its trace', async () => {
    const sweep = await flotilla(['simulate', '--machine', example('stale-read'), '--seeds', '100', '--steps', '500', '--stop-at-first']);
    expect(sweep.code, sweep.stderr).to.equal(1);
    const first = /^seed (\d+): (linearizability at step \d+: .*)$/m.exec(sweep.stdout);
    expect(first, sweep.stdout).to.not.equal(null);
    const replay = /replay: flotilla (simulate .*)$/m.exec(sweep.stdout)![1]!.split(' ');
    const again = await flotilla(replay);
    expect(again.code).to.equal(1);
    expect(again.stdout).to.include(first![2]);
    expect(again.stdout).to.match(/client \d+ invokes #\d+ read \(local\)/);
    expect(again.stdout).to.include('<- unexplained');
  });

  it('passes the fixed twin (exit 0) and reports JSON', async () => {
    const r = await flotilla(['simulate', '--machine', example('fixed'), '--seeds', '30', '--steps', '500', '--nodes', '5', '--json']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; seeds: number; failures: unknown[] };
    expect(report).to.include({ ok: true, seeds: 30 });
    expect(report.failures).to.deep.equal([]);
  });

  it('refuses a module without a machine factory, and an unknown fault family (exit 2)', async () => {
    const noMachine = await flotilla(['simulate', '--machine', fileURLToPath(new URL('../../lib/sim/event-queue.js', import.meta.url))]);
    expect(noMachine.code).to.equal(2);
    expect(noMachine.stderr).to.match(/exports no machine\(\) factory/);
    const badFaults = await flotilla(['simulate', '--machine', example('fixed'), '--faults', 'network,disks']);
    expect(badFaults.code).to.equal(2);
    expect(badFaults.stderr).to.match(/unknown fault family "disks"/);
  });
});
