import { expect } from 'chai';
import { normalisePath } from './path.js';

function normalised(raw: string): string {
  const result = normalisePath(raw);
  if (!result.ok) throw new Error(`expected ${raw} to normalise, got: ${result.reason}`);
  return result.path;
}

function rejection(raw: string): string {
  const result = normalisePath(raw);
  if (result.ok) throw new Error(`expected ${raw} to be rejected, got ${result.path}`);
  return result.reason;
}

describe('normalisePath', () => {
  it('appends the trailing slash Dell forwards with', () => {
    expect(normalised('/api/types/Volume/instances')).to.equal('/api/types/Volume/instances/');
    expect(normalised('/api/types/Volume/instances/')).to.equal('/api/types/Volume/instances/');
    expect(normalised('/')).to.equal('/');
  });

  it('resolves dot segments the way the array will', () => {
    expect(normalised('/api/types/Volume/instances/../../instances/Volume::x/action/removeVolume'))
      .to.equal('/api/types/instances/Volume::x/action/removeVolume/');
    expect(normalised('/api/types/Volume/../../instances/Volume::x/action/removeVolume')).to.equal('/api/instances/Volume::x/action/removeVolume/');
    expect(normalised('/api/./login/.')).to.equal('/api/login/');
  });

  it('never climbs above the root', () => {
    expect(normalised('/../../api/version')).to.equal('/api/version/');
  });

  it('collapses repeated slashes', () => {
    expect(normalised('//api///instances//Volume::1/action//removeVolume')).to.equal('/api/instances/Volume::1/action/removeVolume/');
  });

  it('decodes encoded unreserved characters, dots and colons before resolving', () => {
    expect(normalised('/api/instances/Volume%3A%3A1/action/%72emoveVolume')).to.equal('/api/instances/Volume::1/action/removeVolume/');
    expect(normalised('/api/types/Volume/%2e%2e/%2E%2E/instances/Volume::1/action/removeVolume'))
      .to.equal('/api/instances/Volume::1/action/removeVolume/');
  });

  it('keeps other escapes encoded (upper-cased) so their meaning does not change on the way', () => {
    expect(normalised('/api/a%20b/c%3bd/e%3Ff')).to.equal('/api/a%20b/c%3Bd/e%3Ff/');
  });

  it('rejects encoded slashes, backslashes and NULs in either case', () => {
    for (const raw of ['/api/instances/Volume::1%2Faction%2FremoveVolume', '/api/a%2fb', '/api/a%5Cb', '/api/a%5cb', '/api/a%00b']) {
      expect(rejection(raw)).to.match(/encoded '\/', '\\' or NUL/);
    }
  });

  it('rejects raw backslashes, control characters, malformed escapes and relative paths', () => {
    expect(rejection('/api\\instances')).to.match(/backslash or control/);
    expect(rejection('/api/\u0000x')).to.match(/backslash or control/);
    expect(rejection('/api/a%zzb')).to.match(/malformed percent-encoding/);
    expect(rejection('/api/a%4')).to.match(/malformed percent-encoding/);
    expect(rejection('api/version')).to.match(/must start with '\/'/);
  });

  it('keeps the query string as received and out of path resolution', () => {
    const result = normalisePath('/api/types/Volume/instances?name=a/../b');
    expect(result).to.deep.equal({ ok: true, path: '/api/types/Volume/instances/?name=a/../b', pathname: '/api/types/Volume/instances/', query: '?name=a/../b' });
  });

  it('quotes the offending path in a single-line reason', () => {
    expect(rejection('/api/a%2Fb\n')).to.not.include('\n');
  });
});
