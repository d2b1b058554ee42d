/**
 * `StatusView`: the kernel's database (a picker acting like `%nlsql use`), the link to the
 * kernel, and the numbers of `%nlsql status`: server, degraded flag, one line per transport.
 */
import { Widget } from '@lumino/widgets';

import { LinkStatus } from './comm';
import { count, h } from './dom';
import { IKernelState } from './messages';

/** What the view asks of the panel. */
export interface IStatusActions {
  use(database: string): void;
  loadExtension(): void;
}

const NOTICES: { [status in LinkStatus]: string } = {
  'no-kernel': 'Open a notebook with a running kernel to ask its databases.',
  connecting: 'Connecting to the kernel…',
  'not-loaded': 'nlsql_jupyter is not loaded in this kernel.',
  loading: 'Loading nlsql_jupyter in the kernel…',
  connected: '',
  busy: 'Kernel busy: the panel updates when the running cell ends.',
  restarting: 'Kernel restarting…'
};

export class StatusView extends Widget {
  constructor(actions: IStatusActions) {
    super();
    this.addClass('nlsql-Status');
    this._actions = actions;
    this._select.addEventListener('change', () => {
      const name = this._select.value;
      if (name && name !== this._state?.database) {
        this._select.disabled = true;
        this._actions.use(name);
      }
    });
    this._load.addEventListener('click', () => this._actions.loadExtension());
    this.node.append(
      this._notice,
      h('label', { class: 'nlsql-Label' }, 'Database', this._select),
      this._connection
    );
    this.setStatus('no-kernel', null);
  }

  /** Show where the link to the kernel stands (and why loading failed, if it did). */
  setStatus(status: LinkStatus, loadError: string | null): void {
    this._status = status;
    this.node.dataset.link = status;
    const notice = [NOTICES[status]];
    if (loadError) {
      notice.push(loadError);
    }
    this._notice.replaceChildren(h('span', {}, notice.filter(Boolean).join(' ')));
    if (status === 'not-loaded') {
      this._notice.append(this._load);
    }
    this._notice.hidden = !notice.some(Boolean);
    this._render();
  }

  /** Show the kernel's state. */
  setState(state: IKernelState | null): void {
    this._state = state;
    this._render();
  }

  private _render(): void {
    const state = this._state;
    const live = state !== null && (this._status === 'connected' || this._status === 'busy');
    this._select.replaceChildren(
      h('option', { value: '' }, live ? 'Choose a database' : '—'),
      ...(live ? state.databases : []).map(db =>
        h(
          'option',
          { value: db.name },
          `${db.name} — ${db.dialect ?? '?'}, ${count(db.tables)} tables`
        )
      )
    );
    this._select.value = live ? (state.database ?? '') : '';
    this._select.disabled = !live || this._status === 'busy';
    this._connection.replaceChildren(...(live ? connectionLines(state) : []));
  }

  private _actions: IStatusActions;
  private _status: LinkStatus = 'no-kernel';
  private _state: IKernelState | null = null;
  private _notice = h('div', { class: 'nlsql-Notice' });
  private _load = h(
    'button',
    { class: 'jp-mod-styled jp-mod-accept nlsql-Load', type: 'button' },
    'Load nlsql_jupyter in the kernel'
  );
  private _select = h('select', { class: 'nlsql-Databases' });
  private _connection = h('dl', { class: 'nlsql-Connection' });
}

/** The `%nlsql status` lines: server, session store, transports, the last error. */
function connectionLines(state: IKernelState): HTMLElement[] {
  const server = state.embedded
    ? `bundled server ${state.server ?? '(starts on first question)'}`
    : (state.server ?? '—');
  const connected =
    state.connected === null ? 'not asked yet' : state.connected ? 'connected' : 'unreachable';
  const lines: [string, string, string][] = [
    ['server', server, ''],
    ['status', connected, state.connected === false ? 'nlsql-mod-bad' : 'nlsql-mod-good'],
    [
      'sessions',
      state.degraded ? 'degraded: the server lost its session store' : 'ok',
      state.degraded ? 'nlsql-mod-warn' : ''
    ]
  ];
  for (const [name, line] of Object.entries(state.transports)) {
    lines.push([name, line, '']);
  }
  if (state.error) {
    lines.push(['error', state.error, 'nlsql-mod-bad']);
  }
  return lines.flatMap(([term, text, modifier]) => [
    h('dt', {}, term),
    h('dd', modifier ? { class: modifier, 'data-term': term } : { 'data-term': term }, text)
  ]);
}
