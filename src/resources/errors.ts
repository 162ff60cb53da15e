// A problem in a resources directory, located as precisely as it is known: file, then object
// (kind/name), then field. The same shape feeds log lines, `authzctl validate` and status conditions.

export interface ResourceError {
  /** Path relative to the resources directory. */
  file: string;
  kind?: string;
  name?: string;
  /** Dotted field path inside the object, e.g. `spec.quota`. */
  path?: string;
  message: string;
}

/** `roles.yaml: CSMRole "gold": spec.quota: "100GB7" is not a size (…)` */
export function formatResourceError(error: ResourceError): string {
  const object = error.kind ? ` ${error.kind}${error.name ? ` "${error.name}"` : ''}:` : '';
  const field = error.path ? ` ${error.path}:` : '';
  return `${error.file}:${object}${field} ${error.message}`;
}

/** The whole directory was rejected; `errors` lists every problem found. */
export class ResourceLoadError extends Error {
  override name = 'ResourceLoadError';
  constructor(
    readonly dir: string,
    readonly errors: readonly ResourceError[],
  ) {
    super(`resources in ${dir} rejected:\n${errors.map((e) => `  ${formatResourceError(e)}`).join('\n')}`);
  }
}
