// AlterClientQuotas' plan and DescribeClientQuotas' matching against an image
// (lib/metadata/client-quotas.ts), with the vectors of Kafka's ClientQuotasImageTest /
// ClientQuotaControlManagerTest and docs (exact, default and "any specified" components, strict).
import { expect } from 'chai';
import { alterClientQuotas, describeClientQuotas } from '../../lib/metadata/client-quotas.js';
import { MetadataImage } from '../../lib/metadata/image.js';
import { replayRecords } from '../../lib/metadata/delta.js';
import { type QuotaEntityPart, formatQuotaEntity } from '../../lib/quota/entries.js';

const user = (name: string | null): QuotaEntityPart => ({ type: 'user', name });
const client = (name: string | null): QuotaEntityPart => ({ type: 'client-id', name });
const ip = (name: string | null): QuotaEntityPart => ({ type: 'ip', name });

function apply(image: MetadataImage, entries: unknown[]): MetadataImage {
  const { records, results } = alterClientQuotas(image, entries);
  expect(results.every((r) => r === null), JSON.stringify(results)).to.equal(true);
  return replayRecords(records, image);
}

/** Kafka's ClientQuotasImageTest/ClientQuotasRequestTest shape: every kind of entity once. */
function sample(): MetadataImage {
  const set = (entity: QuotaEntityPart[], value: number): unknown => ({ entity, ops: [{ key: 'producer_byte_rate', value }] });
  return apply(MetadataImage.EMPTY, [
    set([user('user-1')], 1), set([user('user-2')], 2), set([user(null)], 3),
    set([client('client-1')], 4), set([client(null)], 5),
    set([user('user-1'), client('client-1')], 6), set([user('user-1'), client(null)], 7),
    set([user(null), client('client-1')], 8), set([user(null), client(null)], 9),
    { entity: [ip('1.2.3.4')], ops: [{ key: 'connection_creation_rate', value: 10 }] },
    { entity: [ip(null)], ops: [{ key: 'connection_creation_rate', value: 11 }] },
  ]);
}

function names(res: ReturnType<typeof describeClientQuotas>): string[] {
  if ('error' in res) throw new Error(`${res.error.code}: ${res.error.message}`);
  return res.entries.map((e) => formatQuotaEntity(e.entity)).sort();
}

