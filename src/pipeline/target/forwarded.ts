// Target phase, part 1 (pure): the sidecar's Forwarded values → system type and systemID
// (reference csm-authorization-behaviour.md §1.4).
//
// Values marked `csm-authorization;` win over unmarked ones regardless of order (an ingress may
// append its own `for=` after the sidecar's); among equally marked values the later one wins, as in
// Dell. Legacy unmarked sidecar values (`for=<endpoint>;<systemID>`, `by=<plugin>`) still work.
import type { SystemType } from '../../resources/types.js';

const MARKER = 'csm-authorization;';

// A Map, not an object literal: `by=__proto__` must find no plugin, not Object.prototype (a fuzz finding).
const PLUGIN_ALIASES: ReadonlyMap<string, SystemType> = new Map([
  ['powerflex', 'powerflex'],
  ['csi-vxflexos', 'powerflex'],
  ['vxflexos', 'powerflex'],
  ['powermax', 'powermax'],
  ['csi-powermax', 'powermax'],
  ['powerscale', 'powerscale'],
  ['csi-powerscale', 'powerscale'],
  ['isilon', 'powerscale'],
  ['powerstore', 'powerstore'],
  ['csi-powerstore', 'powerstore'],
]);

export interface ForwardedTarget {
  /** `by`, as sent (after the marker); '' when absent. */
  plugin: string;
  /** The plugin resolved through the alias table; undefined for an unknown plugin. */
  systemType: SystemType | undefined;
  /** Logged only: the system is chosen by systemID, never by the endpoint a tenant names. */
  endpoint: string;
  systemID: string;
}

interface Pair {
  value: string;
  marked: boolean;
}

/**
 * Parses the (comma-joined, as Envoy delivers repeated headers) Forwarded header, or undefined when
 * it carries neither `for` nor `by`.
 */
export function parseForwarded(header: string | undefined): ForwardedTarget | undefined {
  if (!header) return undefined;
  const chosen = new Map<string, Pair>();
  for (const element of header.split(',')) {
    const marked = element.includes(MARKER);
    const text = marked ? element.split(MARKER).join('') : element;
    const equals = text.indexOf('=');
    if (equals < 0) continue;
    const key = text.slice(0, equals).trim().toLowerCase();
    const value = unquote(text.slice(equals + 1).trim());
    const previous = chosen.get(key);
    if (!previous || marked || !previous.marked) chosen.set(key, { value, marked });
  }
  const by = chosen.get('by')?.value;
  const forValue = chosen.get('for')?.value;
  if (by === undefined && forValue === undefined) return undefined;
  const plugin = (by ?? '').toLowerCase();
  const [endpoint = '', systemID = ''] = (forValue ?? '').split(';');
  return { plugin, systemType: PLUGIN_ALIASES.get(plugin), endpoint, systemID: systemID.trim() };
}

// RFC 7239 allows quoted values (needed when they contain ':' or ';'); Dell's sidecar never quotes.
const unquote = (value: string): string => (value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value);
