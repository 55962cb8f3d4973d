/**
 * One Kafka API as data: its key, the versions Flotilla implements and advertises, the first
 * flexible version, and the request and response schemas. `defineApi` turns that into the four
 * codecs (decode request, encode response; and for tests and clients, encode request, decode
 * response). Bodies only: headers and frames are `header.ts` and `apis.ts`.
 */
import { assert } from '../base/assert.js';
import { Reader, type Writer } from './primitives.js';
import { type MessageSchema, type TypeDef, decodeMessage, encodeMessage, message } from './schema.js';

export interface ApiDefinition<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  /** Lowest version advertised and accepted. */
  readonly minVersion: number;
  /** Highest version advertised and accepted. */
  readonly maxVersion: number;
  /** First flexible version (Infinity when none is implemented). */
  readonly flexibleFrom: number;
  readonly request: MessageSchema<Req>;
  readonly response: MessageSchema<Res>;
  isFlexible(version: number): boolean;
  /**
   * Decodes a request body. Bytes after the last field this version defines are left in `r`
   * unread, as Kafka's own parser leaves them (librdkafka 2.x pads some requests); the caller
   * counts them. A field that cannot be read is CORRUPT.
   */
  decodeRequest(r: Reader, version: number): Req;
  encodeResponse(w: Writer, version: number, body: Res): void;
  encodeRequest(w: Writer, version: number, body: Req): void;
  decodeResponse(r: Reader, version: number): Res;
}

export interface ApiSpec<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Kafka's "flexibleVersions" start (for both request and response), Infinity for "none". */
  readonly flexibleFrom: number;
  readonly request: TypeDef<Req>;
  readonly response: TypeDef<Res>;
}

function checkVersion(name: string, spec: { minVersion: number; maxVersion: number }, version: number): void {
  assert(Number.isInteger(version) && version >= spec.minVersion && version <= spec.maxVersion,
    () => `${name} v${version} is outside v${spec.minVersion}-v${spec.maxVersion}`);
}

export function defineApi<Req, Res>(spec: ApiSpec<Req, Res>): ApiDefinition<Req, Res> {
  assert(spec.minVersion >= 0 && spec.minVersion <= spec.maxVersion, () => `${spec.name}: bad version range`);
  const request = message(`${spec.name}Request`, spec.flexibleFrom, spec.request);
  const response = message(`${spec.name}Response`, spec.flexibleFrom, spec.response);
  return Object.freeze({
    apiKey: spec.apiKey,
    name: spec.name,
    minVersion: spec.minVersion,
    maxVersion: spec.maxVersion,
    flexibleFrom: spec.flexibleFrom,
    request,
    response,
    isFlexible: (version: number) => version >= spec.flexibleFrom,
    decodeRequest(r: Reader, version: number): Req {
      // The version comes off the wire: the dispatcher checks it first; here it is an invariant.
      checkVersion(spec.name, spec, version);
      return decodeMessage(request, r, version);
    },
    encodeResponse(w: Writer, version: number, body: Res): void {
      checkVersion(spec.name, spec, version);
      encodeMessage(response, body, w, version);
    },
    encodeRequest(w: Writer, version: number, body: Req): void {
      checkVersion(spec.name, spec, version);
      encodeMessage(request, body, w, version);
    },
    decodeResponse(r: Reader, version: number): Res {
      checkVersion(spec.name, spec, version);
      const body = decodeMessage(response, r, version);
      r.expectEnd(response.name);
      return body;
    },
  });
}

/** Decodes a whole buffer as one message body (tests, tools). */
export function decodeBody<T>(decode: (r: Reader, version: number) => T, bytes: Buffer, version: number): T {
  return decode(new Reader(bytes), version);
}
