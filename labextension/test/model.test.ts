import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ExplorerModel } from '../src/model';

const DOCKED = { type: 'docked', model_id: 'f00d', title: 'evolution on digits' };

function watched(): { model: ExplorerModel; changes: () => number } {
  const model = new ExplorerModel();
  let count = 0;
  model.changed.connect(() => {
    count++;
  });
  return { model, changes: () => count };
}

test('a new model waits for the kernel', () => {
  assert.deepEqual(new ExplorerModel().state, { kind: 'waiting' });
});

test('docked, then empty, follow the kernel messages', () => {
  const { model, changes } = watched();
  assert.equal(model.receive(DOCKED), true);
  assert.deepEqual(model.state, { kind: 'docked', modelId: 'f00d', title: 'evolution on digits' });
  assert.equal(model.receive({ type: 'empty' }), true);
  assert.deepEqual(model.state, { kind: 'empty' });
  assert.equal(changes(), 2);
});

test('a malformed message changes nothing and warns on the console', t => {
  const warn = t.mock.method(console, 'warn', () => {});
  const { model, changes } = watched();
  model.receive(DOCKED);
  assert.equal(model.receive({ type: 'docked', model_id: '<b>', title: 'x' }), false);
  assert.equal(model.receive({ type: 'surprise' }), false);
  assert.equal(model.receive('docked'), false);
  assert.equal(model.state.kind, 'docked');
  assert.equal(changes(), 1);
  assert.equal(warn.mock.callCount(), 3);
  assert.match(String(warn.mock.calls[1].arguments[0]), /unknown message type "surprise"/);
});

test('a kernel restart clears the docked explorer, once', () => {
  const { model, changes } = watched();
  model.receive(DOCKED);
  model.kernelStatus('busy');
  model.kernelStatus('idle');
  assert.equal(model.state.kind, 'docked');
  model.kernelStatus('restarting');
  assert.deepEqual(model.state, { kind: 'cleared' });
  model.kernelStatus('autorestarting');
  model.kernelStatus('idle');
  assert.deepEqual(model.state, { kind: 'cleared' });
  assert.equal(changes(), 2);
});

test('a dead kernel clears too, and docking again after it works', () => {
  const { model } = watched();
  model.receive(DOCKED);
  model.kernelStatus('dead');
  assert.equal(model.state.kind, 'cleared');
  model.receive({ ...DOCKED, model_id: 'beef' });
  assert.deepEqual(model.state, { kind: 'docked', modelId: 'beef', title: 'evolution on digits' });
});

test('an unanswered request means empty, but never undoes a docked explorer', () => {
  const { model } = watched();
  model.noAnswer();
  assert.equal(model.state.kind, 'empty');
  model.receive(DOCKED);
  model.noAnswer();
  assert.equal(model.state.kind, 'docked');
});

test('a kernel error becomes the notice and keeps the state; docking clears it', () => {
  const { model } = watched();
  model.receive({ type: 'empty' });
  model.receive({ type: 'error', message: 'runs/x: no run.json' });
  assert.equal(model.state.kind, 'empty');
  assert.equal(model.notice, 'runs/x: no run.json');
  model.receive({ type: 'empty' });
  assert.equal(model.notice, 'runs/x: no run.json');
  model.receive(DOCKED);
  assert.equal(model.notice, '');
});

test('reset goes back to waiting; runs are unknown until set, then kept and copied', () => {
  const { model, changes } = watched();
  assert.equal(model.runs, null);
  const runs = [{ path: 'runs/a' }];
  model.setRuns(runs);
  runs.push({ path: 'runs/b' });
  model.receive(DOCKED);
  model.reset();
  assert.deepEqual(model.state, { kind: 'waiting' });
  assert.deepEqual(model.runs, [{ path: 'runs/a' }]);
  assert.equal(changes(), 3);
});

test('setting the same runs again is not a change (the panel polls for runs)', () => {
  const model = new ExplorerModel();
  let changes = 0;
  model.changed.connect(() => changes++);
  model.setRuns([{ path: 'runs/a' }]);
  model.setRuns([{ path: 'runs/a' }]);
  assert.equal(changes, 1);
  model.setRuns([{ path: 'runs/a' }, { path: 'runs/b' }]);
  assert.equal(changes, 2);
  model.setRuns([]);
  assert.equal(changes, 3);
});
