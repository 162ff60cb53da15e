// Session cookies in an array's login answer, shared by the adapters whose sessions are cookies
// (PowerStore `auth_cookie`, PowerScale `isisessid` and `isicsrf`).

/** The value of cookie `name` among the Set-Cookie headers (`<name>=<value>; …`), or undefined. */
export function setCookieValue(setCookie: string | string[] | undefined, name: string): string | undefined {
  for (const line of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    if (eq !== -1 && pair!.slice(0, eq).trim() === name && pair!.slice(eq + 1).trim() !== '') return pair!.slice(eq + 1).trim();
  }
  return undefined;
}
