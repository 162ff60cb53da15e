import { expect } from 'chai';
import { formatKiB, table } from './output.js';

describe('authzctl output', () => {
  it('prints sizes in the largest binary unit that keeps them readable', () => {
    expect(formatKiB(0)).to.equal('0KiB');
    expect(formatKiB(100 * 1024 * 1024)).to.equal('100GiB');
    expect(formatKiB(1536)).to.equal('1.5MiB');
    expect(formatKiB(8 * 1024 ** 4)).to.equal('8PiB');
  });

  it('aligns table columns under their headers', () => {
    const rows = [{ name: 'gold', quota: '100GiB' }, { name: 'platinum', quota: '1TiB' }];
    const text = table(rows, [
      { header: 'NAME', value: (r) => r.name },
      { header: 'QUOTA', value: (r) => r.quota },
    ]);
    expect(text).to.equal('NAME       QUOTA\ngold       100GiB\nplatinum   1TiB\n');
  });
});
