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

describe('wrk with a numbered body', function () {
  this.timeout(20_000);

  it('POSTs the template with a new number in every request (creates never repeat a volume name)', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        bodies.push(`${req.method} ${body}`);
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const result = await runWrk({ url: `http://127.0.0.1:${port}/api/types/Volume/instances/`, headers: { 'content-type': 'application/json' }, connections: 2, durationS: 1, body: '{"name":"vol-{n}","size":"8"}' });
      expect(result.requests).to.be.greaterThan(10);
      expect(bodies[0]).to.match(/^POST \{"name":"vol-\d{7}","size":"8"\}$/);
      expect(new Set(bodies).size).to.equal(bodies.length);
    } finally {
      server.close();
    }
  });
});
