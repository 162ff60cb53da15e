import { expect } from 'chai';
import { owner, summariseAllocations, summariseProfile } from './profile.js';

describe('CPU profile summary', () => {
  const frame = (id: number, functionName: string, url: string, lineNumber = 0) => ({ id, callFrame: { functionName, url, lineNumber } });

  it('ranks functions by self time and groups them by owning code, ignoring idle time', () => {
    const profile = {
      nodes: [
        frame(1, '(root)', ''),
        frame(2, 'verify', 'file:///work/main/src/tokens/verify.ts', 41),
        frame(3, 'decode', 'file:///work/main/node_modules/protobufjs/src/reader.js', 9),
        frame(4, '(garbage collector)', ''),
        frame(5, '(idle)', ''),
      ],
      samples: [2, 2, 2, 3, 3, 4, 5, 5, 5, 5],
    };
    const summary = summariseProfile(profile);
    expect(summary.samples).to.equal(6); // the four idle samples are not CPU spent on decisions
    expect(summary.top.map((h) => h.frame)).to.deep.equal(['verify (src/tokens/verify.ts:42)', 'decode (node_modules/protobufjs/src/reader.js:10)', '(garbage collector)']);
    expect(summary.top[0]!.selfShare).to.be.closeTo(0.5, 1e-9);
    expect(summary.byOwner.map((h) => h.frame)).to.deep.equal(['src/tokens', 'node_modules/protobufjs', '(garbage collector)']);
  });

  it('names scoped packages and Node internals as owners', () => {
    expect(owner('file:///x/node_modules/@grpc/grpc-js/build/src/server.js', 'f')).to.equal('node_modules/@grpc/grpc-js');
    expect(owner('node:internal/streams/readable', 'f')).to.equal('node:internal');
  });
});

describe('allocation profile summary', () => {
  interface Frame { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Frame[] }
  const node = (functionName: string, url: string, selfSize: number, children: Frame[] = []): Frame => ({ callFrame: { functionName, url, lineNumber: 0 }, selfSize, children });

  it('ranks functions by the bytes they allocated themselves, summed over every call path', () => {
    const viewOf = (size: number) => node('viewOf', 'file:///w/dist/src/check/httpServer.js', size);
    const profile = {
      head: node('(root)', '', 0, [
        node('emit', 'node:events', 100, [viewOf(300)]),
        node('onData', 'file:///w/node_modules/ioredis/built/Redis.js', 200, [viewOf(400)]),
      ]),
    };
    const summary = summariseAllocations(profile);
    expect(summary.samples).to.equal(1000);
    expect(summary.top[0]).to.deep.equal({ frame: 'viewOf (src/check/httpServer.js:1)', selfShare: 0.7 });
    expect(summary.byOwner.map((h) => h.frame)).to.deep.equal(['src/check', 'node_modules/ioredis', 'node:internal']);
  });
});
