import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';

describe('SMS gateway configuration', () => {
  it('is off by default', () => {
    expect(loadConfig({}).duty).toEqual({});
  });

  it('takes the URL, the token and voice for critical incidents', () => {
    expect(loadConfig({ ANJU_SMS_GATEWAY_URL: 'https://sms.example/send' }).duty).toEqual({ sms: { url: 'https://sms.example/send', voiceForCritical: false } });
    expect(loadConfig({ ANJU_SMS_GATEWAY_URL: 'http://10.0.0.5:9000/sms', ANJU_SMS_GATEWAY_TOKEN: 'tok', ANJU_SMS_GATEWAY_VOICE: '1' }).duty)
      .toEqual({ sms: { url: 'http://10.0.0.5:9000/sms', token: 'tok', voiceForCritical: true } });
  });

  it('refuses what is not an HTTP(S) URL or a flag, naming the variable', () => {
    expect(() => loadConfig({ ANJU_SMS_GATEWAY_URL: 'sms.example' })).toThrow(ConfigError);
    expect(() => loadConfig({ ANJU_SMS_GATEWAY_URL: 'ftp://sms.example/x' })).toThrow(/ANJU_SMS_GATEWAY_URL/);
    expect(() => loadConfig({ ANJU_SMS_GATEWAY_URL: 'https://sms.example', ANJU_SMS_GATEWAY_VOICE: 'yes' })).toThrow(/ANJU_SMS_GATEWAY_VOICE/);
  });
});
