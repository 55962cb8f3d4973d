/**
 * ApiVersions (18): the versions this broker speaks, built from lib/kafka's table restricted to the
 * APIs that have a handler here, so what is advertised is exactly what is served, and every
 * broker (running the same code) advertises the same set (KafkaJS and platformatic ask only the
 * bootstrap broker). An unsupported ApiVersions version is answered in dispatch.ts (KIP-511).
 */
import { type ApiVersionsResponse, apiVersionsApi } from '../../kafka/api-versions.js';
import { apiVersionsBody } from '../../kafka/apis.js';
import { type AnyHandler, handler } from '../handler.js';

/** The ApiVersions body listing the APIs among `keys`. */
export function advertisedApiVersions(keys: ReadonlySet<number>, errorCodeValue = 0): ApiVersionsResponse {
  const all = apiVersionsBody(errorCodeValue);
  return { ...all, apiKeys: all.apiKeys.filter((k) => keys.has(k.apiKey)) };
}

export function apiVersionsHandler(keys: ReadonlySet<number>): AnyHandler {
  const body = advertisedApiVersions(keys);
  return handler(apiVersionsApi, async () => body);
}
