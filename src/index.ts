/**
 * The nlsql sidebar: a left panel that follows the active notebook's kernel.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';

import { SidebarPanel } from './panel';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nlsql-jupyter:plugin',
  description:
    'A sidebar with the notebook kernel’s database, connection status, question history and schema.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  activate: (_app: JupyterFrontEnd, shell: ILabShell, notebooks: INotebookTracker) => {
    const panel = new SidebarPanel(widget => shell.activateById(widget.id));
    shell.add(panel, 'left', { rank: 650 });
    panel.follow(notebooks.currentWidget);
    notebooks.currentChanged.connect((_tracker, notebook) => panel.follow(notebook));
  }
};

export default plugin;
