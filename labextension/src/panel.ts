/**
 * The NAS Explorer side panel: follows the active notebook and shows its kernel's
 * docked explorer through that notebook's own rendermime (and so its widget manager).
 */
import { PathExt } from '@jupyterlab/coreutils';
import { NotebookActions } from '@jupyterlab/notebook';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMime, MimeModel } from '@jupyterlab/rendermime';
import type { Contents } from '@jupyterlab/services';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { KernelChannel } from './kernel';
import { ExplorerModel, ExplorerState } from './model';
import { findRuns, replayCode } from './runs';
import { ExplorerView } from './widget';

const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
/** How often a shown empty state looks for new run directories (a search writes them from the
 * kernel, which the file browser's change signals never hear about). */
const RUNS_POLL_MS = 4000;

/** Everything the panel keeps for one open notebook. */
interface IEntry {
  readonly model: ExplorerModel;
  readonly channel: KernelChannel;
  /** Cached so switching notebooks back and forth does not re-create views. */
  renderer: IRenderMime.IRenderer | null;
  renderedId: string;
  lastKind: ExplorerState['kind'];
}

export class ExplorerPanel extends ExplorerView {
  constructor(
    private readonly _tracker: INotebookTracker,
    private readonly _contents: Contents.IManager
  ) {
    super();
    this.id = 'nasnb-explorer';
    this.title.caption = 'NAS Explorer';
  }

  /** Start following notebooks when first shown, so a closed panel costs kernels nothing. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._following) {
      this._following = true;
      this._tracker.currentChanged.connect(this._follow, this);
      this._follow(this._tracker, this._tracker.currentWidget);
    }
    this._startPolling();
  }

  protected onBeforeHide(msg: Message): void {
    this._stopPolling();
    super.onBeforeHide(msg);
  }

  /** While the panel is shown, the run list of the current notebook refreshes by itself. */
  private _startPolling(): void {
    if (this._poll === null) {
      this._poll = window.setInterval(() => {
        const notebook = this._current;
        const entry = notebook ? this._entries.get(notebook) : undefined;
        if (notebook && entry && entry.model.state.kind !== 'docked' && !this._polling) {
          this._polling = true;
          void this._refreshRuns(notebook).finally(() => (this._polling = false));
        }
      }, RUNS_POLL_MS);
    }
  }

  private _stopPolling(): void {
    if (this._poll !== null) {
      window.clearInterval(this._poll);
      this._poll = null;
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._stopPolling();
    this._tracker.currentChanged.disconnect(this._follow, this);
    for (const notebook of [...this._entries.keys()]) {
      this._forget(notebook);
    }
    super.dispose();
  }

  private _follow(_: INotebookTracker, notebook: NotebookPanel | null): void {
    this._current = notebook;
    if (notebook && !this._entries.has(notebook)) {
      const model = new ExplorerModel();
      const channel = new KernelChannel(notebook.sessionContext, model);
      this._entries.set(notebook, { model, channel, renderer: null, renderedId: '', lastKind: 'waiting' });
      model.changed.connect(() => this._onChanged(notebook), this);
      notebook.disposed.connect(() => this._forget(notebook), this);
    }
    if (notebook) {
      void this._refreshRuns(notebook);
    }
    this._render();
  }

  private _onChanged(notebook: NotebookPanel): void {
    const entry = this._entries.get(notebook);
    if (!entry) {
      return;
    }
    const kind = entry.model.state.kind;
    if (kind !== entry.lastKind && (kind === 'empty' || kind === 'cleared')) {
      void this._refreshRuns(notebook);
    }
    entry.lastKind = kind;
    if (notebook === this._current) {
      this._render();
    }
  }

  private _render(): void {
    const notebook = this._current;
    const entry = notebook ? this._entries.get(notebook) : undefined;
    if (!notebook || !entry) {
      this.showEmpty({ kind: 'none', runs: [], notice: '', folder: '', onOpenRun: () => {}, onRefresh: () => {} });
      return;
    }
    const state = entry.model.state;
    if (state.kind === 'docked') {
      const view = this._viewFor(notebook, entry, state.modelId);
      if (view) {
        this.showView(view, state.title);
        return;
      }
    } else {
      this._dropRenderer(entry);
    }
    this.showEmpty({
      kind: state.kind,
      runs: entry.model.runs,
      notice: entry.model.notice,
      folder: PathExt.dirname(notebook.context.path),
      onOpenRun: path => void this._replayInNotebook(notebook, entry, path),
      onRefresh: () => void this._refreshRuns(notebook)
    });
  }

  /** The cached renderer for `modelId`, or a new one; null when widgets cannot render. */
  private _viewFor(notebook: NotebookPanel, entry: IEntry, modelId: string): Widget | null {
    if (entry.renderedId === modelId) {
      // Also answers null, without retrying, when this model id already failed.
      return entry.renderer && !entry.renderer.isDisposed ? entry.renderer : null;
    }
    this._dropRenderer(entry);
    let renderer: IRenderMime.IRenderer;
    try {
      renderer = notebook.content.rendermime.createRenderer(WIDGET_MIME);
    } catch {
      entry.renderedId = modelId;
      entry.model.warn('This JupyterLab cannot render ipywidgets: install ipywidgets in its environment.');
      return null;
    }
    renderer.addClass('nasnb-Explorer-body');
    entry.renderer = renderer;
    entry.renderedId = modelId;
    // A fresh MimeModel per render: a disposed view blanks the model_id of the one it used.
    const data = { [WIDGET_MIME]: { model_id: modelId, version_major: 2, version_minor: 1 } };
    renderer.renderModel(new MimeModel({ data })).catch(reason => {
      entry.model.warn(`The explorer could not be rendered: ${String(reason)}`);
    });
    return renderer;
  }

  /** Replay a run through a cell inserted below the active one and run, as a user would. */
  private async _replayInNotebook(notebook: NotebookPanel, entry: IEntry, path: string): Promise<void> {
    const content = notebook.content;
    NotebookActions.insertBelow(content);
    const cell = content.activeCell;
    if (!cell) {
      entry.model.warn('Could not add a cell to this notebook to replay the run.');
      return;
    }
    cell.model.sharedModel.setSource(replayCode(path));
    const ok = await NotebookActions.run(content, notebook.sessionContext);
    if (!ok) {
      entry.model.warn(`Replaying ${path} failed: the new cell's output says why.`);
    }
  }

  private _dropRenderer(entry: IEntry): void {
    if (entry.renderer) {
      this.release(entry.renderer);
      entry.renderer.dispose();
      entry.renderer = null;
    }
    entry.renderedId = '';
  }

  private async _refreshRuns(notebook: NotebookPanel): Promise<void> {
    const entry = this._entries.get(notebook);
    if (!entry) {
      return;
    }
    const runs = await findRuns(this._contents, PathExt.dirname(notebook.context.path));
    if (!entry.channel.isDisposed) {
      entry.model.setRuns(runs);
    }
  }

  private _forget(notebook: NotebookPanel): void {
    const entry = this._entries.get(notebook);
    if (!entry) {
      return;
    }
    this._entries.delete(notebook);
    this._dropRenderer(entry);
    entry.channel.dispose();
    if (this._current === notebook) {
      this._current = null;
      this._render();
    }
  }

  private _following = false;
  private _poll: number | null = null;
  private _polling = false;
  private _current: NotebookPanel | null = null;
  private _entries = new Map<NotebookPanel, IEntry>();
}
