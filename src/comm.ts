/**
 * `KernelLink`: the comm between the panel and one notebook's kernel.
 *
 * It follows a session context (a notebook's), and copes with what a kernel does:
 * - no `nlsql_jupyter` loaded: the kernel closes our comm at once ('not-loaded'); loading it
 *   (`loadExtension`, or `%load_ext` in a cell) makes the kernel open a comm to us;
 * - a restart or a new kernel: the comm is gone; we open a new one when it is idle again;
 * - a running cell: the kernel may answer comm messages only when the cell ends, so a request
 *   outstanding while the kernel is busy shows as 'busy' instead of waiting silently.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage as Msg } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  COMM_TARGET,
  IKernelState,
  ISchema,
  KernelMessage,
  Request,
  toJSON
} from './messages';

/** Where the link stands, as the panel tells the user. */
export type LinkStatus =
  | 'no-kernel'
  | 'connecting'
  | 'not-loaded'
  | 'loading'
  | 'connected'
  | 'busy'
  | 'restarting';

/** How long a request may wait before a busy kernel is reported. */
const BUSY_AFTER_MS = 300;

export class KernelLink {
  /** Emitted with every state the kernel sends (answers and pushes alike). */
  get stateChanged(): ISignal<this, IKernelState> {
    return this._stateChanged;
  }

  /** Emitted with every schema the kernel sends. */
  get schemaReceived(): ISignal<this, ISchema> {
    return this._schemaReceived;
  }

  /** Emitted when the link's status changes. */
  get statusChanged(): ISignal<this, LinkStatus> {
    return this._statusChanged;
  }

  get status(): LinkStatus {
    return this._status;
  }

  /** Why loading the extension failed, if it did. */
  get loadError(): string | null {
    return this._loadError;
  }

  /** Follow `context` (null: no notebook), leaving the kernel followed before. */
  follow(context: ISessionContext | null): void {
    if (context === this._context) {
      return;
    }
    if (this._context) {
      this._context.kernelChanged.disconnect(this._onKernelChanged, this);
      this._context.statusChanged.disconnect(this._onKernelStatus, this);
    }
    this._setKernel(null);
    this._context = context;
    if (!context) {
      this._setStatus('no-kernel');
      return;
    }
    context.kernelChanged.connect(this._onKernelChanged, this);
    context.statusChanged.connect(this._onKernelStatus, this);
    this._setKernel(context.session?.kernel ?? null);
    if (!this._kernel) {
      this._setStatus('no-kernel');
      void context.ready.then(() => {
        if (this._context === context && !this._kernel) {
          this._setKernel(context.session?.kernel ?? null);
        }
      });
    }
  }

  /** Ask for the kernel's state now. */
  refresh(): void {
    this._request({ type: 'state' });
  }

  /** Make `database` the kernel session's database (like `%nlsql use`). */
  use(database: string): void {
    this._request({ type: 'use', database });
  }

  /** Ask for the tables of `database`. */
  schema(database: string): void {
    this._request({ type: 'schema', database });
  }

  /** Run `%load_ext nlsql_jupyter` in the kernel; it then opens a comm to us. */
  async loadExtension(): Promise<void> {
    const kernel = this._kernel;
    if (!kernel) {
      return;
    }
    this._loadError = null;
    this._setStatus('loading');
    const reply = await kernel.requestExecute({
      code: '%load_ext nlsql_jupyter',
      silent: true,
      store_history: false
    }).done;
    if (kernel !== this._kernel) {
      return;
    }
    const content = reply.content;
    if (content.status === 'error') {
      this._loadError = `${content.ename}: ${content.evalue}`;
      this._setStatus('not-loaded');
    } else if (!this._comm) {
      // The kernel's own comm did not reach us (yet): open one from here.
      this._open();
    }
  }

  dispose(): void {
    this.follow(null);
    Signal.clearData(this);
  }

  private _onKernelChanged(
    _context: ISessionContext,
    change: { newValue: Kernel.IKernelConnection | null }
  ): void {
    this._setKernel(change.newValue);
  }