describe('metadata/client-quotas', () => {
  it('alter: records only what changes; removal of an unset key writes nothing; entries apply in order', () => {
    let image = MetadataImage.EMPTY;
    const first = alterClientQuotas(image, [{ entity: [client('app')], ops: [{ key: 'producer_byte_rate', value: 1000 }, { key: 'consumer_byte_rate', value: null }] }]);
    expect(first.results).to.deep.equal([null]);
    expect(first.records).to.deep.equal([{ type: 'ClientQuota', entity: [client('app')], key: 'producer_byte_rate', value: 1000 }]);
    image = replayRecords(first.records, image);
    expect(alterClientQuotas(image, [{ entity: [client('app')], ops: [{ key: 'producer_byte_rate', value: 1000 }] }]).records).to.deep.equal([]);
    const two = alterClientQuotas(image, [
      { entity: [client('app')], ops: [{ key: 'producer_byte_rate', value: 2000 }] },
      { entity: [client('app')], ops: [{ key: 'producer_byte_rate', value: null }] },
    ]);
    expect(two.records.map((r) => r.value)).to.deep.equal([2000, null]);
    image = replayRecords(two.records, image);
    expect(image.clientQuotas.size).to.equal(0);
  });

  it('alter: INVALID_REQUEST with a message for a bad entity, key or value; the entry writes nothing, the others apply', () => {
    const bad = [
      [{ entity: [], ops: [] }, /entity is empty/],
      [{ entity: [user('a'), ip('1.2.3.4')], ops: [] }, /cannot be combined/],
      [{ entity: [user('a')], ops: [{ key: 'bogus', value: 1 }] }, /unknown quota key "bogus"/],
      [{ entity: [user('a')], ops: [{ key: 'producer_byte_rate', value: Number.NaN }] }, /must be a number/],
      [{ entity: [user('a')], ops: [{ key: 'producer_byte_rate', value: -1 }] }, /greater than 0/],
      [{ entity: [user('a')], ops: [{ key: 'producer_byte_rate', value: 1e20 }] }, /above the largest/],
      [{ entity: [user('a')], ops: [{ key: 'request_percentage', value: 250 }] }, /above the largest allowed, 100/],
      [{ entity: [user('a')], ops: [{ key: 'producer_byte_rate', value: 1 }, { key: 'producer_byte_rate', value: 2 }] }, /appears twice/],
      [{ entity: [user('a')], ops: [{ key: 'producer_byte_rate', value: '5' }] }, /not a number/],
      [{ entity: [ip('1.2.3.4')], ops: [{ key: 'consumer_byte_rate', value: 5 }] }, /does not apply to an ip/],
    ] as const;
    for (const [entry, pattern] of bad) {
      const { records, results } = alterClientQuotas(MetadataImage.EMPTY, [entry, { entity: [user('ok')], ops: [{ key: 'producer_byte_rate', value: 5 }] }]);
      expect(results[0]?.code, JSON.stringify(entry)).to.equal('INVALID_REQUEST');
      expect(results[0]?.message).to.match(pattern);
      expect(results[1]).to.equal(null);
      expect(records.map((r) => formatQuotaEntity(r.entity))).to.deep.equal(['user=ok']);
    }
  });

  it("describe: Kafka's matching (exact, default, any specified; strict) over every kind of entity", () => {
    const image = sample();
    expect(names(describeClientQuotas(image, [], false))).to.have.length(11);
    expect(names(describeClientQuotas(image, [], true))).to.deep.equal([]);
    expect(names(describeClientQuotas(image, [{ entityType: 'user', matchType: 0, match: 'user-1' }], false)))
      .to.deep.equal(['user=user-1', 'user=user-1, client-id=<default>', 'user=user-1, client-id=client-1']);
    expect(names(describeClientQuotas(image, [{ entityType: 'user', matchType: 0, match: 'user-1' }], true))).to.deep.equal(['user=user-1']);
    expect(names(describeClientQuotas(image, [{ entityType: 'user', matchType: 1, match: null }], true))).to.deep.equal(['user=<default>']);
    expect(names(describeClientQuotas(image, [{ entityType: 'user', matchType: 2, match: null }], true))).to.deep.equal(['user=<default>', 'user=user-1', 'user=user-2']);
    expect(names(describeClientQuotas(image, [{ entityType: 'client-id', matchType: 2, match: null }], false))).to.deep.equal([
      'client-id=<default>', 'client-id=client-1', 'user=<default>, client-id=<default>', 'user=<default>, client-id=client-1',
      'user=user-1, client-id=<default>', 'user=user-1, client-id=client-1',
    ]);
    expect(names(describeClientQuotas(image, [{ entityType: 'user', matchType: 1, match: null }, { entityType: 'client-id', matchType: 0, match: 'client-1' }], true)))
      .to.deep.equal(['user=<default>, client-id=client-1']);
    expect(names(describeClientQuotas(image, [{ entityType: 'user', matchType: 2, match: null }, { entityType: 'client-id', matchType: 1, match: null }], false)))
      .to.deep.equal(['user=<default>, client-id=<default>', 'user=user-1, client-id=<default>']);
    expect(names(describeClientQuotas(image, [{ entityType: 'ip', matchType: 2, match: null }], true))).to.deep.equal(['ip=1.2.3.4', 'ip=<default>']);
    expect(names(describeClientQuotas(image, [{ entityType: 'user', matchType: 0, match: 'nobody' }], false))).to.deep.equal([]);
    const found = describeClientQuotas(image, [{ entityType: 'ip', matchType: 0, match: '1.2.3.4' }], true);
    expect('entries' in found && Object.fromEntries(found.entries[0]!.values)).to.deep.equal({ connection_creation_rate: 10 });
  });

  it("describe: Kafka's errors for a bad filter", () => {
    const err = (components: Parameters<typeof describeClientQuotas>[1]): string => {
      const res = describeClientQuotas(MetadataImage.EMPTY, components, false);
      return 'error' in res ? `${res.error.code}: ${res.error.message}` : 'ok';
    };
    expect(err([{ entityType: '', matchType: 0, match: 'x' }])).to.match(/^INVALID_REQUEST: Invalid empty entity type/);
    expect(err([{ entityType: 'user', matchType: 2, match: null }, { entityType: 'user', matchType: 0, match: 'x' }])).to.match(/^INVALID_REQUEST: .*more than once/);
    expect(err([{ entityType: 'group', matchType: 2, match: null }])).to.match(/^UNSUPPORTED_VERSION: Unsupported entity type group/);
    expect(err([{ entityType: 'user', matchType: 0, match: null }])).to.match(/^INVALID_REQUEST: .*MATCH_TYPE_EXACT/);
    expect(err([{ entityType: 'user', matchType: 1, match: 'x' }])).to.match(/^INVALID_REQUEST: .*MATCH_TYPE_DEFAULT/);
    expect(err([{ entityType: 'user', matchType: 2, match: 'x' }])).to.match(/^INVALID_REQUEST: .*MATCH_TYPE_SPECIFIED/);
    expect(err([{ entityType: 'user', matchType: 7, match: null }])).to.match(/^INVALID_REQUEST: Unknown match type 7/);
    expect(err([{ entityType: 'ip', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }])).to.match(/^INVALID_REQUEST: .*IP filter component/);
  });
});
