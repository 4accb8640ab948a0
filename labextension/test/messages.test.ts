import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_TEXT, parseKernelMessage, parsePanelMessage } from '../src/messages';

const HOSTILE = '<img src=x onerror=alert(1)>';

test('a docked message with a model id and a title is accepted as is', () => {
  const parsed = parseKernelMessage({ type: 'docked', model_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', title: HOSTILE });
  assert.deepEqual(parsed, {
    ok: true,
    message: { type: 'docked', model_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', title: HOSTILE }
  });
});

test('empty and error messages are accepted', () => {
  assert.equal(parseKernelMessage({ type: 'empty' }).ok, true);
  assert.equal(parseKernelMessage({ type: 'error', message: 'run.json not found' }).ok, true);
});

test('non-objects are refused', () => {
  for (const data of [null, undefined, 'docked', 3, ['docked'], true]) {
    const parsed = parseKernelMessage(data);
    assert.equal(parsed.ok, false, JSON.stringify(data));
  }
});

test('an unknown type is refused and named in the reason', () => {
  const parsed = parseKernelMessage({ type: 'execute', code: 'rm -rf /' });
  assert.deepEqual(parsed, { ok: false, reason: 'unknown message type "execute"' });
});

test('a missing or mistyped field is refused', () => {
  assert.deepEqual(parseKernelMessage({ type: 'docked', title: 't' }), {
    ok: false,
    reason: 'docked.model_id: expected a string, got undefined'
  });
  assert.deepEqual(parseKernelMessage({ type: 'docked', model_id: 'abc', title: 7 }), {
    ok: false,
    reason: 'docked.title: expected a string, got number'
  });
  assert.equal(parseKernelMessage({ type: 'error', message: null }).ok, false);
});

test('an extra field is refused rather than silently dropped', () => {
  const parsed = parseKernelMessage({ type: 'empty', html: HOSTILE });
  assert.deepEqual(parsed, { ok: false, reason: 'empty: unexpected field "html"' });
});

test('a model id that is not an id (markup, spaces, too long) is refused', () => {
  for (const modelId of [HOSTILE, 'a b', '', 'x'.repeat(65)]) {
    assert.equal(parseKernelMessage({ type: 'docked', model_id: modelId, title: '' }).ok, false, modelId);
  }
});

test('text longer than MAX_TEXT is refused', () => {
  assert.equal(parseKernelMessage({ type: 'error', message: 'x'.repeat(MAX_TEXT) }).ok, true);
  assert.equal(parseKernelMessage({ type: 'error', message: 'x'.repeat(MAX_TEXT + 1) }).ok, false);
});

test('inherited names are not message types', () => {
  assert.equal(parseKernelMessage({ type: 'constructor' }).ok, false);
  assert.equal(parseKernelMessage({ type: 'toString' }).ok, false);
});

test('panel messages: request, and open_run with a usable path', () => {
  assert.equal(parsePanelMessage({ type: 'request' }).ok, true);
  assert.equal(parsePanelMessage({ type: 'open_run', path: 'runs/demo' }).ok, true);
  assert.equal(parsePanelMessage({ type: 'open_run', path: '' }).ok, false);
  assert.equal(parsePanelMessage({ type: 'open_run', path: 'runs/\0demo' }).ok, false);
  assert.equal(parsePanelMessage({ type: 'open_run' }).ok, false);
  assert.equal(parsePanelMessage({ type: 'docked', model_id: 'a', title: '' }).ok, false);
});
