import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../services/core/config.ts';
import { createLogger } from '../../../services/core/log.ts';
import { clearSecrets, redact } from '../../../services/core/redact.ts';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('secret redaction', () => {
  test('URL passwords are masked even when never registered', () => {
    assert.equal(redact('connect postgres://app:s3cretpw@db:5432/x failed'), 'connect postgres://app:***@db:5432/x failed');
  });

  test('a token read from config never reaches a log line, a merged object or an error', () => {
    clearSecrets();
    const token = 'eyJhbGciOiJIUzUxMiJ9.dhan-token-value';
    loadConfig(['DHAN_ACCESS_TOKEN', 'DATABASE_URL'], {
      DHAN_ACCESS_TOKEN: token,
      DATABASE_URL: 'postgres://stockify:hunter22@db/stockify',
    });
    const out = capture();
    const log = createLogger({ component: 'test', destination: out.stream });
    log.info(`subscribing with ${token}`);
    log.warn({ header: { 'access-token': token }, note: 'password hunter22' }, 'request');
    log.error({ err: new Error(`401 for token ${token}`) }, 'failed');
    const text = out.text();
    assert.ok(!text.includes(token), text);
    assert.ok(!text.includes('hunter22'), text);
    assert.equal(text.split('***').length - 1 >= 4, true, text);
  });
});
