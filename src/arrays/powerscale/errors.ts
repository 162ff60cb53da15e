// OneFS's error body, `{"errors":[{"code","message"}]}` (OneFS API Reference, "Error handling"): the
// shape gopowerscale decodes (its JSONError), so a denial reads like the array's own.

export interface OneFsErrorBody {
  errors: { code: string; message: string }[];
}

/** OneFS codes are `AEC_*` names; ours are `AEC_AUTHZ_<status>`, so a log search tells the service's refusals from the array's. */
export const denialCode = (status: number): string => `AEC_AUTHZ_${status}`;

export function onefsErrorBody(status: number, message: string): { contentType: string; body: string } {
  const body: OneFsErrorBody = { errors: [{ code: denialCode(status), message }] };
  return { contentType: 'application/json', body: JSON.stringify(body) };
}

/** The array's first message from an error response, or a generic one when the body is not OneFS-shaped. */
export function onefsErrorMessage(status: number, text: string): string {
  try {
    const message = (JSON.parse(text) as Partial<OneFsErrorBody> | null)?.errors?.[0]?.message;
    if (typeof message === 'string' && message !== '') return message;
  } catch {
    // not JSON: fall through to the status line
  }
  return `PowerScale answered HTTP ${status}`;
}
