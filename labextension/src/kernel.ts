/**
 * One notebook's conversation with its kernel over the `nasnb:explorer` comm.
 *
 * The channel asks for the docked explorer when a kernel becomes available, accepts
 * comms the kernel opens itself (how `dock()` reaches a panel that is already open,
 * even after a restart), and feeds every message to the notebook's `ExplorerModel`,
 * which validates it.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';

import { COMM_TARGET, PanelMessage, parsePanelMessage } from './messages';
import type { ExplorerModel } from './model';

/** Fixed code, no user data: importing the module registers the kernel's comm target. */
const IMPORT_DOCK = 'import nasnb.widgets.dock';

export class KernelChannel implements IDisposable {
  constructor(
    private readonly _session: ISessionContext,
    private readonly _model: ExplorerModel
  ) {
    _session.kernelChanged.connect(this._onKernelChanged, this);
    _session.statusChanged.connect(this._onStatus, this);
    this._bind(_session.session?.kernel ?? null);
    void this.request();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Ask the kernel for its docked explorer; the answer arrives through the model. */
  async request(): Promise<void> {
    await this._send({ type: 'request' });
  }

  /**
   * Ask the kernel to replay the run at `path` (relative to its working folder) and dock
   * its explorer. The kernel may never have imported nasnb, so it imports the dock module first.
   */
  async openRun(path: string): Promise<void> {
    const kernel = this._kernel;
    if (!kernel) {
      this._model.warn('This notebook has no kernel to replay the run in.');
      return;
    }
    const reply = await kernel
      .requestExecute({ code: IMPORT_DOCK, silent: true, store_history: false })
      .done.catch(() => null);
    if (!reply || reply.content.status !== 'ok') {
      this._model.warn('The kernel could not import nasnb: is it installed in the kernel’s environment?');
      return;
    }
    await this._send({ type: 'open_run', path });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._bind(null);
    this._session.kernelChanged.disconnect(this._onKernelChanged, this);
    this._session.statusChanged.disconnect(this._onStatus, this);
  }

  private async _send(message: PanelMessage): Promise<void> {
    const checked = parsePanelMessage(message);
    const kernel = this._kernel;
    if (!checked.ok || !kernel) {
      return;
    }
    try {
      await kernel.info;
    } catch {
      return;
    }
    if (kernel !== this._kernel || kernel.isDisposed) {
      return;
    }
    const comm = kernel.createComm(COMM_TARGET);
    this._adopt(comm, false);
    comm.open(checked.message);
  }

  /** Listen on `comm`; a comm closed before any answer means nasnb is not loaded there. */
  private _adopt(comm: Kernel.IComm, answered: boolean): void {
    comm.onMsg = msg => {
      answered = true;
      this._model.receive(msg.content.data);
    };
    comm.onClose = () => {
      if (!answered) {
        this._model.noAnswer();
      }
    };
  }

  private _onCommOpen = (comm: Kernel.IComm, msg: KernelMessage.ICommOpenMsg): void => {
    this._adopt(comm, true);
    this._model.receive(msg.content.data);
  };

  private _bind(kernel: Kernel.IKernelConnection | null): void {
    if (this._kernel && !this._kernel.isDisposed) {
      this._kernel.removeCommTarget(COMM_TARGET, this._onCommOpen);
    }
    this._kernel = kernel;
    kernel?.registerCommTarget(COMM_TARGET, this._onCommOpen);
  }

  private _onKernelChanged(
    _: ISessionContext,
    change: { newValue: Kernel.IKernelConnection | null }
  ): void {
    if (change.newValue === this._kernel) {
      // A restart re-announces the same connection; the status change already cleared the model.
      return;
    }
    this._bind(change.newValue);
    if (change.newValue) {
      this._model.reset();
      void this.request();
    } else {
      this._model.kernelStatus('dead');
    }
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    this._model.kernelStatus(status);
  }

  private _kernel: Kernel.IKernelConnection | null = null;
  private _disposed = false;
}
