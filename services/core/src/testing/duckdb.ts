/**
 * Test helper: an in-memory DuckDB, the third-party reader the Parquet segments are checked with.
 *
 *   const duck = useDuck();                 // open before the tests, closed after them
 *   const rows = await readParquetRows(duck.con, path.join(dir, 'segments', '*.parquet'));
 */
import type { StoredEvent } from '../events/storedEvent';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DuckDBInstance } = require('@duckdb/node-api') as typeof import('@duckdb/node-api');

export type DuckConnection = Awaited<ReturnType<Awaited<ReturnType<typeof DuckDBInstance.create>>['connect']>>;

export interface InMemoryDuck {
  con: DuckConnection;
  /** Closes the connection and the database. */
  close(): void;
}

/** A fresh `:memory:` database with one connection. */
export async function openDuck(): Promise<InMemoryDuck> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  return {
    con,
    close: () => {
      con.closeSync();
      db.closeSync();
    },
  };
}

/** Registers jest hooks that open a DuckDB before the tests of the enclosing file or `describe` and close it after them. */
export function useDuck(): { readonly con: DuckConnection } {
  let duck: InMemoryDuck | undefined;
  beforeAll(async () => {
    duck = await openDuck();
  });
  afterAll(() => duck?.close());
  return {
    get con(): DuckConnection {
      if (!duck) throw new Error('DuckDB is not open yet: use it inside a test or a hook');
      return duck.con;
    },
  };
}

/** Runs `use` on a fresh in-memory DuckDB and closes it afterwards. */
export async function withDuck<T>(use: (con: DuckConnection) => Promise<T>): Promise<T> {
  const duck = await openDuck();
  try {
    return await use(duck.con);
  } finally {
    duck.close();
  }
}

/** SQL string literal. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** One event row of a segment as DuckDB reads it (timestamp as microseconds since the epoch). */
export interface ParquetRow {
  sequence: bigint;
  id: string;
  event_type: string;
  entity_id: string;
  tenant_id: string;
  ts_us: bigint;
  version: bigint;
  payload: string;
  metadata: string | null;
}

/** Every event row of the Parquet file(s) `glob` matches, by sequence (LSN). */
export async function readParquetRows(con: DuckConnection, glob: string): Promise<ParquetRow[]> {
  const reader = await con.runAndReadAll(
    `select sequence, id, event_type, entity_id, tenant_id, epoch_us("timestamp") as ts_us, version, payload, metadata
       from read_parquet(${sqlString(glob)}) order by sequence`,
  );
  const names = reader.columnNames();
  return reader.getRows().map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]])) as unknown as ParquetRow);
}

/** A row as the StoredEvent the store wrote. */
export function rowToStoredEvent(r: ParquetRow): StoredEvent {
  return {
    lsn: Number(r.sequence),
    id: r.id,
    eventType: r.event_type,
    entityId: r.entity_id,
    tenantId: r.tenant_id,
    timestampUs: Number(r.ts_us),
    version: Number(r.version),
    payloadJson: r.payload,
    metadataJson: r.metadata ?? null,
  };
}
