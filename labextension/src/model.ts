/**
 * What the panel knows about one notebook's kernel: a small state machine.
 *
 * Kept free of DOM and JupyterLab services so its transitions are unit-tested in Node.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { parseKernelMessage } from './messages';

/** A run directory (a folder holding `run.json`) under the notebook's folder. */
export interface IRunEntry {
  /** Path relative to the notebook's folder, as the kernel (started there) sees it. */
  readonly path: string;
}

/**
 * - `waiting`: the panel asked the kernel and has no answer yet;
 * - `empty`: the kernel has no docked explorer (or has not imported nasnb);
 * - `docked`: the kernel's explorer is the widget model `modelId`;
 * - `cleared`: the kernel restarted or died, taking its widgets with it.
 */
export type ExplorerState =
  | { readonly kind: 'waiting' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'docked'; readonly modelId: string; readonly title: string }
  | { readonly kind: 'cleared' };

/** Kernel statuses after which no widget of the old kernel survives. */
const LOST = new Set(['restarting', 'autorestarting', 'dead']);

export class ExplorerModel {
  /** The current state; replaced, never mutated. */
  get state(): ExplorerState {
    return this._state;
  }

  /** Run directories found near the notebook, shown by the empty state; null until looked for. */
  get runs(): readonly IRunEntry[] | null {
    return this._runs;
  }

  /** The last error the kernel reported (e.g. a run that failed to load), or ''. */
  get notice(): string {
    return this._notice;
  }

  /** Emitted after any change of state, runs or notice. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Apply a message from the kernel. Returns false (and warns) when it does not
   * match the protocol, leaving the state as it was.
   */
  receive(data: unknown): boolean {
    const parsed = parseKernelMessage(data);
    if (!parsed.ok) {
      console.warn(`nasnb explorer: ignored a kernel message (${parsed.reason})`);
      return false;
    }
    const message = parsed.message;
    if (message.type === 'docked') {
      this._set({ kind: 'docked', modelId: message.model_id, title: message.title }, '');
    } else if (message.type === 'empty') {
      this._set({ kind: 'empty' }, this._notice);
    } else {
      this._set(this._state, message.message);
    }
    return true;
  }

  /** The kernel closed the panel's request unanswered: it has not loaded nasnb. */
  noAnswer(): void {
    if (this._state.kind === 'waiting') {
      this._set({ kind: 'empty' }, this._notice);
    }
  }

  /** Follow the kernel's status: a restart or death clears the docked explorer. */
  kernelStatus(status: string): void {
    if (LOST.has(status) && this._state.kind !== 'cleared') {
      this._set({ kind: 'cleared' }, '');
    }
  }

  /** A different kernel took over the notebook: ask again from scratch. */
  reset(): void {
    this._set({ kind: 'waiting' }, '');
  }

  /** Report a problem found on the panel's side (shown as text). */
  warn(notice: string): void {
    this._set(this._state, notice);
  }

  setRuns(runs: readonly IRunEntry[]): void {
    const same =
      this._runs !== null &&
      this._runs.length === runs.length &&
      this._runs.every((run, i) => run.path === runs[i].path);
    this._runs = [...runs];
    if (!same) {
      // an unchanged list is not news: the periodic look-up must not rebuild the empty state
      this._changed.emit();
    }
  }

  private _set(state: ExplorerState, notice: string): void {
    this._state = state;
    this._notice = notice;
    this._changed.emit();
  }

  private _state: ExplorerState = { kind: 'waiting' };
  private _runs: IRunEntry[] | null = null;
  private _notice = '';
  private _changed = new Signal<this, void>(this);
}
