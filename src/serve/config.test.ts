import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseServeConfig, readConfigFile } from './config.js';

const required = { resourcesDir: '/r', secretsDir: '/s', signingKeysDir: '/k', defaultKid: 'k1' };

describe('serve configuration', () => {
  it('applies the defaults: loopback listener, Dell issuer/audience/subject of v1.7+ and of v1.6 and before, in-memory ledger', () => {
    expect(parseServeConfig(required)).to.deep.include({
      listen: '127.0.0.1:50051',
      issuers: ['com.dell.csm', 'com.dell.karavi'],
      audiences: ['csm', 'karavi'],
      tenantSubjects: ['csm-tenant', 'karavi-tenant'],
      maxAccessTtlSeconds: 1800,
      ledger: { kind: 'memory' },
      refreshedAccessTtlSeconds: 300,
      earlyRefreshWindowSeconds: 60,
    });
    expect(parseServeConfig({ ...required, refreshedAccessTtlSeconds: '120', earlyRefreshWindowSeconds: 30 })).to.deep.include({
      refreshedAccessTtlSeconds: 120,
      earlyRefreshWindowSeconds: 30,
    });
    // Each legacy default can be turned off.
    expect(parseServeConfig({ ...required, issuer: 'com.dell.csm', audience: 'csm', tenantSubject: 'csm-tenant', maxAccessTtlSeconds: '60' })).to.deep.include({
      issuers: ['com.dell.csm'], audiences: ['csm'], tenantSubjects: ['csm-tenant'], maxAccessTtlSeconds: 60,
    });
  });

  it("settles holds against the array only after the edge's route timeout: derived by default, refused when not longer", () => {
    expect(parseServeConfig(required)).to.deep.include({ routeTimeoutMs: 120_000, pendingAfterMs: 150_000 });
    expect(parseServeConfig({ ...required, routeTimeoutMs: '2000' })).to.deep.include({ routeTimeoutMs: 2000, pendingAfterMs: 7000 });
    expect(parseServeConfig({ ...required, routeTimeoutMs: '2000', pendingAfterMs: '2001' })).to.deep.include({ pendingAfterMs: 2001 });
    expect(() => parseServeConfig({ ...required, pendingAfterMs: '60000' })).to.throw(
      ConfigError,
      "--pending-after-ms (60000) must be longer than the edge's route timeout --route-timeout-ms (120000)",
    );
    expect(() => parseServeConfig({ ...required, routeTimeoutMs: '2000', pendingAfterMs: '2000' })).to.throw(ConfigError, '--pending-after-ms (2000)');
  });

  it('reads Redis, Sentinel and list options', () => {
    expect(parseServeConfig({ ...required, redisUrl: 'redis://h:6379', redisPasswordFile: '/pw' }).ledger).to.deep.equal({ kind: 'redis', url: 'redis://h:6379', passwordFile: '/pw' });
    expect(parseServeConfig({ ...required, redisSentinels: 'a:5000, b:5000' }).ledger).to.deep.equal({
      kind: 'sentinel',
      sentinels: [{ host: 'a', port: 5000 }, { host: 'b', port: 5000 }],
      name: 'mymaster',
    });
    expect(parseServeConfig({ ...required, issuer: 'a,b', listen: 'unix:/run/authz.sock' })).to.deep.include({ issuers: ['a', 'b'], listen: 'unix:/run/authz.sock' });
    expect(parseServeConfig({ ...required, listen: 'unix:/run/authz.sock', healthListen: '0.0.0.0:9090' })).to.deep.include({ healthListen: '0.0.0.0:9090' });
  });

  it('reads the resources source: a directory by default, or the Kubernetes API', () => {
    expect(parseServeConfig(required).resources).to.deep.equal({ kind: 'directory', dir: '/r', secretsDir: '/s' });
    const { resourcesDir: _, secretsDir: __, ...keysOnly } = required;
    expect(parseServeConfig({ ...keysOnly, resources: 'kubernetes', namespace: 'authz', kubeconfig: '/kc', identity: 'pod-1' }).resources).to.deep.equal({
      kind: 'kubernetes',
      namespace: 'authz',
      kubeconfig: '/kc',
      leaseName: 'storage-authz',
      identity: 'pod-1',
    });
  });

  it('names the flag at fault', () => {
    const error = (raw: Record<string, unknown>) => {
      try {
        parseServeConfig(raw);
      } catch (caught) {
        expect(caught).to.be.instanceOf(ConfigError);
        return (caught as Error).message;
      }
      throw new Error('accepted');
    };
    expect(error({ ...required, resourcesDir: undefined })).to.equal('--resources-dir is required');
    expect(error({ ...required, namespace: 'authz' })).to.equal('--namespace needs --resources kubernetes');
    expect(error({ ...required, resources: 'kubernetes', namespace: 'authz' })).to.equal('--resources-dir and --resources kubernetes contradict each other; use one');
    expect(error({ ...required, resources: 'etcd' })).to.equal('--resources must be one of directory, kubernetes, got "etcd"');
    expect(error({ ...required, listen: 'nowhere' })).to.contain('--listen must be host:port or unix:/path');
    expect(error({ ...required, healthListen: 'unix:/run/health.sock' })).to.contain('--health-listen must be host:port, got "unix:/run/health.sock"');
    expect(error({ ...required, redisUrl: 'redis://h', redisSentinels: 'a:1' })).to.contain('mutually exclusive');
    expect(error({ ...required, redisSentinels: 'a' })).to.contain('--redis-sentinels entries must be host:port');
    expect(error({ ...required, redisPasswordFile: '/pw' })).to.contain('needs --redis-url or --redis-sentinels');
    expect(error({ ...required, drainMs: '-5' })).to.contain('--drain-ms must be a positive whole number of milliseconds');
    expect(error({ ...required, refreshedAccessTtlSeconds: '1.5' })).to.contain('--refreshed-access-ttl must be a positive whole number of seconds');
    expect(error({ ...required, otlpEndpoint: 'otel-collector:4317' })).to.contain('--otlp-endpoint must be an http:// or https:// URL');
    expect(parseServeConfig({ ...required, otlpEndpoint: 'http://otel-collector:4318' }).otlpEndpoint).to.equal('http://otel-collector:4318');
    expect(parseServeConfig(required)).to.not.have.property('otlpEndpoint');
  });

  it('reads a YAML file and refuses unknown keys', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'serve-config-'));
    try {
      const file = path.join(dir, 'serve.yaml');
      await writeFile(file, 'resourcesDir: /r\nissuer: [x, y]\n');
      const raw = await readConfigFile(file);
      expect(parseServeConfig({ ...required, ...raw }).issuers).to.deep.equal(['x', 'y']);
      await writeFile(file, 'resourceDir: /r\n');
      let message = '';
      await readConfigFile(file).catch((error: Error) => (message = error.message));
      expect(message).to.contain('unknown option(s) resourceDir');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
