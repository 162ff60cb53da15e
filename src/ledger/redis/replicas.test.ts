import { expect } from 'chai';
import { onlineReplicas } from './replicas.js';

describe('onlineReplicas', () => {
  it('counts replicas in sync with the master, not those still loading a snapshot or silent for seconds', () => {
    const info = [
      '# Replication',
      'role:master',
      'connected_slaves:4',
      'slave0:ip=127.0.0.1,port=40001,state=online,offset=1234,lag=0',
      'slave1:ip=127.0.0.1,port=40002,state=wait_bgsave,offset=0,lag=0',
      'slave2:ip=127.0.0.1,port=40003,state=online,offset=1230,lag=1',
      'slave3:ip=127.0.0.1,port=40004,state=online,offset=1100,lag=7',
      'master_failover_state:no-failover',
      '',
    ].join('\r\n');
    expect(onlineReplicas(info)).to.equal(2);
  });

  it('is zero for a master without replicas and for a replica', () => {
    expect(onlineReplicas('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n')).to.equal(0);
    expect(onlineReplicas('# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_link_status:up\r\n')).to.equal(0);
  });
});
