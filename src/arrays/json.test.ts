import { expect } from 'chai';
import fc from 'fast-check';
import { knownFields, strictJsonObject } from './json.js';

const KNOWN = knownFields(['volumeSizeInKb', 'name', 'storagePoolId']);
const parse = (text: string) => strictJsonObject(Buffer.from(text), KNOWN);

describe('strictJsonObject (shared by every adapter)', () => {
  it('returns the object of a body every parser reads the same way', () => {
    expect(parse('{"name":"v","volumeSizeInKb":"8388608","nested":{"name":"x"},"list":[{"a":1},{"a":2}]}')).to.deep.equal({
      name: 'v', volumeSizeInKb: '8388608', nested: { name: 'x' }, list: [{ a: 1 }, { a: 2 }],
    });
  });

  it('refuses a repeated key at any depth, naming it, also when one spelling is escaped', () => {
    expect(parse('{"volumeSizeInKb":"976562500","volumeSizeInKb":"8388608"}')).to.equal('request body: duplicate key "volumeSizeInKb"');
    expect(parse('{"a":{"b":1,"b":2}}')).to.equal('request body: duplicate key "b"');
    expect(parse('{"list":[{"x":1,"x":1}]}')).to.equal('request body: duplicate key "x"');
    expect(parse('{"volume\\u0053izeInKb":1,"volumeSizeInKb":2}')).to.equal('request body: duplicate key "volumeSizeInKb"');
  });

  it('tells keys from string values whatever quotes and backslashes they hold', () => {
    expect(parse('{"a\\"b":1,"a\\"b":2}')).to.equal('request body: duplicate key "a\\"b"');
    expect(parse('{"a":"x\\":","b":"\\\\","c" : {"d":"\\\\\\":"}}')).to.deep.equal({ a: 'x":', b: '\\', c: { d: '\\":' } });
    expect(parse('{"a":"\\\\", "a" :1}')).to.equal('request body: duplicate key "a"');
  });

  it('refuses a body nested deeper than 64 levels with a 400 message, repeated keys or not, and reads one 64 deep', () => {
    const nested = (depth: number) => `${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}`;
    for (const text of [`{"a":${nested(100_000)}}`, `{"a":${nested(100_000)},"a":1}`, `{"a":${nested(65)}}`]) {
      expect(parse(text)).to.equal('request body nests deeper than 64 levels');
    }
    expect(parse(`{"a":${nested(64)}}`)).to.have.property('a');
  });

  it('refuses keys equal up to case (a case-insensitive parser reads either), and a case variant of a known field even alone', () => {
    expect(parse('{"volumeType":"a","VolumeType":"b"}')).to.equal('request body: keys "volumeType" and "VolumeType" differ only by case');
    expect(parse('{"VolumeSizeInKb":"8"}')).to.equal('request body: key "VolumeSizeInKb" differs only by case from "volumeSizeInKb"');
    // Compatibility forms that Go's case folding matches: the long s and the Kelvin sign.
    expect(parse('{"\\u017ftoragePoolId":"x"}')).to.equal('request body: key "\u017ftoragePoolId" differs only by case from "storagePoolId"');
    expect(parse('{"volumeSizeIn\\u212Ab":"8"}')).to.match(/differs only by case from "volumeSizeInKb"/);
    // The same name in different objects is no ambiguity.
    expect(parse('{"a":{"name":"x"},"b":{"name":"y"}}')).to.deep.equal({ a: { name: 'x' }, b: { name: 'y' } });
  });

  it('refuses what is not a JSON object', () => {
    for (const text of ['', '[]', '"x"', '1', 'null', '{"a":1,}', '{"a":1} x', '{/*c*/"a":1}', "{'a':1}"]) {
      expect(parse(text), text).to.be.oneOf(['request body is not valid JSON', 'request body must be a JSON object']);
    }
  });

  it('(fuzz) agrees with JSON.parse on every unambiguous object, and refuses every injected duplicate', () => {
    const key = fc.oneof(fc.constantFrom('name', 'Name', 'a', 'b', 'volumeSizeInKb', '__proto__', 'constructor'), fc.string({ maxLength: 6 }));
    const value = fc.jsonValue({ maxDepth: 2 });
    fc.assert(fc.property(fc.dictionary(key, value, { maxKeys: 6 }), key, value, (object, extra, extraValue) => {
      const text = JSON.stringify(object);
      const result = parse(text);
      // JSON.stringify never repeats a key, so only case folding or a known field's variant can refuse it.
      const keys = Object.keys(object);
      const folded = new Set(keys.map((k) => k.normalize('NFKC').toLowerCase()));
      if (typeof result === 'string') {
        expect(result).to.match(/differ(s)? only by case/);
      } else {
        expect(folded.size).to.equal(keys.length);
        expect(result).to.deep.equal(JSON.parse(text));
      }
      if (keys.length === 0) return true;
      const repeated = keys[extra.length % keys.length]!;
      const withDuplicate = `${text.slice(0, -1)},${JSON.stringify(repeated)}:${JSON.stringify(extraValue) ?? 'null'}}`;
      // Refused; named unless the object had an earlier ambiguity, which is named first.
      expect(parse(withDuplicate), withDuplicate).to.be.a('string').that.contains(typeof result === 'string' ? 'request body' : JSON.stringify(repeated));
      return true;
    }), { numRuns: 1500 });
  });
});
