import { expect } from 'chai';
import { createServer } from 'node:http';
import { parseWrk, runWrk } from './wrk.js';

describe('wrk output', () => {
  it('reads throughput, request count and the error lines', () => {
    const output = [
      'Running 10s test @ https://127.0.0.1:8443/api/types/StoragePool/instances/',
      '  1 threads and 16 connections',
      '  Thread Stats   Avg      Stdev     Max   +/- Stdev',
      '    Latency     5.12ms    2.01ms  41.22ms   90.11%',
      '  31337 requests in 10.01s, 12.34MB read',
      '  Socket errors: connect 0, read 2, write 0, timeout 1',
      '  Non-2xx or 3xx responses: 12',
      'Requests/sec:   3130.67',
      'Transfer/sec:      1.23MB',
    ].join('\n');
    expect(parseWrk(output)).to.deep.equal({ requestsPerSecond: 3130.67, requests: 31337, non2xx: 12, socketErrors: 3 });
  });

  it('counts no errors when wrk printed none', () => {
    expect(parseWrk('  10 requests in 1.00s, 1KB read\nRequests/sec:     10.00\n')).to.include({ non2xx: 0, socketErrors: 0 });
  });

  it('refuses output without a summary rather than reporting zero', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused')).to.throw(/unreadable wrk output/);
  });
});

describe('wrk requests', function () {
  this.timeout(20_000);

  async function serveAndRun(options: { headers: Record<string, string | string[]>; body?: string }): Promise<{ requests: number; seen: Array<{ line: string; raw: string[]; body: string }> }> {
    const seen: Array<{ line: string; raw: string[]; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ line: `${req.method} ${req.url}`, raw: req.rawHeaders, body });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const result = await runWrk({ url: `http://127.0.0.1:${port}/api/types/Volume/instances/`, connections: 2, durationS: 1, ...options });
      return { requests: result.requests, seen };
    } finally {
      server.close();
    }
  }

  it('POSTs the template with a new number in every request (creates never repeat a volume name)', async () => {
    const { requests, seen } = await serveAndRun({ headers: { 'content-type': 'application/json' }, body: '{"name":"vol-{n}","size":"8"}' });
    expect(requests).to.be.greaterThan(10);
    expect(`${seen[0]!.line} ${seen[0]!.body}`).to.match(/^POST \/api\/types\/Volume\/instances\/ \{"name":"vol-\d{7}","size":"8"\}$/);
    expect(new Set(seen.map((s) => s.body)).size).to.equal(seen.length);
  });

  it('sends a listed header once per value and numbers header values like the body (Dell reads two Forwarded lines and x-csi-pv-name)', async () => {
    const { seen } = await serveAndRun({ headers: { forwarded: ['for=csm-authorization;https://a;1', 'by=csm-authorization;csi-vxflexos'], 'x-csi-pv-name': 'pv-{n}' }, body: '{"name":"vol-{n}"}' });
    const values = (raw: string[], name: string) => raw.filter((_v, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === name);
    const first = seen[0]!;
    expect(values(first.raw, 'forwarded')).to.deep.equal(['for=csm-authorization;https://a;1', 'by=csm-authorization;csi-vxflexos']);
    expect(values(first.raw, 'x-csi-pv-name')).to.deep.equal([`pv-${/vol-(\d{7})/.exec(first.body)![1]}`]);
    expect(new Set(seen.map((s) => values(s.raw, 'x-csi-pv-name')[0])).size).to.equal(seen.length);
  });

  it('GETs when there is no body', async () => {
    const { seen } = await serveAndRun({ headers: { authorization: 'Bearer x' } });
    expect(seen[0]).to.include({ line: 'GET /api/types/Volume/instances/', body: '' });
  });
});
