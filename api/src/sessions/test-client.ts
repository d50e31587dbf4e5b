// Test helpers for accounts and sessions: a client that keeps cookies like a browser, or bearer
// tokens like the mobile app. Only imported by tests.
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
  cookies: string[];
}

export class TestClient {
  readonly jar = new Map<string, string>();
  accessToken: string | undefined;
  refreshToken: string | undefined;

  constructor(
    private readonly baseUrl: string,
    readonly options: { mobile?: boolean; userAgent?: string; deviceId?: string } = {},
  ) {}

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    extra: { headers?: Record<string, string>; csrf?: boolean; bearer?: string | null } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0',
      ...extra.headers,
    };
    if (this.options.mobile) headers['x-client'] = 'mobile';
    if (this.options.deviceId) headers['x-device-id'] = this.options.deviceId;
    if (body !== undefined) headers['content-type'] = 'application/json';
    else if (method !== 'GET') headers['x-requested-with'] = 'test';
    if (this.jar.size > 0) headers.cookie = this.cookieHeader();
    const csrf = this.jar.get('clutch_csrf');
    if (csrf && extra.csrf !== false) headers['x-csrf-token'] = csrf;
    const bearer = extra.bearer === undefined ? this.accessToken : extra.bearer;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const cookies = res.headers.getSetCookie();
    for (const c of cookies) {
      const [pair = ''] = c.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (typeof parsed.accessToken === 'string') this.accessToken = parsed.accessToken;
    if (typeof parsed.refreshToken === 'string') this.refreshToken = parsed.refreshToken;
    return { status: res.status, body: parsed, headers: res.headers, cookies };
  }
}

/** The first link in a mail body. */
export function linkIn(text: string): string {
  const match = /https?:\/\/\S+/.exec(text);
  if (!match) throw new Error(`no link in: ${text}`);
  return match[0];
}

export function tokenOf(link: string, param: string): string {
  const value = new URL(link).searchParams.get(param);
  if (!value) throw new Error(`no ${param} in ${link}`);
  return value;
}
