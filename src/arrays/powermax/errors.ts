// Unisphere's error body, `{"message": …}`: what gopowermax parses from every non-2xx answer
// (reference array-clients/powermax.md), so a denial reads like the array's own error.

/** A denial in Unisphere's shape. */
export function powermaxErrorBody(_status: number, message: string): { contentType: string; body: string } {
  return { contentType: 'application/json', body: JSON.stringify({ message }) };
}

/** Unisphere's message from an error response, or a generic one when the body is not Unisphere-shaped. */
export function unisphereErrorMessage(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown } | null;
    if (parsed && typeof parsed.message === 'string' && parsed.message !== '') return parsed.message;
  } catch {
    // not JSON: fall through to the status line
  }
  return `Unisphere answered HTTP ${status}`;
}
