import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device cookies: why a guesser cannot lock a person out of the browser they use every day.
 *
 * A lockout per login name (OWASP Authentication Cheat Sheet, "Account lockout") lets anyone who
 * knows a name — names are on duty rosters and WeCom messages — keep that person out for the whole
 * window with five wrong passwords. OWASP's answer ("Slow Down Online Guessing Attacks with Device
 * Cookies") is followed here: a successful log-in leaves a cookie in that browser, bound to the
 * login name by an HMAC; a later attempt that presents a valid one for the same name is counted
 * against that browser only, never against the name, so the guesser's failures do not touch it and
 * its own failures lock only itself.
 *
 * A control-room PC is shared by the shift, so one cookie holds the tokens of several people (the
 * most recent `maxPeople`). The key lives in memory: after a restart every browser is untrusted
 * again until its next successful log-in, as the sessions themselves are gone.
 */

export const deviceCookie = 'anju_device';
/** How long a browser stays trusted after its last successful log-in (OWASP suggests months). */
export const deviceCookieMaxAgeS = 180 * 86_400;
const maxPeople = 8;
const tokenPattern = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

export interface DeviceCookies {
  /**
   * The browser's token for `login` in the cookie's value, when one is valid: its nonce keys the
   * browser's own failure count. Undefined for no cookie, another person's token or a forged one.
   */
  trusted(login: string, value: string | undefined): string | undefined;
  /** The cookie's new value after `login` logged in successfully: a fresh token for them first, others kept. */
  issue(login: string, value: string | undefined): string;
}

export function createDeviceCookies(key: Buffer = randomBytes(32)): DeviceCookies {
  const mac = (login: string, nonce: string) => createHmac('sha256', key).update(`${login}\n${nonce}`).digest('base64url');
  const tokens = (value: string | undefined): string[] => (value ?? '').split('~').filter((t) => tokenPattern.test(t)).slice(0, maxPeople);
  const owns = (login: string, token: string): boolean => {
    const [nonce = '', given = ''] = token.split('.');
    const want = Buffer.from(mac(login, nonce));
    const got = Buffer.from(given);
    return want.length === got.length && timingSafeEqual(want, got);
  };
  return {
    trusted(login, value) {
      const token = tokens(value).find((t) => owns(login, t));
      return token?.split('.')[0];
    },
    issue(login, value) {
      const nonce = randomBytes(16).toString('base64url');
      const others = tokens(value).filter((t) => !owns(login, t));
      return [`${nonce}.${mac(login, nonce)}`, ...others].slice(0, maxPeople).join('~');
    },
  };
}
