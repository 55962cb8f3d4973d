/**
 * The client listener's counters, read by the node's metrics exporter (prom-client lives in
 * lib/app; these are plain numbers so the server stays free of a metrics library).
 */
export class ServerMetrics {
  /** Requests parsed and dispatched, by API name (unsupported and malformed ones are not here). */
  readonly requestsByApi = new Map<string, number>();
  /** Kafka error codes sent back in responses (per partition, topic or request), by code. */
  readonly errorsByCode = new Map<number, number>();
  bytesIn = 0;
  bytesOut = 0;
  connectionsAccepted = 0;
  connectionsActive = 0;
  /** Refused at accept because `maxConnections` were open. */
  connectionsRejected = 0;
  /** Closed by the server: a bad frame (oversized size, garbage, unknown API or version), a failed acks=0 Produce, a handler bug. */
  connectionsClosedForProtocol = 0;
  /** Closed because they were idle longer than `idleTimeoutMs`. */
  connectionsClosedIdle = 0;
  /** A handler threw or its response failed to encode (a bug: logged with its stack). */
  handlerFailures = 0;
  /**
   * Requests served although bytes followed their body's last known field (Kafka's parser ignores
   * them; librdkafka 2.x pads Metadata v9 with 1 byte and other requests with 3), by API name:
   * how many requests and how many such bytes.
   */
  readonly trailingBytesByApi = new Map<string, { requests: number; bytes: number }>();
  /**
   * Requests of an API key or version not served here, by API name ('unknown' for a key not in
   * lib/kafka's table, so that a client cannot grow the label set): ApiVersions is answered
   * UNSUPPORTED_VERSION, any other closes its connection.
   */
  readonly unsupportedByApi = new Map<string, number>();
  /** Requests whose header or body could not be read (their connection is closed), by API name or 'unknown'. */
  readonly malformedByApi = new Map<string, number>();

  countRequest(apiName: string): void {
    this.requestsByApi.set(apiName, (this.requestsByApi.get(apiName) ?? 0) + 1);
  }

  countTrailingBytes(apiName: string, bytes: number): void {
    const t = this.trailingBytesByApi.get(apiName);
    if (t === undefined) this.trailingBytesByApi.set(apiName, { requests: 1, bytes });
    else {
      t.requests++;
      t.bytes += bytes;
    }
  }

  countUnsupported(apiName: string): void {
    this.unsupportedByApi.set(apiName, (this.unsupportedByApi.get(apiName) ?? 0) + 1);
  }

  countMalformed(apiName: string): void {
    this.malformedByApi.set(apiName, (this.malformedByApi.get(apiName) ?? 0) + 1);
  }

  countError(code: number): void {
    if (code === 0) return;
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
  }

  /** A plain copy for exporters and tests. */
  snapshot(): {
    requestsByApi: Record<string, number>; errorsByCode: Record<string, number>; bytesIn: number; bytesOut: number;
    connectionsAccepted: number; connectionsActive: number; connectionsRejected: number;
    connectionsClosedForProtocol: number; connectionsClosedIdle: number; handlerFailures: number;
    trailingBytesByApi: Record<string, { requests: number; bytes: number }>;
    unsupportedByApi: Record<string, number>; malformedByApi: Record<string, number>;
  } {
    return {
      requestsByApi: Object.fromEntries(this.requestsByApi),
      errorsByCode: Object.fromEntries([...this.errorsByCode].map(([k, v]) => [String(k), v])),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      connectionsAccepted: this.connectionsAccepted,
      connectionsActive: this.connectionsActive,
      connectionsRejected: this.connectionsRejected,
      connectionsClosedForProtocol: this.connectionsClosedForProtocol,
      connectionsClosedIdle: this.connectionsClosedIdle,
      handlerFailures: this.handlerFailures,
      trailingBytesByApi: Object.fromEntries([...this.trailingBytesByApi].map(([k, v]) => [k, { ...v }])),
      unsupportedByApi: Object.fromEntries(this.unsupportedByApi),
      malformedByApi: Object.fromEntries(this.malformedByApi),
    };
  }
}
