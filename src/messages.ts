/**
 * The JSON messages of the `nlsql-jupyter` comm (the kernel side is
 * `nlsql_jupyter/comm.py`; keep the two in step).
 */
import { JSONObject } from '@lumino/coreutils';

/** The comm target registered by `%load_ext nlsql_jupyter`. */
export const COMM_TARGET = 'nlsql-jupyter';

/** A database the kernel's server offers. */
export interface IDatabase {
  name: string;
  dialect: string | null;
  description: string;
  tables: number;
}

/** One question asked from the kernel (`runtime.history`). */
export interface ITurn {
  question: string;
  sql: string;
  database: string | null;
  row_count: number | null;
  /** ISO 8601, UTC. */
  at: string;
}

/** What the panel shows: the kernel session and the `%nlsql status` numbers. */
export interface IKernelState {
  type: 'state';
  database: string | null;
  databases: IDatabase[];
  server: string | null;
  embedded: boolean;
  /** Null when the kernel has not asked its server yet. */
  connected: boolean | null;
  /** The server's session store is down (Redis away): sessions live in its memory. */
  degraded: boolean;
  /** Null until the kernel has opened its server session. */
  session_id: string | null;
  /** One line per transport, as `%nlsql status` shows it. */
  transports: { [transport: string]: string };
  history: ITurn[];
  /** The last request's failure, as the kernel words it. */
  error: string | null;
}

/** One column of a table. */
export interface IColumn {
  name: string;
  type: string;
  primary_key: boolean;
}

/** One table of a database. */
export interface ITable {
  name: string;
  rows: number | null;
  columns: IColumn[];
}

/** The tables of one database (`schema.tables`). */
export interface ISchema {
  type: 'schema';
  database: string;
  tables: ITable[];
  error: string | null;
}

/** What the kernel sends on the comm. */
export type KernelMessage = IKernelState | ISchema | { type: 'hello' };

/** What the panel asks the kernel. */
export type Request =
  | { type: 'state' }
  | { type: 'use'; database: string }
  | { type: 'schema'; database: string };

/** A request as the comm API wants it. */
export function toJSON(request: Request): JSONObject {
  return { ...request };
}
