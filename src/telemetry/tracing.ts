// Traces of decisions (serve --otlp-endpoint): one SERVER span per Check, continuing the W3C
// `traceparent` the request carried (Envoy passes the client's headers in the CheckRequest), with a
// child span per pipeline phase; exported over OTLP/HTTP protobuf in batches. The spans are built
// when the decision is over, from the phase timings the pipeline records anyway, so a decision pays
// nothing for tracing while it runs. serve imports this module only when an endpoint is set: without
// one, no SDK is loaded.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { DecisionFacts, DecisionObserver } from '../pipeline/observe/observe.js';
import { LOCAL_ANSWER, type Decision, type RequestView } from '../pipeline/types.js';

export interface DecisionTracingOptions {
  /** OTLP/HTTP base URL (`http://collector:4318`); `/v1/traces` is added unless the path already ends with it. */
  endpoint: string;
  version: string;
  /** service.instance.id: which replica decided. */
  instance: string;
  /** How often batches are sent (ms); default 2000. */
  exportIntervalMs?: number;
}

export interface DecisionTracing {
  observer: DecisionObserver;
  /** Sends what is buffered and stops the exporter. */
  close(): Promise<void>;
}

const headerGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key.toLowerCase()],
};

/** `http://collector:4318` → `http://collector:4318/v1/traces` (the OTLP/HTTP convention for a base endpoint). */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

/** performance.now() milliseconds → epoch milliseconds (what span times are). */
const epochMs = (monotonicMs: number): number => performance.timeOrigin + monotonicMs;

export function createDecisionTracing(options: DecisionTracingOptions): DecisionTracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'storage-authz', 'service.version': options.version, 'service.instance.id': options.instance }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.endpoint) }), { scheduledDelayMillis: options.exportIntervalMs ?? 2000 })],
  });
  const tracer = provider.getTracer('storage-authz', options.version);
  const propagator = new W3CTraceContextPropagator();

  function decided(request: RequestView, decision: Decision, facts: DecisionFacts): void {
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const denied = decision.kind === 'deny' && decision.reason !== LOCAL_ANSWER;
    const attributes: Attributes = {
      'http.request.method': request.method,
      'storage_authz.request_id': request.id,
      'storage_authz.outcome': decision.kind,
      'storage_authz.reason': decision.kind === 'deny' ? decision.reason : 'allowed',
      ...(decision.kind === 'deny' && { 'http.response.status_code': decision.status }),
      ...(denied && { 'storage_authz.phase': facts.phase }),
      ...(facts.timedOut && { 'storage_authz.timed_out': true }),
      ...(facts.tenant !== undefined && { 'storage_authz.tenant': facts.tenant }),
      ...(facts.arrayType !== undefined && { 'storage_authz.array_type': facts.arrayType }),
      ...(facts.systemID !== undefined && { 'storage_authz.system_id': facts.systemID }),
      ...(facts.operation !== undefined && { 'storage_authz.operation': facts.operation }),
      ...(facts.pool !== undefined && { 'storage_authz.pool': facts.pool }),
      ...(facts.volume !== undefined && { 'storage_authz.volume': facts.volume }),
      ...(facts.wouldDeny && { 'storage_authz.would_deny': facts.wouldDeny.reason }),
    };
    const root = tracer.startSpan('storage-authz decision', { kind: SpanKind.SERVER, startTime: epochMs(facts.startedAt), attributes }, parent);
    const inRoot = trace.setSpan(parent, root);
    for (const timing of facts.phases) {
      tracer.startSpan(timing.phase, { startTime: epochMs(timing.startedAt) }, inRoot).end(epochMs(timing.endedAt));
    }
    // A refusal is the service working, but it is what someone looking at a trace wants to find.
    if (denied) root.setStatus({ code: SpanStatusCode.ERROR, message: `${decision.reason} in phase ${facts.phase}` });
    root.end();
  }

  return {
    observer: { phase() {}, decided },
    close: () => provider.shutdown(),
  };
}
