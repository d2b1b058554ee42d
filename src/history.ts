/**
 * `HistoryView`: the questions asked from this kernel, newest first. A question inserts a
 * `%%ask` cell with it below the active cell; each SQL can be copied.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { count, h } from './dom';
import { ITurn } from './messages';

/** What the view asks of the panel. */
export interface IHistoryActions {
  insertQuestion(question: string): void;
}

/** How long "Copied" shows on a copy button. */
const COPIED_MS = 1500;

export class HistoryView extends Widget {
  constructor(actions: IHistoryActions) {
    super();
    this.addClass('nlsql-History');
    this._actions = actions;
    this.node.append(h('h3', { class: 'nlsql-Heading' }, 'History'), this._list);
    this.setTurns([]);
  }

  setTurns(turns: ITurn[]): void {
    if (turns.length === 0) {
      this._list.replaceChildren(
        h('li', { class: 'nlsql-Empty' }, 'No questions asked from this kernel yet.')
      );
      return;
    }
    this._list.replaceChildren(...[...turns].reverse().map(turn => this._item(turn)));
  }

  private _item(turn: ITurn): HTMLElement {
    const question = h(
      'button',
      {
        class: 'nlsql-Question',
        type: 'button',
        title: 'Insert a %%ask cell with this question below the active cell'
      },
      turn.question
    );
    question.addEventListener('click', () => this._actions.insertQuestion(turn.question));
    const copy = h(
      'button',
      { class: 'jp-mod-styled nlsql-Copy', type: 'button', title: 'Copy the SQL' },
      'Copy SQL'
    );
    copy.addEventListener('click', () => {
      Clipboard.copyToSystem(turn.sql);
      copy.textContent = 'Copied';
      window.setTimeout(() => (copy.textContent = 'Copy SQL'), COPIED_MS);
    });
    const rows = turn.row_count === null ? 'not run' : `${count(turn.row_count)} rows`;
    const at = new Date(turn.at).toLocaleTimeString();
    return h(
      'li',
      { class: 'nlsql-Turn' },
      question,
      h('div', { class: 'nlsql-Meta' }, `${turn.database ?? '—'} · ${rows} · ${at}`),
      h('pre', { class: 'nlsql-Sql' }, turn.sql),
      copy
    );
  }

  private _actions: IHistoryActions;
  private _list = h('ol', { class: 'nlsql-Turns' });
}
