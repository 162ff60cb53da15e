// PowerFlex's error body, `{"errorCode","httpStatusCode","message"}`: the shape the driver
// (goscaleio) parses, so denials read like the array's own errors (reference §3).

export interface PowerFlexErrorBody {
  errorCode: number;
  httpStatusCode: number;
  message: string;
}

/** A denial in PowerFlex's shape; like Dell's proxy, the errorCode repeats the HTTP status. */
export function powerflexErrorBody(status: number, message: string): { contentType: string; body: string } {
  const body: PowerFlexErrorBody = { errorCode: status, httpStatusCode: status, message };
  return { contentType: 'application/json', body: JSON.stringify(body) };
}

/** The gateway's message from an error response, or a generic one when the body is not PowerFlex-shaped. */
export function gatewayErrorMessage(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as Partial<PowerFlexErrorBody> | null;
    if (parsed && typeof parsed.message === 'string' && parsed.message !== '') return parsed.message;
  } catch {
    // not JSON: fall through to the status line
  }
  return `PowerFlex gateway answered HTTP ${status}`;
}
