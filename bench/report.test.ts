import { expect } from 'chai';
import { evaluateTargets, markdownTable } from './report.js';
import type { ScenarioResult } from './sections/check.js';

const scenario = (id: string, cpuUsPerDecision: number, throughput = 1000): ScenarioResult => ({
  id,
  label: id,
  kind: id.endsWith('read') ? 'read' : 'create',
  throughput,
  cpuUsPerDecision,
  rounds: [],
  rates: [],
  rssBeforeBytes: 0,
  rssAfterBytes: 0,
});

describe('bench targets', () => {
  it('judges each target against its own baseline and says by how much', () => {
    const rows = evaluateTargets({
      check: [scenario('floor-read', 100), scenario('ours-read', 110), scenario('floor-create', 100), scenario('ours-create', 160, 900), scenario('opa-envoy-create', 600, 1000)],
      extAuthzAddedP99At200: { ms: 0.8, chain: 'full chain' },
      soakRssGrowth: 0.12,
    });
    expect(rows.map((r) => r.status)).to.deep.equal(['missed', 'met', 'missed', 'met', 'missed']);
    expect(rows[0]!.measured).to.equal('1.60× (160 µs vs 100 µs per decision)');
    expect(rows[2]!.measured).to.equal('0.90× (900/s vs 1000/s)');
    expect(rows[4]!.measured).to.equal('12.0%');
  });

  it('calls an ext_authz hop that made requests faster by more than 1 ms a disturbed run, not a success', () => {
    const [added] = evaluateTargets({ extAuthzAddedP99At200: { ms: -4.2, chain: 'full chain' } }).slice(3);
    expect(added!.status).to.equal('inconclusive');
    expect(evaluateTargets({ extAuthzAddedP99At200: { ms: -0.3, chain: 'full chain' } })[3]!.status).to.equal('met');
  });

  it('says "not measured" for sections that did not run, never "met"', () => {
    expect(evaluateTargets({}).map((r) => r.status)).to.deep.equal(Array(5).fill('not measured'));
  });
});

describe('Markdown tables', () => {
  it('pads columns to their widest cell', () => {
    expect(markdownTable(['a', 'bb'], [['ccc', 'd']])).to.equal('| a   | bb |\n| --- | -- |\n| ccc | d  |');
  });
});
