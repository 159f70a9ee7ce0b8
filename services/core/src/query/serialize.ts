import type { StoredEvent } from '../events/storedEvent';
import { jsonString } from '../events/jsonText';
import { formatTimestamp } from '../events/timestamps';
import type { EventIndex } from '../storage/index/eventIndex';
import type { EventVisitor } from '../storage/eventVisitor';
import { byteLengthAt, type RowGroupColumns, type StringColumn } from '../storage/segments/segmentReader';
import type { JsonOutput } from './jsonOutput';

/**
 * An event as API JSON. Built as text so stored payload JSON is spliced in, not parsed and
 * re-serialised.
 */
export function eventJson(e: StoredEvent): string {
  return (
    `{"id":"${e.id}","event_type":${jsonString(e.eventType)},"entity_id":${jsonString(e.entityId)},` +
    `"tenant_id":${jsonString(e.tenantId)},"payload":${e.payloadJson},"metadata":${e.metadataJson ?? 'null'},` +
    `"timestamp":"${formatTimestamp(e.timestampUs)}","version":${e.version}}`
  );
}

/**
 * Writes the events it visits as the elements of a JSON array (the same text as `eventJson`,
 * separated by commas, without the brackets). Flushed events are written from their row
 * group's bytes: id, payload and metadata are copied, never made into strings.
 */
export class EventsJsonWriter implements EventVisitor {
  count = 0;
  /** An event did not fit in `maxBytes`: it and every later one were left out. */
  full = false;
  private readonly out: JsonOutput;
  private readonly index: EventIndex;
  /** JSON string literals of the dictionary values met so far (a few per answer). */
  private readonly types = new Map<number, string>();
  private readonly entities = new Map<number, string>();
  private readonly tenants = new Map<number, string>();
  private readonly byType = new Map<number, string>();
  private lastEntity = -1;
  private lastTenant = -1;

  /** `maxBytes`: the answer's bound; the first event always goes in, whatever its size. */
  constructor(index: EventIndex, out: JsonOutput, private readonly maxBytes = Number.POSITIVE_INFINITY) {
    this.index = index;
    this.out = out;
  }

  /**
   * Whether an event of at most `bytes` still fits (the first always does); if not, the answer
   * is full. Checked before writing, so the buffer never holds an event it would take back.
   */
  private fits(bytes: number): boolean {
    if (this.count === 0 || this.out.length + bytes <= this.maxBytes) return true;
    this.full = true;
    return false;
  }

  buffered(event: StoredEvent): void {
    if (this.full) return;
    const text = eventJson(event);
    if (!this.fits(1 + Buffer.byteLength(text, 'utf8'))) return;
    if (this.count++ > 0) this.out.ascii(',');
    this.out.text(text);
  }

  stored(c: RowGroupColumns, row: number, position: number): void {
    if (this.full || !this.fits(storedEventBytes(c, row))) return;
    const out = this.out;
    const index = this.index;
    // Nothing is allocated for an event: constant text, copied bytes, digits written in place;
    // the text between id and payload is one string, kept while the entity stays the same.
    out.ascii(this.count++ > 0 ? ',{"id":"' : '{"id":"');
    column(out, c.id, row);
    out.text(this.between(index.typeOf[position]!, index.entityOf[position]!, index.tenantOf[position]!));
    column(out, c.payload, row);
    if (isNull(c.metadata, row)) {
      out.ascii(',"metadata":null,"timestamp":"');
    } else {
      out.ascii(',"metadata":');
      column(out, c.metadata, row);
      out.ascii(',"timestamp":"');
    }
    out.timestamp(index.timestampUs[position]!);
    out.ascii('","version":');
    out.integer(c.version[row]!);
    out.ascii('}');
  }

  /**
   * The text between id and payload; kept by event type while entity and tenant stay the same
   * (an entity's history has a handful of types).
   */
  private between(type: number, entity: number, tenant: number): string {
    if (entity !== this.lastEntity || tenant !== this.lastTenant) {
      this.lastEntity = entity;
      this.lastTenant = tenant;
      this.byType.clear();
    }
    let s = this.byType.get(type);
    if (s === undefined) {
      const index = this.index;
      s =
        `","event_type":${literal(this.types, index.types.values, type)},"entity_id":${literal(this.entities, index.entities.values, entity)},` +
        `"tenant_id":${literal(this.tenants, index.tenants.values, tenant)},"payload":`;
      if (this.byType.size < 64) this.byType.set(type, s);
    }
    return s;
  }
}

/** The JSON string literal of dictionary value `n`, made once per answer (kept in `seen`). */
export function literal(seen: Map<number, string>, values: readonly string[], n: number): string {
  let s = seen.get(n);
  if (s === undefined) seen.set(n, (s = jsonString(values[n]!)));
  return s;
}

/**
 * At most the bytes `EventsJsonWriter.stored` writes for a row: its payload and metadata as
 * stored, and 800 for the rest (id 36; entity id up to 128 characters of up to 3 bytes; event
 * type 128 and tenant 64 ASCII characters, a few escaped; timestamp, version, keys).
 */
function storedEventBytes(c: RowGroupColumns, row: number): number {
  return 800 + byteLengthAt(c.payload, row) + byteLengthAt(c.metadata, row);
}

function isNull(c: StringColumn, row: number): boolean {
  return c.valid !== null && (c.valid[row >> 3]! & (1 << (row & 7))) === 0;
}

/** Value `row` of a column as its stored bytes; `null` where the column holds null. */
export function column(out: JsonOutput, c: StringColumn, row: number): void {
  if (isNull(c, row)) out.ascii('null');
  else out.bytes(c.bytes, c.offsets[row]!, c.offsets[row + 1]!);
}
