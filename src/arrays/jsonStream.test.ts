import { expect } from 'chai';
import { Readable } from 'node:stream';
import { collected, streamedElements } from './jsonStream.js';

/** The text as a body arriving `size` bytes at a time (a multi-byte character split across chunks). */
const body = (text: string, size = 1) => {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
};

describe('streamed array listings', () => {
  it("keeps only the named top-level fields of each element, whatever the chunking, and nothing of nested objects", async () => {
    const text = JSON.stringify([
      { id: 'a1', name: 'vol-é€😀', sizeInKb: 8388608, storagePoolId: 'p1', mappedSdcInfo: [{ id: 'nested', name: 'no' }], links: { name: 'no' } },
      { name: 'no-id', other: 'x', sizeInKb: 0, flag: true, none: null },
    ]);
    for (const size of [1, 7, text.length]) {
      expect(await collected(streamedElements(body(text, size), ['id', 'name', 'sizeInKb', 'flag', 'none'])), `chunks of ${size}`).to.deep.equal([
        { id: 'a1', name: 'vol-é€😀', sizeInKb: 8388608 },
        { name: 'no-id', sizeInKb: 0, flag: true, none: null },
      ]);
    }
    expect(await collected(streamedElements(body('[]'), ['id']))).to.deep.equal([]);
  });

  it('lets the event loop in while it reads a listing that arrives as one large chunk, and splits no character', async () => {
    const listed = Array.from({ length: 2000 }, (_, i) => ({ id: `v${i}`, name: `vol-€😀-${i}`, links: [{ rel: 'self', href: `/api/instances/Volume::v${i}` }] }));
    let readWhenLetIn: number | undefined;
    let read = 0;
    setImmediate(() => (readWhenLetIn = read));
    const elements: Array<Record<string, unknown>> = [];
    for await (const element of streamedElements(body(JSON.stringify(listed), Number.MAX_SAFE_INTEGER), ['id', 'name'])) {
      elements.push(element);
      read += 1;
    }
    expect(elements).to.deep.equal(listed.map(({ id, name }) => ({ id, name })));
    // ~190 KB in one chunk: read whole, the loop's next turn would come after the last element.
    expect(readWhenLetIn).to.be.lessThan(500);
  });

  it('refuses what is not an array of objects, and JSON that breaks off or is not JSON', async () => {
    const failure = async (text: string) => {
      try {
        await collected(streamedElements(body(text, 3), ['id']));
        return 'no error';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(await failure('{"id":"a"}')).to.equal('not a JSON array');
    expect(await failure('"text"')).to.equal('not a JSON array');
    expect(await failure('[{"id":"a"},1]')).to.equal('an element of the array is not an object');
    expect(await failure('[[]]')).to.equal('an element of the array is not an object');
    expect(await failure('[{"id":"a"}')).to.not.equal('no error');
    expect(await failure('[{"id":"a"},]')).to.not.equal('no error');
    expect(await failure('')).to.not.equal('no error');
  });

  it('destroys the body when the reader stops early', async () => {
    const source = body(JSON.stringify([{ id: 'a' }, { id: 'b' }, { id: 'c' }]), 4);
    for await (const element of streamedElements(source, ['id'])) {
      expect(element).to.deep.equal({ id: 'a' });
      break;
    }
    expect(source.destroyed).to.equal(true);
  });
});
