// PowerStore's error body, `{"messages":[{"code","severity","message_l10n","arguments"}]}` (REST API
// reference, "Error messages"): the shape gopowerstore decodes, so a denial reads like the array's own.

export interface PowerStoreMessage {
  code: string;
  severity: string;
  message_l10n: string;
  arguments?: string[];
}

export interface PowerStoreErrorBody {
  messages: PowerStoreMessage[];
}

/**
 * A denial in PowerStore's shape. PowerStore codes are hex strings (`0xE04040010005`); ours are
 * `0xE0AA0000` + the HTTP status, so a log search tells the service's refusals from the array's.
 */
export function powerstoreErrorBody(status: number, message: string): { contentType: string; body: string } {
  const body: PowerStoreErrorBody = { messages: [{ code: denialCode(status), severity: 'Error', message_l10n: message, arguments: [] }] };
  return { contentType: 'application/json', body: JSON.stringify(body) };
}

export const denialCode = (status: number): string => `0xE0AA0000${status.toString(16).toUpperCase().padStart(4, '0')}`;

/** The array's first message from an error response, or a generic one when the body is not PowerStore-shaped. */
export function powerstoreErrorMessage(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as Partial<PowerStoreErrorBody> | null;
    const message = parsed?.messages?.[0]?.message_l10n;
    if (typeof message === 'string' && message !== '') return message;
  } catch {
    // not JSON: fall through to the status line
  }
  return `PowerStore answered HTTP ${status}`;
}
