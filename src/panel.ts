/**
 * `SidebarPanel`: the left sidebar for the active notebook's kernel — its database, the link
 * and connection status, its question history and the schema of its database.
 */
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';

import { KernelLink, LinkStatus } from './comm';
import { h } from './dom';
import { HistoryView } from './history';
import { IKernelState, ISchema } from './messages';
import { SchemaView } from './schema';
import { StatusView } from './status';

/** The sidebar's id in the shell (and the `data-id` of its tab). */
export const PANEL_ID = 'nlsql-jupyter-sidebar';

export const databaseIcon = new LabIcon({
  name: 'nlsql-jupyter:database',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161"><ellipse cx="12" cy="5" rx="8" ry="3"/>' +
    '<path d="M4 7.5v4c0 1.7 3.6 3 8 3s8-1.3 8-3v-4c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/>' +
    '<path d="M4 14v4.5c0 1.7 3.6 3 8 3s8-1.3 8-3V14c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/></g></svg>'
});

export class SidebarPanel extends Panel {
  constructor(activate: (widget: Widget) => void) {
    super();
    this.id = PANEL_ID;
    this.addClass('nlsql-Sidebar');
    this.title.icon = databaseIcon;
    this.title.caption = 'nlsql: the notebook kernel’s database, status, history and schema';
    this._activate = activate;
    this._status = new StatusView({
      use: database => this._link.use(database),
      loadExtension: () => void this._link.loadExtension()
    });
    this._history = new HistoryView({
      insertQuestion: question => this._insertQuestion(question)
    });
    this._schema = new SchemaView({ loadSchema: database => this._link.schema(database) });
    const header = new Widget({ node: h('header', { class: 'nlsql-Header' }) });
    header.node.append(h('h2', {}, 'nlsql'), this._notebookName);
    for (const child of [header, this._status, this._history, this._schema]) {
      this.addWidget(child);
    }
    this._link.statusChanged.connect(this._onLinkStatus, this);
    this._link.stateChanged.connect(this._onState, this);
    this._link.schemaReceived.connect(this._onSchema, this);
  }

  /** Follow `notebook` (the active one; null when none is open). */
  follow(notebook: NotebookPanel | null): void {
    if (notebook === this._notebook) {
      return;
    }
    this._notebook = notebook;
    this._notebookName.textContent = notebook ? notebook.context.localPath : 'no notebook';
    this._state = null;
    this._status.setState(null);
    this._history.setTurns([]);
    this._schema.clear();
    this._link.follow(notebook ? notebook.sessionContext : null);
  }

  dispose(): void {
    this._link.dispose();
    super.dispose();
  }

  private _onLinkStatus(_link: KernelLink, status: LinkStatus): void {
    this.node.dataset.link = status;
    this._status.setStatus(status, this._link.loadError);
    if (status === 'not-loaded' || status === 'restarting' || status === 'no-kernel') {
      // What the panel showed belonged to a kernel session that is gone.
      this._state = null;
      this._status.setState(null);
      this._history.setTurns([]);
      this._schema.clear();
    }
  }

  private _onState(_link: KernelLink, state: IKernelState): void {
    if (this._state && this._state.server !== state.server) {
      this._schema.clear();
    }
    this._state = state;
    this._status.setState(state);
    this._history.setTurns(state.history);
    this._schema.setDatabase(state.database);
  }

  private _onSchema(_link: KernelLink, schema: ISchema): void {
    this._schema.addSchema(schema);
  }

  /** A `%%ask` cell with `question` below the notebook's active cell. */
  private _insertQuestion(question: string): void {
    const notebook = this._notebook;
    if (!notebook) {
      return;
    }
    NotebookActions.insertBelow(notebook.content);
    notebook.content.activeCell?.model.sharedModel.setSource(`%%ask\n${question}`);
    this._activate(notebook);
  }

  private _activate: (widget: Widget) => void;
  private _link = new KernelLink();
  private _notebook: NotebookPanel | null = null;
  private _state: IKernelState | null = null;
  private _notebookName = h('div', { class: 'nlsql-Notebook' });
  private _status: StatusView;
  private _history: HistoryView;
  private _schema: SchemaView;
}
