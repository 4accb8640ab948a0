import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IEmptyStateOptions, renderEmptyState } from '../src/emptystate';
import { FakeElement, fakeDocument } from './fakedom';

const HOSTILE = '<img src=x onerror=alert(1)>';
const ALLOWED_TAGS = new Set(['DIV', 'H3', 'P', 'CODE', 'UL', 'LI', 'BUTTON', 'SPAN']);

function render(overrides: Partial<IEmptyStateOptions> = {}): { root: FakeElement; opened: string[]; refreshed: number[] } {
  const opened: string[] = [];
  const refreshed: number[] = [];
  const root = renderEmptyState(fakeDocument(), {
    kind: 'empty',
    runs: [],
    notice: '',
    folder: 'lessons',
    onOpenRun: path => opened.push(path),
    onRefresh: () => refreshed.push(1),
    ...overrides
  }) as unknown as FakeElement;
  return { root, opened, refreshed };
}

test('the empty state says how to get an explorer', () => {
  const { root } = render();
  assert.equal(root.byClass('nasnb-Explorer-heading')[0].textContent, 'No explorer in this notebook yet');
  assert.match(root.byClass('nasnb-Explorer-howto')[0].textContent, /Explorer\(search\)\.dock\(\) in this notebook/);
  assert.equal(root.byClass('nasnb-Explorer-noruns')[0].textContent, 'No run directories (folders with run.json) under lessons.');
});

test('while runs are being looked for, the panel says so', () => {
  const { root } = render({ runs: null });
  assert.equal(root.byClass('nasnb-Explorer-noruns')[0].textContent, 'Looking for run directories under lessons…');
});

test('each kind has its own heading', () => {
  assert.match(render({ kind: 'cleared' }).root.textContent, /kernel restarted/);
  assert.match(render({ kind: 'waiting' }).root.textContent, /Asking the kernel/);
  const none = render({ kind: 'none', runs: [{ path: 'runs/a' }] }).root;
  assert.match(none.textContent, /Open a notebook/);
  assert.equal(none.byClass('nasnb-Explorer-run').length, 0);
});

test('runs are listed as text, in order, and hostile names create no element', () => {
  const { root } = render({ runs: [{ path: 'runs/demo' }, { path: HOSTILE }], folder: '' });
  assert.equal(root.byClass('nasnb-Explorer-runsTitle')[0].textContent, 'Runs under the server root:');
  const paths = root.byClass('nasnb-Explorer-runPath').map(span => span.textContent);
  assert.deepEqual(paths, ['runs/demo', HOSTILE]);
  for (const element of root.all()) {
    assert.ok(ALLOWED_TAGS.has(element.tagName), `unexpected <${element.tagName}>`);
  }
});

test('replay buttons send their own run path; refresh asks for a new scan', () => {
  const { root, opened, refreshed } = render({ runs: [{ path: 'runs/a' }, { path: HOSTILE }] });
  const buttons = root.byClass('nasnb-Explorer-replay');
  buttons[1].click();
  buttons[0].click();
  assert.deepEqual(opened, [HOSTILE, 'runs/a']);
  root.byClass('nasnb-Explorer-refresh')[0].click();
  assert.deepEqual(refreshed, [1]);
});

test('the kernel notice is shown as text', () => {
  const { root } = render({ notice: `could not load ${HOSTILE}` });
  assert.equal(root.byClass('nasnb-Explorer-notice')[0].textContent, `could not load ${HOSTILE}`);
  assert.ok(root.all().every(element => element.tagName !== 'IMG'));
});
