// Every command ioredis sends is its own socket write: one write(2) each, and on loopback or a veth
// pair the sender's write also runs the receiver's network stack. Profiled behind the edge with a
// Redis ledger, those writes (`writeUtf8String` under ioredis' `sendCommand`) were about a tenth of
// serve's CPU. Commands issued together (an access-log message's settlements) go out in one writev:
// the socket is corked from the first of them until the next tick, which Node runs once the promise
// continuations queued with it have run. node-redis writes the commands it queued together under a
// cork the same way.
//
// Not until the end of the event-loop turn (`setImmediate`): that would also batch the reserves of
// the Checks one turn reads, but hold each until the turn's last request was read, and a Check's
// answer waits for its reserve. A batch is answered together (lock-step), which costs a caller
// with nothing else to do throughput (bench/ledger.ts at 20 in flight, bench/README.md); a
// settlement's answer waits for no one.
import type { Redis } from 'ioredis';

export function coalesceWritesPerTick(client: Redis): void {
  const send = client.sendCommand.bind(client);
  let corked = false;
  client.sendCommand = (command, stream) => {
    // The socket of this moment: a reconnect replaces it, and a replaced socket is uncorked (and,
    // closed, drops its writes as it would have) all the same.
    const socket = client.stream;
    if (!corked && socket?.writable) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return send(command, stream);
  };
}
