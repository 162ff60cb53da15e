// Finding parts of a rendered Envoy bootstrap to vary it for a measurement (a twin that differs in
// one filter's settings).

/** Every object in `bootstrap` whose `@type` ends with `typeSuffix` (typed configs), depth first. */
export function typedConfigs(bootstrap: unknown, typeSuffix: string): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const node = value as Record<string, unknown>;
    if (typeof node['@type'] === 'string' && node['@type'].endsWith(typeSuffix)) found.push(node);
    Object.values(node).forEach(visit);
  };
  visit(bootstrap);
  return found;
}
