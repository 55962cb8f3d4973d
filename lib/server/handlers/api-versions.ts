/**
 * ApiVersions (18): the versions this broker speaks, built from lib/kafka's table restricted to the
 * APIs that have a handler here, so what is advertised is exactly what is served, and every
 * broker (running the same code) advertises the same set (KafkaJS and platformatic ask only the
 * bootstrap broker). An unsupported ApiVersions version is answered in dispatch.ts (KIP-511).
 *
 * Each client gets the set it can read: the API list is the same at every version (Kafka's is
 * too); the features exist from v3 on, and a supported feature whose range starts at 0
 * (kraft.version) only from v4 on (`featuresFor`, KAFKA-17492).
 */
import { type ApiVersionsResponse, apiVersionsApi, featuresFor } from '../../kafka/api-versions.js';
import { apiVersionsBody } from '../../kafka/apis.js';
import { type AnyHandler, handler } from '../handler.js';

/** The ApiVersions body listing the APIs among `keys`, with the features a `version` client reads. */
export function advertisedApiVersions(keys: ReadonlySet<number>, errorCodeValue = 0, version = 0): ApiVersionsResponse {
  const all = apiVersionsBody(errorCodeValue);
  return { ...all, apiKeys: all.apiKeys.filter((k) => keys.has(k.apiKey)), ...featuresFor(version) };
}

export function apiVersionsHandler(keys: ReadonlySet<number>): AnyHandler {
  const byVersion = new Map<number, ApiVersionsResponse>();
  for (let v = apiVersionsApi.minVersion; v <= apiVersionsApi.maxVersion; v++) byVersion.set(v, advertisedApiVersions(keys, 0, v));
  return handler(apiVersionsApi, async (ctx) => byVersion.get(ctx.apiVersion) ?? advertisedApiVersions(keys, 0, ctx.apiVersion));
}
