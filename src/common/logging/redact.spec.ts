import { redactRequest, redactUrl } from './redact';

describe('redactUrl', () => {
  it.each([
    ['/metrics?access_token=abc.def.ghi', '/metrics?access_token=[Redacted]'],
    ['/x?a=1&token=t0k&b=2', '/x?a=1&token=[Redacted]&b=2'],
    ['/x?Access_Token=abc', '/x?Access_Token=[Redacted]'],
    ['/x?access%5Ftoken=abc', '/x?access%5Ftoken=[Redacted]'],
    ['/x?token[]=abc&token', '/x?token[]=[Redacted]&token=[Redacted]'],
    ['/x?tokens=keep&workflow=daily', '/x?tokens=keep&workflow=daily'],
    ['/x', '/x'],
  ])('%s -> %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('redactRequest', () => {
  it('replaces the url, the parsed query and the credential headers, and copies', () => {
    const headers = { authorization: 'Bearer secret', cookie: 's=1', accept: 'x' };
    const req = {
      method: 'GET',
      url: '/a?token=secret&x=1',
      query: { token: 'secret', x: '1' },
      headers,
    };
    expect(redactRequest(req)).toEqual({
      method: 'GET',
      url: '/a?token=[Redacted]&x=1',
      query: { token: '[Redacted]', x: '1' },
      headers: { authorization: '[Redacted]', cookie: '[Redacted]', accept: 'x' },
    });
    expect(headers.authorization).toBe('Bearer secret');
    expect(JSON.stringify(redactRequest(req))).not.toContain('secret');
  });
});
