import type { StoredEvent } from '../events/storedEvent';

/**
 * A committed event as pipelines see it. Payload and metadata are parsed on first use and the
 * parsed values are shared by every pipeline of the commit group: they are read-only, and a
 * pipeline that writes (map, enrich) works on its own copy.
 */
export class PipelineEvent {
  private parsedPayload: unknown;
  private parsedMetadata: unknown;
  private payloadDone = false;
  private metadataDone = false;

  constructor(readonly event: StoredEvent) {}

  get payload(): unknown {
    if (!this.payloadDone) {
      this.parsedPayload = JSON.parse(this.event.payloadJson) as unknown;
      this.payloadDone = true;
    }
    return this.parsedPayload;
  }

  get metadata(): unknown {
    if (!this.metadataDone) {
      this.parsedMetadata = this.event.metadataJson === null ? null : (JSON.parse(this.event.metadataJson) as unknown);
      this.metadataDone = true;
    }
    return this.parsedMetadata;
  }
}
