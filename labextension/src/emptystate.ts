/**
 * The panel's text when no explorer is shown: how to get one, and runs to replay.
 *
 * Every string that comes from a kernel or from the file system (run paths, the
 * kernel's error notice) goes in through `textContent`, never markup, so a run named
 * `<img src=x onerror=...>` stays a name. Only `document.createElement` and
 * `textContent` are used, which keeps this testable with a tiny fake document.
 */
import type { ExplorerState, IRunEntry } from './model';

/** The model's states, plus `none` for when no notebook is active. */
export type EmptyKind = ExplorerState['kind'] | 'none';

export interface IEmptyStateOptions {
  readonly kind: EmptyKind;
  /** null while the runs are still being looked for. */
  readonly runs: readonly IRunEntry[] | null;
  readonly notice: string;
  /** The notebook's folder, shown so the user knows where runs were looked for. */
  readonly folder: string;
  readonly onOpenRun: (path: string) => void;
  readonly onRefresh: () => void;
}

const HEADINGS: Record<EmptyKind, string> = {
  none: 'Open a notebook to see its explorer',
  waiting: 'Asking the kernel for its explorer…',
  empty: 'No explorer in this notebook yet',
  cleared: 'The kernel restarted: its explorer is gone',
  docked: 'The kernel docked an explorer that cannot be shown here'
};

function element<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function howTo(doc: Document): HTMLElement {
  const para = element(doc, 'p', 'nasnb-Explorer-howto', 'Run ');
  para.appendChild(element(doc, 'code', '', 'Explorer(search).dock()'));
  para.appendChild(doc.createTextNode(' in this notebook to show its explorer here, or replay a run below.'));
  return para;
}

function runList(doc: Document, options: IEmptyStateOptions): HTMLElement {
  const where = options.folder === '' ? 'the server root' : options.folder;
  if (options.runs === null) {
    return element(doc, 'p', 'nasnb-Explorer-noruns', `Looking for run directories under ${where}…`);
  }
  if (options.runs.length === 0) {
    return element(doc, 'p', 'nasnb-Explorer-noruns', `No run directories (folders with run.json) under ${where}.`);
  }
  const section = element(doc, 'div', 'nasnb-Explorer-runs');
  section.appendChild(element(doc, 'p', 'nasnb-Explorer-runsTitle', `Runs under ${where}:`));
  const list = element(doc, 'ul', 'nasnb-Explorer-runList');
  for (const run of options.runs) {
    const item = element(doc, 'li', 'nasnb-Explorer-run');
    const button = element(doc, 'button', 'jp-mod-styled jp-mod-accept nasnb-Explorer-replay', 'Replay');
    button.title = 'Ask the kernel to load this run and dock its explorer';
    button.addEventListener('click', () => options.onOpenRun(run.path));
    item.appendChild(button);
    item.appendChild(element(doc, 'span', 'nasnb-Explorer-runPath', run.path));
    list.appendChild(item);
  }
  section.appendChild(list);
  return section;
}

/** Build the empty state as a fresh DOM subtree. */
export function renderEmptyState(doc: Document, options: IEmptyStateOptions): HTMLElement {
  const root = element(doc, 'div', 'nasnb-Explorer-empty');
  root.appendChild(element(doc, 'h3', 'nasnb-Explorer-heading', HEADINGS[options.kind]));
  root.appendChild(howTo(doc));
  if (options.notice !== '') {
    root.appendChild(element(doc, 'p', 'nasnb-Explorer-notice', options.notice));
  }
  if (options.kind === 'none') {
    return root;
  }
  root.appendChild(runList(doc, options));
  const refresh = element(doc, 'button', 'jp-mod-styled nasnb-Explorer-refresh', 'Look for runs again');
  refresh.addEventListener('click', () => options.onRefresh());
  root.appendChild(refresh);
  return root;
}
