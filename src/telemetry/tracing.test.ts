import { expect } from 'chai';
import { tracesUrl } from './tracing.js';

describe('decision tracing', () => {
  it("sends to a base endpoint's /v1/traces, and to a full traces URL as given", () => {
    expect(tracesUrl('http://otel-collector:4318')).to.equal('http://otel-collector:4318/v1/traces');
    expect(tracesUrl('http://otel-collector:4318/otlp/')).to.equal('http://otel-collector:4318/otlp/v1/traces');
    expect(tracesUrl('https://collector.example/v1/traces')).to.equal('https://collector.example/v1/traces');
  });
});
