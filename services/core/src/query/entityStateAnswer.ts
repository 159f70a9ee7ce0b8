import { jsonString } from '../events/jsonText';
import type { StoredEvent } from '../events/storedEvent';
import { formatTimestamp } from '../events/timestamps';
import type { EventStore } from '../storage/eventStore';
import type { EventVisitor } from '../storage/eventVisitor';
import { byteLengthAt, stringAt, type RowGroupColumns } from '../storage/segments/segmentReader';
import { emptyState, eventsUpTo, mergeInto, startingPoint, type EntityStateObject, type SnapshotLookup } from './entityState';
import { JsonOutput } from './jsonOutput';
import { column, literal } from './serialize';

const CHUNK = 1000;

export interface EntityStateAnswer {
  /** Every event of the entity up to as_of. */
  eventCount: number;
  /** The answer's JSON (send `result()`, then `recycle()` once sent). */
  out: JsonOutput;
}

/**
 * The `GET /entities/:id/state` answer, the same text `foldEntity` plus a JSON serialisation
 * would give, in fewer steps: the history's events are written from the segment cache's bytes
 * (id and payload copied, nothing parsed), and only the events after the stored state the fold
 * starts from are parsed and merged. Undefined when the entity has no event up to as_of.
 */
export async function entityStateAnswer(
  store: EventStore,
  entityId: string,
  asOfUs: number | undefined,
  historyLimit: number,
  snapshots?: SnapshotLookup,
  historyMaxBytes = Number.POSITIVE_INFINITY,
): Promise<EntityStateAnswer | undefined> {
  const list = store.index.positionsOfEntity(entityId);
  if (!list || list.length === 0) return undefined;
  const end = eventsUpTo(store, list, asOfUs);
  if (end === 0) return undefined;
  const { stored, from } = startingPoint(entityId, end, snapshots);
  const state = from > 0 ? stored!.restore() : emptyState();
  const history = new JsonOutput(64 + Math.min(Math.min(end, historyLimit) * 256, historyMaxBytes));
  const writer = new HistoryWriter(store, history, state, from, historyMaxBytes);

  // The history's events: written (up to its byte bound), and folded past the stored state.
  const historyEnd = Math.min(end, historyLimit);
  let visited = 0;
  while (visited < historyEnd && !writer.full) {
    const next = Math.min(historyEnd, visited + CHUNK);
    await store.visitPositions(list.data.subarray(visited, next), writer);
    visited = next;
  }
  // The rest, past the history's bounds: folded only.
  for (let start = Math.max(from, visited); start < end; start += CHUNK) {
    for (const e of await store.readPositions(list.data.subarray(start, Math.min(end, start + CHUNK)))) {
      mergeInto(state, JSON.parse(e.payloadJson));
    }
  }

  const historyBytes = history.result();
  const out = new JsonOutput(historyBytes.length + 512);
  out.text(`{"entity_id":${jsonString(entityId)},"last_updated":"${formatTimestamp(store.index.timestampUs[list.data[end - 1]!]!)}","event_count":${end},`);
  out.ascii(`"as_of":${asOfUs === undefined ? 'null' : `"${formatTimestamp(asOfUs)}"`},"current_state":`);
  out.text(JSON.stringify(state));
  out.ascii(',"history":[');
  out.bytes(historyBytes, 0, historyBytes.length);
  out.ascii(historyEnd < end || writer.full ? '],"history_truncated":true}' : ']}');
  history.recycle();
  return { eventCount: end, out };
}

/**
 * Writes history entries (`{"event_id","type","timestamp","payload"}`, comma separated) and
 * merges into `state` the payloads of events at or past `from` (their index in the entity's
 * list; `next` is the index of the next event visited).
 */
class HistoryWriter implements EventVisitor {
  next = 0;
  private readonly store: EventStore;
  private readonly out: JsonOutput;
  private readonly state: EntityStateObject;
  private readonly from: number;
  private readonly typeLiterals = new Map<number, string>();
  /** History entries written; past `maxBytes` no more are (`full`), the fold goes on. */
  private written = 0;
  full = false;

  constructor(
    store: EventStore,
    out: JsonOutput,
    state: EntityStateObject,
    from: number,
    private readonly maxBytes: number,
  ) {
    this.store = store;
    this.out = out;
    this.state = state;
    this.from = from;
  }

  /**
   * Whether an entry of at most `bytes` still fits in the history (the first always does); if
   * not, the history is full. Checked before writing, so nothing written is taken back.
   */
  private fits(bytes: number): boolean {
    if (this.written === 0 || this.out.length + bytes <= this.maxBytes) return true;
    this.full = true;
    return false;
  }

  buffered(e: StoredEvent): void {
    if (!this.full) {
      const entry = `${this.written > 0 ? ',' : ''}{"event_id":"${e.id}","type":${jsonString(e.eventType)},"timestamp":"${formatTimestamp(e.timestampUs)}","payload":${e.payloadJson}}`;
      if (this.fits(Buffer.byteLength(entry, 'utf8'))) {
        this.out.text(entry);
        this.written++;
      }
    }
    if (this.next >= this.from) mergeInto(this.state, JSON.parse(e.payloadJson));
    this.next++;
  }

  stored(c: RowGroupColumns, row: number, position: number): void {
    // At most: payload as stored, id 36, event type up to 128 ASCII characters (some escaped), the rest.
    if (!this.full && this.fits(400 + byteLengthAt(c.payload, row))) this.writeStored(c, row, position);
    if (this.next >= this.from) mergeInto(this.state, JSON.parse(stringAt(c.payload, row)!));
    this.next++;
  }

  private writeStored(c: RowGroupColumns, row: number, position: number): void {
    const out = this.out;
    const index = this.store.index;
    out.ascii(this.written > 0 ? ',{"event_id":"' : '{"event_id":"');
    column(out, c.id, row);
    out.ascii('","type":');
    out.text(literal(this.typeLiterals, index.types.values, index.typeOf[position]!));
    out.ascii(',"timestamp":"');
    out.timestamp(index.timestampUs[position]!);
    out.ascii('","payload":');
    column(out, c.payload, row);
    out.ascii('}');
    this.written++;
  }
}
