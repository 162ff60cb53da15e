import { expect } from 'chai';
import { createServer } from 'node:http';
import { ceilingOfRounds, cpuUsPerRequest, warmUp } from './ceiling.js';

const round = (requestsPerSecond: number, non2xx = 0, socketErrors = 0) => ({ requestsPerSecond, requests: requestsPerSecond * 10, non2xx, socketErrors });

describe('wrk ceilings over rounds', () => {
  it('reports the median round, so one disturbed round does not set the ceiling', () => {
    expect(ceilingOfRounds([round(1200), round(400), round(1100)]).requestsPerSecond).to.equal(1100);
  });

  it('counts the refusals and socket errors of every round, not only the median one', () => {
    const ceiling = ceilingOfRounds([round(1200), round(1000, 900, 3), round(1100)]);
    expect(ceiling).to.deep.equal({ requestsPerSecond: 1100, requests: 33_000, non2xx: 900, socketErrors: 3 });
  });

  it('charges CPU per request over every round together, summing processes of one name', () => {
    const runs = [
      { result: round(100), cpuMs: { 'our service': 500, 'edge Envoy': 100 } },
      { result: round(300), cpuMs: { 'our service': 1500, 'edge Envoy': 300 } },
    ];
    // 2,000 ms over 4,000 requests = 500 µs each; 400 ms / 4,000 = 100 µs.
    expect(cpuUsPerRequest(runs)).to.deep.equal({ 'our service': 500, 'edge Envoy': 100 });
  });
});

describe('wrk warm-up', function () {
  this.timeout(20_000);

  it('sends the path real traffic before its measured runs and logs that the run is discarded', async () => {
    let seen = 0;
    const server = createServer((_req, res) => {
      seen++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const lines: string[] = [];
      await warmUp('edge-on', { url: `http://127.0.0.1:${port}/api/types/StoragePool/instances/`, headers: {}, connections: 2, durationS: 1 }, (line) => lines.push(line));
      expect(seen).to.be.greaterThan(10);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^ {2}warm-up edge-on \(discarded\): \d+\/s over 1 s, 0 non-2xx, 0 socket errors$/);
    } finally {
      server.close();
    }
  });
});
