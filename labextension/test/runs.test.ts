import assert from 'node:assert/strict';
import { test } from 'node:test';

import { findRuns, IContentsLike, replayCode } from '../src/runs';

/** A fake contents manager over a list of file paths (directories are implied). */
function contentsOf(files: string[], failing: string[] = []): IContentsLike & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async get(path: string) {
      calls.push(path);
      if (failing.includes(path)) {
        throw new Error('forbidden');
      }
      const prefix = path === '' ? '' : `${path}/`;
      const children = new Map<string, string>();
      for (const file of files) {
        if (file.startsWith(prefix)) {
          const [name, ...rest] = file.slice(prefix.length).split('/');
          children.set(name, rest.length > 0 ? 'directory' : 'file');
        }
      }
      const content = [...children].map(([name, type]) => ({ name, type, path: `${prefix}${name}` }));
      return { content };
    }
  };
}

const HOSTILE = '<img src=x onerror=alert(1)>';

test('finds run folders one and two levels down, relative to the notebook folder, sorted', async () => {
  const contents = contentsOf([
    'lessons/01.ipynb',
    'lessons/runs/b/run.json',
    'lessons/runs/a/run.json',
    'lessons/runs/a/trials.jsonl',
    `lessons/${HOSTILE}/run.json`,
    'lessons/deep/er/still/run.json',
    'elsewhere/runs/x/run.json'
  ]);
  const runs = await findRuns(contents, 'lessons');
  assert.deepEqual(runs, [{ path: HOSTILE }, { path: 'runs/a' }, { path: 'runs/b' }]);
});

test('does not descend into a run, hidden folders or node_modules', async () => {
  const contents = contentsOf([
    'runs/demo/run.json',
    'runs/demo/nested/run.json',
    '.git/x/run.json',
    'node_modules/pkg/run.json'
  ]);
  assert.deepEqual(await findRuns(contents, ''), [{ path: 'runs/demo' }]);
  assert.ok(!contents.calls.includes('runs/demo/nested'));
  assert.ok(!contents.calls.some(path => path.startsWith('.git') || path.startsWith('node_modules')));
});

test('the notebook folder itself is not a run; unreadable folders are skipped', async () => {
  const contents = contentsOf(['run.json', 'a/run.json', 'b/c/run.json'], ['b']);
  assert.deepEqual(await findRuns(contents, ''), [{ path: 'a' }]);
});

test('the number of listings is bounded', async () => {
  const files = Array.from({ length: 30 }, (_, i) => `d${i}/sub/run.json`);
  const contents = contentsOf(files);
  const runs = await findRuns(contents, '', { maxListings: 10 });
  assert.equal(contents.calls.length, 10);
  assert.equal(runs.length, 0);
  assert.equal((await findRuns(contentsOf(files), '')).length, 9);
});

test('the replay cell quotes any folder name as one Python string literal', () => {
  const hostile = 'runs/a"b\\c\n<img src=x onerror=alert(1)>\u2028';
  const code = replayCode(hostile);
  const line = code.split('\n').find(l => l.startsWith('replay = '));
  assert.ok(line !== undefined, code);
  assert.equal(line, `replay = Explorer.from_run(${JSON.stringify(hostile)}).dock()`);
  // the literal closes exactly once, right before ").dock()"
  const literal = line.slice('replay = Explorer.from_run('.length, -').dock()'.length);
  assert.equal(JSON.parse(literal), hostile);
  assert.ok(code.includes('from nasnb.widgets import Explorer'));
});
