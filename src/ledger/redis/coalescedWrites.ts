// Every command ioredis sends is its own socket write: one write(2) each, and on loopback or a veth
// pair the sender's write also runs the receiver's network stack. Profiled behind the edge with a
// Redis ledger, those writes (`writeUtf8String` under ioredis' `sendCommand`) were about a tenth of
// serve's CPU. The socket is corked from a turn's first command until the turn's end
// (`setImmediate`, after the poll phase): the reserves of every Check the turn read, and an
// access-log message's settlements, go out in one writev. node-redis writes the commands it queued
// together under a cork the same way.
//
// Why the turn and not the tick: each HTTP check arrives in a callback of its own, so a cork until
// the next tick saved nothing on the Check path (bench/README.md). What a reserve waits for in
// addition is Redis' time for the commands batched before it: its reply is read in the next poll
// phase either way. That wait was not measured apart; the full run's create p99 is in README.md.
import type { Redis } from 'ioredis';

export function coalesceWritesPerTurn(client: Redis): void {
  const send = client.sendCommand.bind(client);
  let corked = false;
  client.sendCommand = (command, stream) => {
    // The socket of this moment: a reconnect replaces it, and a replaced socket is uncorked (and,
    // closed, drops its writes as it would have) all the same.
    const socket = client.stream;
    if (!corked && socket?.writable) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    return send(command, stream);
  };
}
