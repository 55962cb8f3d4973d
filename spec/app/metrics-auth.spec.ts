import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localSans, makeCa, makeCert } from '../../lib/app/certs.js';
import { type MetricsServer, createNodeMetrics, serveMetrics } from '../../lib/app/metrics.js';

const TOKEN = 'a-metrics-token-0123456789';

describe('metrics HTTP server: bearer token and TLS (lib/app/metrics.ts)', function () {
  this.timeout(20_000);
  let server: MetricsServer | null = null;
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'flotilla-metrics-tls-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('needs the token for /metrics and /status, not for /healthz', async () => {
    const m = createNodeMetrics({ nodeId: 1, processMetrics: false });
    server = await serveMetrics({ host: '127.0.0.1', port: 0, registry: m.registry, status: () => ({ nodeId: 1 }), token: TOKEN });
    const url = `http://127.0.0.1:${server.address().port}`;
    expect((await fetch(`${url}/metrics`)).status).to.equal(401);
    expect((await fetch(`${url}/status`, { headers: { authorization: 'Bearer wrong-token-of-same-len' } })).status).to.equal(401);
    expect((await fetch(`${url}/status`, { headers: { authorization: `Basic ${TOKEN}` } })).status).to.equal(401);
    const ok = await fetch(`${url}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.equal({ nodeId: 1 });
    expect((await fetch(`${url}/healthz`)).status).to.equal(200);
  });

  it('serves HTTPS with the node certificate', async () => {
    const ca = makeCa(dir);
    const node = makeCert(dir, ca, { name: 'node', subject: '/CN=localhost', sans: localSans });
    const m = createNodeMetrics({ nodeId: 2, processMetrics: false });
    server = await serveMetrics({
      host: '127.0.0.1', port: 0, registry: m.registry, status: () => ({ nodeId: 2 }), token: TOKEN,
      tls: { cert: readFileSync(node.cert), key: readFileSync(node.key) },
    });
    const port = server.address().port;
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/status', ca: readFileSync(ca.cert), headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).to.match(/^200 \{\s*"nodeId": 2\s*\}/);
    // Plain HTTP to the HTTPS port gets no answer.
    let failed = false;
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
  });
});
