import { expect } from 'chai';
import { parseRssBytes, parseStat, procUsage } from './procfs.js';

describe('/proc usage', () => {
  it('reads utime and stime after a command name that contains spaces and parentheses', () => {
    const stat = '4242 (node (bench) x) S 1 4242 7 0 -1 4194304 125 0 0 0 731 112 0 0 20 0 11 0 69878 3133440 414';
    expect(parseStat(stat)).to.deep.equal({ utimeTicks: 731, stimeTicks: 112 });
  });

  it('refuses a line it cannot read instead of reporting zero CPU', () => {
    expect(() => parseStat('4242 (node) S 1')).to.throw(/unreadable/);
  });

  it('reads the resident set size in bytes', () => {
    expect(parseRssBytes('Name:\tnode\nVmRSS:\t   52304 kB\nRssAnon:\t1 kB\n')).to.equal(52304 * 1024);
  });

  it('measures a live process', () => {
    const usage = procUsage(process.pid);
    expect(usage.rssBytes).to.be.greaterThan(10 * 1024 * 1024);
    expect(usage.cpuMs).to.be.greaterThan(0);
  });
});
