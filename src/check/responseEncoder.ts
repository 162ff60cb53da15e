// Encoding a CheckResponse without proto-loader's per-call `fromObject` (a converted copy of the
// whole message before encoding: 2–3% of a read's CPU). protobufjs encodes a plain object of the
// official CheckResponse type (protos.ts) directly; the one conversion `fromObject` made that the
// encoder does not is enum names to numbers, and the only enum this service sends by name is
// HeaderValueOption.append_action (response.ts). The bytes are proto-loader's (responseEncoder.test.ts).
import { officialRoot } from './protos.js';
import type { CheckResponseMessage, HeaderValueOption } from './wire.js';

const CHECK_RESPONSE = 'envoy.service.auth.v3.CheckResponse';
const APPEND_ACTION = 'envoy.config.core.v3.HeaderValueOption.HeaderAppendAction';

export function checkResponseEncoder(): (message: CheckResponseMessage) => Buffer {
  const root = officialRoot();
  const type = root.lookupType(CHECK_RESPONSE);
  const appendActions = root.lookupEnum(APPEND_ACTION).values;
  const numbered = (options: HeaderValueOption[]) =>
    options.map(({ header, append_action }) => {
      if (append_action === undefined) return { header };
      const number = appendActions[append_action];
      if (number === undefined) throw new Error(`${APPEND_ACTION} has no value ${append_action}`);
      return { header, append_action: number };
    });
  return (message) => {
    const wire = {
      ...message,
      ...(message.ok_response && { ok_response: { ...message.ok_response, headers: numbered(message.ok_response.headers) } }),
      ...(message.denied_response && { denied_response: { ...message.denied_response, headers: numbered(message.denied_response.headers) } }),
    };
    // On Node, protobufjs's writer finishes into a Buffer (as proto-loader's serializer returns it).
    return type.encode(wire).finish() as Buffer;
  };
}
