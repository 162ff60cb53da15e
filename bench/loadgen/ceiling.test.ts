import { expect } from 'chai';
import { createServer, type ServerResponse } from 'node:http';
import { ceilingOfRounds, cpuUsPerRequest, warmUp, type WarmUpPlan } from './ceiling.js';

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
  this.timeout(30_000);

  async function warmAgainst(respond: (res: ServerResponse) => void, plan: WarmUpPlan) {
    let seen = 0;
    const server = createServer((_req, res) => {
      seen++;
      respond(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const lines: string[] = [];
      let runs = 0;
      const options = (durationS: number) => {
        runs++;
        return { url: `http://127.0.0.1:${port}/api/types/StoragePool/instances/`, headers: {}, connections: 2, durationS };
      };
      await warmUp('edge-on', options, plan, (line) => lines.push(line));
      return { seen, runs, lines };
    } finally {
      server.close();
    }
  }

  it('repeats discarded runs until the path has answered the planned number of requests', async () => {
    // A slow path (20 ms per request on 2 connections: at most 100/s) cannot answer 150 in one 1 s run.
    const { seen, runs, lines } = await warmAgainst((res) => setTimeout(() => res.end('{}'), 20), { seconds: 1, requests: 150, maxRuns: 10 });
    expect(runs).to.be.within(2, 10);
    expect(seen).to.be.at.least(150);
    expect(lines).to.have.length(1);
    const logged = /^ {2}warm-up edge-on \(discarded\): (\d+) requests in (\d+) × 1 s, 0 non-2xx, 0 socket errors$/.exec(lines[0]!);
    expect(logged, lines[0]).to.not.equal(null);
    expect(Number(logged![1])).to.be.at.least(150);
    expect(Number(logged![2])).to.equal(runs);
  });

  it('gives up after the planned number of runs on a path that never gets there, and says what it saw', async () => {
    const { runs, lines } = await warmAgainst((res) => res.writeHead(503).end(), { seconds: 1, requests: Number.MAX_SAFE_INTEGER, maxRuns: 2 });
    expect(runs).to.equal(2);
    expect(lines[0]).to.match(/in 2 × 1 s, [1-9]\d* non-2xx/);
  });
});