  private _onKernelStatus(_context: ISessionContext, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      this._dropComm();
      this._setStatus(status === 'dead' ? 'no-kernel' : 'restarting');
    } else if (status === 'idle' && this._status === 'restarting') {
      this._open();
    } else if (status === 'busy' && this._pending > 0 && this._status === 'connected') {
      this._watchBusy();
    }
  }

  private _setKernel(kernel: Kernel.IKernelConnection | null): void {
    if (kernel === this._kernel) {
      return;
    }
    this._dropComm();
    this._kernel?.removeCommTarget(COMM_TARGET, this._onKernelComm);
    this._kernel = kernel;
    this._loadError = null;
    if (kernel) {
      kernel.registerCommTarget(COMM_TARGET, this._onKernelComm);
      this._open();
    } else {
      this._setStatus('no-kernel');
    }
  }

  /** The kernel opened a comm to us (`%load_ext nlsql_jupyter` ran). */
  private _onKernelComm = (comm: Kernel.IComm): void => {
    this._attach(comm);
    this.refresh();
  };

  /** Open a comm from this side; its open message asks for the state. */
  private _open(): void {
    const kernel = this._kernel;
    if (!kernel || kernel.isDisposed) {
      return;
    }
    const comm = kernel.createComm(COMM_TARGET);
    this._attach(comm);
    this._pending = 1;
    comm.open(toJSON({ type: 'state' }));
    this._watchBusy();
  }

  private _attach(comm: Kernel.IComm): void {
    this._dropComm();
    this._comm = comm;
    this._setStatus('connecting');
    comm.onMsg = msg => this._onMessage(comm, msg);
    comm.onClose = () => {
      if (this._comm === comm) {
        // The kernel closes a comm to a target it does not have: the extension is not loaded.
        this._comm = null;
        this._pending = 0;
        this._setStatus('not-loaded');
      }
    };
  }

  private _onMessage(comm: Kernel.IComm, msg: Msg.ICommMsgMsg): void {
    if (comm !== this._comm) {
      return;
    }
    this._pending = Math.max(0, this._pending - 1);
    this._setStatus('connected');
    const data = msg.content.data as unknown as KernelMessage;
    if (data.type === 'state') {
      this._stateChanged.emit(data);
      if (data.session_id === null && data.error === null) {
        // Pushed after the kernel dropped its session (`%nlsql connect`): open it again.
        this.refresh();
      }
    } else if (data.type === 'schema') {
      this._schemaReceived.emit(data);
    }
  }

  private _request(request: Request): void {
    const comm = this._comm;
    if (!comm || comm.isDisposed) {
      if (this._kernel && this._status !== 'not-loaded') {
        this._open();
      }
      return;
    }
    this._pending += 1;
    comm.send(toJSON(request));
    this._watchBusy();
  }

  /** Report 'busy' if a request is still unanswered shortly, while the kernel runs a cell. */
  private _watchBusy(): void {
    window.setTimeout(() => {
      if (this._pending > 0 && this._kernel?.status === 'busy' && this._comm) {
        this._setStatus('busy');
      }
    }, BUSY_AFTER_MS);
  }

  private _dropComm(): void {
    const comm = this._comm;
    this._comm = null;
    this._pending = 0;
    if (comm && !comm.isDisposed && this._kernel && !this._kernel.isDisposed) {
      try {
        void comm.close();
      } catch {
        // The kernel went with it (a restart disposes every comm).
      }
    }
  }

  private _setStatus(status: LinkStatus): void {
    if (status !== this._status) {
      this._status = status;
      this._statusChanged.emit(status);
    }
  }

  private _context: ISessionContext | null = null;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _comm: Kernel.IComm | null = null;
  private _pending = 0;
  private _status: LinkStatus = 'no-kernel';
  private _loadError: string | null = null;
  private _stateChanged = new Signal<this, IKernelState>(this);
  private _schemaReceived = new Signal<this, ISchema>(this);
  private _statusChanged = new Signal<this, LinkStatus>(this);
}
