/**
 * Find run directories (folders holding `run.json`) under a notebook's folder.
 *
 * This goes through the server's contents API rather than the kernel, so the empty
 * state can list runs even when the kernel is busy or has never imported nasnb.
 */
import type { IRunEntry } from './model';

/** The slice of `Contents.IManager` this needs, so tests can pass a fake. */
export interface IContentsLike {
  get(
    path: string,
    options?: { content?: boolean }
  ): Promise<{ content: unknown }>;
}

interface IListing {
  readonly name: string;
  readonly path: string;
  readonly type: string;
}

/** Folders never worth descending into. */
const SKIP = new Set(['node_modules', '__pycache__', 'site-packages']);

export interface IFindOptions {
  /** Folder levels below the notebook's folder to look into (`runs/demo` is 2). */
  maxDepth?: number;
  /** Listings requested at most, so a huge folder costs a bounded number of calls. */
  maxListings?: number;
}

function entries(content: unknown): IListing[] {
  if (!Array.isArray(content)) {
    return [];
  }
  return content.filter(
    (item): item is IListing =>
      typeof item === 'object' &&
      item !== null &&
      typeof item.name === 'string' &&
      typeof item.path === 'string' &&
      typeof item.type === 'string'
  );
}

function relative(folder: string, path: string): string {
  if (folder === '') {
    return path;
  }
  return path.startsWith(`${folder}/`) ? path.slice(folder.length + 1) : path;
}

/** Breadth-first, bounded search for run directories; results sorted by path. */
export async function findRuns(
  contents: IContentsLike,
  folder: string,
  options: IFindOptions = {}
): Promise<IRunEntry[]> {
  const maxDepth = options.maxDepth ?? 2;
  let budget = options.maxListings ?? 40;
  const found: IRunEntry[] = [];
  let level: string[] = [folder];
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (budget-- <= 0) {
        break;
      }
      let listing: IListing[];
      try {
        listing = entries((await contents.get(dir, { content: true })).content);
      } catch {
        continue;
      }
      if (depth > 0 && listing.some(item => item.type === 'file' && item.name === 'run.json')) {
        found.push({ path: relative(folder, dir) });
        continue;
      }
      for (const item of listing) {
        if (item.type === 'directory' && !item.name.startsWith('.') && !SKIP.has(item.name)) {
          next.push(item.path);
        }
      }
    }
    level = next;
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The cell that replays the run at `path` (relative to the notebook's folder, where its kernel
 * runs) and docks it in the panel. The panel inserts and runs it below the active cell, so a
 * replay opened from the panel leaves its trace in the notebook: the code that re-creates it.
 * The path goes in as a JSON string, which is also a valid Python string literal (JSON's escapes
 * are a subset of Python's), so no folder name can break out of it.
 */
export function replayCode(path: string): string {
  return [
    '# Opened from the NAS Explorer panel: replay a recorded run and dock it there.',
    'from nasnb.widgets import Explorer',
    '',
    `replay = Explorer.from_run(${JSON.stringify(path)}).dock()`
  ].join('\n');
}
