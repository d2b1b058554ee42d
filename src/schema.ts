/**
 * `SchemaView`: the tables of the kernel's database with their columns, searchable by table or
 * column name. Loaded when the database changes; kept per database until the kernel changes.
 */
import { Widget } from '@lumino/widgets';

import { count, h } from './dom';
import { ISchema, ITable } from './messages';

/** What the view asks of the panel. */
export interface ISchemaActions {
  loadSchema(database: string): void;
}

export class SchemaView extends Widget {
  constructor(actions: ISchemaActions) {
    super();
    this.addClass('nlsql-Schema');
    this._actions = actions;
    this._search.addEventListener('input', () => this._render());
    this.node.append(this._heading, this._search, this._tables);
    this._render();
  }

  /** Show `database`'s tables, asking for them the first time. */
  setDatabase(database: string | null): void {
    if (database === this._database) {
      return;
    }
    this._database = database;
    if (database && !this._schemas.has(database)) {
      this._actions.loadSchema(database);
    }
    this._render();
  }

  /** Forget every schema (another kernel, another server). */
  clear(): void {
    this._schemas.clear();
    this._database = null;
    this._render();
  }

  addSchema(schema: ISchema): void {
    this._schemas.set(schema.database, schema);
    if (schema.database === this._database) {
      this._render();
    }
  }

  private _render(): void {
    const database = this._database;
    const schema = database ? this._schemas.get(database) : undefined;
    this._heading.textContent = database ? `Schema of ${database}` : 'Schema';
    this._search.disabled = !schema || schema.tables.length === 0;
    if (!database) {
      this._tables.replaceChildren(h('li', { class: 'nlsql-Empty' }, 'Choose a database.'));
      return;
    }
    if (!schema) {
      this._tables.replaceChildren(h('li', { class: 'nlsql-Empty' }, 'Loading the tables…'));
      return;
    }
    if (schema.error) {
      this._tables.replaceChildren(h('li', { class: 'nlsql-mod-bad' }, schema.error));
      return;
    }
    const query = this._search.value.trim().toLowerCase();
    const shown = schema.tables
      .map(table => matching(table, query))
      .filter((table): table is ITable => table !== null);
    if (shown.length === 0) {
      this._tables.replaceChildren(
        h('li', { class: 'nlsql-Empty' }, `No table or column matches “${query}”.`)
      );
      return;
    }
    this._tables.replaceChildren(...shown.map(table => tableItem(table, query !== '')));
  }

  private _actions: ISchemaActions;
  private _database: string | null = null;
  private _schemas = new Map<string, ISchema>();
  private _heading = h('h3', { class: 'nlsql-Heading' }, 'Schema');
  private _search = h('input', {
    class: 'jp-mod-styled nlsql-Search',
    type: 'search',
    placeholder: 'Search tables and columns'
  });
  private _tables = h('ul', { class: 'nlsql-Tables' });
}

/** `table` as far as it matches `query`: whole if its name does, else its matching columns. */
function matching(table: ITable, query: string): ITable | null {
  if (!query || table.name.toLowerCase().includes(query)) {
    return table;
  }
  const columns = table.columns.filter(c => c.name.toLowerCase().includes(query));
  return columns.length ? { ...table, columns } : null;
}

function tableItem(table: ITable, open: boolean): HTMLElement {
  const rows = table.rows === null ? '' : ` · ${count(table.rows)} rows`;
  const details = h(
    'details',
    { class: 'nlsql-Table' },
    h('summary', {}, h('b', {}, table.name), `${rows}`),
    h(
      'ul',
      { class: 'nlsql-Columns' },
      ...table.columns.map(column =>
        h(
          'li',
          {},
          h('span', { class: 'nlsql-Column' }, column.name),
          h('span', { class: 'nlsql-Type' }, column.type),
          column.primary_key ? h('span', { class: 'nlsql-Key' }, 'PK') : null
        )
      )
    )
  );
  details.open = open;
  return h('li', {}, details);
}
