// QuotaManager on a fake clock: the windowed rate (Kafka's SampledStat + Rate), throttle time
// (QuotaUtils), entity precedence, the fetch cap, request_percentage, the mutation token bucket
// (strict and permissive), the connection rate per ip, refresh and bounded state.
import { expect } from 'chai';
import type { QuotaEntityPart, QuotaEntry, QuotaKey } from '../../lib/quota/entries.js';
import { QuotaManager, TokenBucket, WindowedRate, entityString } from '../../lib/quota/manager.js';
import { RequestQuota } from '../../lib/server/quota.js';

const user = (name: string | null): QuotaEntityPart => ({ type: 'user', name });
const client = (name: string | null): QuotaEntityPart => ({ type: 'client-id', name });
const entry = (entity: QuotaEntityPart[], values: Partial<Record<QuotaKey, number>>): QuotaEntry =>
  ({ entity, values: new Map(Object.entries(values) as [QuotaKey, number][]) });

function setup(initial: QuotaEntry[] = []): { m: QuotaManager; clock: { t: number }; set: (e: QuotaEntry[]) => void } {
  const clock = { t: 1_000_000 };
  let entries: readonly QuotaEntry[] = initial;
  const m = new QuotaManager({ entries: () => entries, now: () => clock.t });
  return { m, clock, set: (e) => { entries = e; m.refresh(true); } };
}

describe('QuotaManager', () => {
  describe('WindowedRate (11 windows of 1 s)', () => {
    it('divides by at least 10 full windows, then by the real elapsed time, and forgets samples older than the span', () => {
      const r = new WindowedRate(11, 1000);
      r.record(1000, 0);
      expect(r.windowSize(0)).to.equal(10_000);
      expect(r.measure(0)).to.equal(100);
      r.record(1000, 5000);
      expect(r.measure(5000)).to.equal(200);
      // The sample of t=0 is 11 s old: reset; the oldest is now t=5000, 6 s ago → 10 s minimum.
      expect(r.measure(11_000)).to.equal(100);
      // 12 s after the first: 1000 bytes over max(10 s, 7 s) still.
      r.record(0, 12_000);
      expect(r.windowSize(15_500)).to.equal(10_500);
      expect(r.measure(16_000)).to.equal(0);
    });

    it('starts a new sample only once the current one is a window old', () => {
      const r = new WindowedRate(3, 1000);
      r.record(10, 0);
      r.record(10, 999);
      r.record(10, 1000);
      r.record(10, 2500);
      // three samples (0, 1000, 2500): elapsed 2500 ≥ 2 full windows
      expect(r.windowSize(2500)).to.equal(2500);
      expect(r.measure(2500)).to.equal(40 / 2.5);
      r.record(10, 3600); // the 4th sample reuses the oldest slot (t=0): purged at 3000 anyway
      expect(r.measure(3600)).to.equal(30 / 2.6);
    });
  });

  describe('throttle time = (observed − bound) / bound × window', () => {
    it('producer_byte_rate: 2000 bytes at once against 100 B/s throttle 10 s', () => {
      const { m } = setup([entry([client('p')], { producer_byte_rate: 100 })]);
      const q = m.client('ANONYMOUS', 'p');
      expect(q).to.not.equal(null);
      // rate 2000 / 10 s = 200 B/s; (200 − 100) / 100 × 10 000 ms
      expect(m.recordProduce(q!, 2000)).to.equal(10_000);
    });

    it('is 0 within the quota and grows with the excess', () => {
      const { m, clock } = setup([entry([client('p')], { producer_byte_rate: 1000 })]);
      const q = m.client('ANONYMOUS', 'p')!;
      expect(m.recordProduce(q, 5000)).to.equal(0); // 500 B/s
      expect(m.recordProduce(q, 5000)).to.equal(0); // 1000 B/s: at the bound, not over
      expect(m.recordProduce(q, 1000)).to.equal(1000); // 1100 B/s over 10 s: 10 % over → 1 s
      clock.t += 1;
      // 12 000 B over 10.001 s: (1199.88 − 1000) / 1000 × 10 001 ms
      expect(m.recordProduce(q, 1000)).to.equal(1999);
      // The throttle counts on the sensor only when the server hands it out.
      m.throttled(q.producer_byte_rate, 1000);
      expect(m.status()[0]).to.include({ throttleTimeMs: 1000, throttledRequests: 1 });
    });

    it('0.9 MB/s in 100 ms steps is never throttled against 1 MB/s; 1.2 MB/s is', () => {
      const { m, clock } = setup([entry([client('p')], { producer_byte_rate: 1_000_000 })]);
      const q = m.client('ANONYMOUS', 'p')!;
      let throttled = 0;
      for (let i = 0; i < 300; i++) {
        throttled += m.recordProduce(q, 90_000);
        clock.t += 100;
      }
      expect(throttled).to.equal(0);
      let first = 0;
      for (let i = 0; i < 300 && first === 0; i++) {
        first = m.recordProduce(q, 120_000);
        clock.t += 100;
      }
      expect(first).to.be.greaterThan(0);
    });
  });

  describe('entity precedence (the most specific entity holding the key wins)', () => {
    const levels: [QuotaEntityPart[], number][] = [
      [[user('alice'), client('app')], 1],
      [[user('alice'), client(null)], 2],
      [[user('alice')], 3],
      [[user(null), client('app')], 4],
      [[user(null), client(null)], 5],
      [[user(null)], 6],
      [[client('app')], 7],
      [[client(null)], 8],
    ];

    it('walks (user, client-id) → (user, default) → user → (default, client-id) → (default, default) → default user → client-id → default client-id', () => {
      for (let from = 0; from < levels.length; from++) {
        const { m } = setup(levels.slice(from).map(([e, v]) => entry(e, { producer_byte_rate: v })));
        const s = m.client('alice', 'app')!.producer_byte_rate!;
        expect(s.bound, `with levels ${from + 1}.. configured`).to.equal(from + 1);
        expect(s.source).to.equal(entityString(levels[from]![0]));
      }
    });

    it('resolves each key on its own: a specific entity without the key does not hide a general one with it', () => {
      const { m } = setup([
        entry([user('alice'), client('app')], { producer_byte_rate: 10 }),
        entry([client(null)], { consumer_byte_rate: 20, request_percentage: 5 }),
      ]);
      const q = m.client('alice', 'app')!;
      expect(q.producer_byte_rate!.bound).to.equal(10);
      expect(q.consumer_byte_rate!.bound).to.equal(20);
      expect(q.request_percentage!.bound).to.equal(5);
      expect(q.controller_mutation_rate).to.equal(null);
      expect(m.client('bob', 'other')!.producer_byte_rate).to.equal(null);
    });

    it('a default entity gives every instance its own budget; a named one is shared by its connections', () => {
      const { m } = setup([entry([client(null)], { producer_byte_rate: 100 }), entry([user('bob')], { producer_byte_rate: 100 })]);
      expect(m.recordProduce(m.client('ANONYMOUS', 'a')!, 1000)).to.equal(0);
      expect(m.recordProduce(m.client('ANONYMOUS', 'b')!, 1000)).to.equal(0);
      // bob's two client ids share user bob's quota
      expect(m.recordProduce(m.client('bob', 'x')!, 1000)).to.equal(0);
      expect(m.recordProduce(m.client('bob', 'y')!, 1000)).to.equal(10_000);
    });

    it('names are exact (no prefix match), and a name spelled "<default>" is not the default', () => {
      const { m } = setup([entry([client('<default>')], { producer_byte_rate: 1 }), entry([user('al')], { producer_byte_rate: 2 })]);
      expect(m.client('alice', 'x')).to.equal(null);
      expect(m.client('al', '<default>')!.producer_byte_rate!.bound).to.equal(2);
      expect(m.client('ANONYMOUS', '<default>')!.producer_byte_rate!.bound).to.equal(1);
    });
  });

  describe('consumer_byte_rate', () => {
    it('caps a fetch to what the window allows and takes back a throttled fetch\'s bytes', () => {
      const { m } = setup([entry([client('c')], { consumer_byte_rate: 1000 })]);
      const q = m.client('ANONYMOUS', 'c')!;
      expect(m.maxFetchBytes(q)).to.equal(10_000);
      expect(m.maxFetchBytes(null)).to.equal(Infinity);
      expect(m.recordFetch(q, 10_000)).to.equal(0);
      expect(m.recordFetch(q, 10_000)).to.equal(10_000);
      m.unrecordFetch(q, 10_000);
      expect(m.observed(q.consumer_byte_rate!)).to.equal(1000);
    });
  });

  describe('request_percentage', () => {
    it('is event-loop ms as percent of one core per window, its throttle bounded by one window', () => {
      const { m } = setup([entry([client('r')], { request_percentage: 10 })]);
      const q = m.client('ANONYMOUS', 'r')!;
      // 500 ms of loop time over 10 s = 5 %
      expect(m.recordRequestTime(q, 500)).to.equal(0);
      expect(m.observed(q.request_percentage!)).to.equal(5);
      // 1100 ms: 11 % → (11 − 10) / 10 × 10 000 = 1000 ms
      expect(m.recordRequestTime(q, 600)).to.equal(1000);
      // far over: still one window at most
      expect(m.recordRequestTime(q, 5000)).to.equal(1000);
    });
  });

  describe('controller_mutation_rate (token bucket)', () => {
    it('TokenBucket: starts full, refills at the rate, throttles until back at zero', () => {
      const b = new TokenBucket(2, 22, 0);
      expect(b.measure(0)).to.equal(22);
      b.record(30, 0);
      expect(b.measure(0)).to.equal(-8);
      expect(b.throttleMs(0)).to.equal(4000);
      expect(b.measure(1000)).to.equal(-6);
      expect(b.measure(100_000)).to.equal(22);
    });

    it('strict: accepts while the bucket is not negative, then refuses with the time to zero', () => {
      const { m, clock } = setup([entry([client('admin')], { controller_mutation_rate: 1 })]);
      const q = m.client('ANONYMOUS', 'admin')!;
      const quota = m.mutation(q, true);
      expect(quota.tryRecord(11)).to.equal(true); // the burst: 11 windows × 1 s × 1/s
      expect(quota.throttleMs()).to.equal(0); // strict: no throttle while accepted
      expect(quota.tryRecord(5)).to.equal(true); // the bucket was at 0, not below: accepted, now −5
      expect(quota.tryRecord(1)).to.equal(false);
      expect(quota.throttleMs()).to.equal(5000);
      // the observed rate (status, metrics): the 16 partitions accepted over the 10 s minimum
      expect(m.observed(q.controller_mutation_rate!)).to.equal(1.6);
      clock.t += 5000;
      expect(m.mutation(q, true).tryRecord(1)).to.equal(true);
    });

    it('permissive: accepts everything and throttles once the bucket is negative', () => {
      const { m } = setup([entry([client('admin')], { controller_mutation_rate: 2 })]);
      const quota = m.mutation(m.client('ANONYMOUS', 'admin'), false);
      expect(quota.tryRecord(22)).to.equal(true);
      expect(quota.throttleMs()).to.equal(0);
      expect(quota.tryRecord(6)).to.equal(true);
      expect(quota.throttleMs()).to.equal(3000);
    });

    it('without a quota: unbounded', () => {
      const { m } = setup();
      const quota = m.mutation(null, true);
      expect(quota.tryRecord(1e9)).to.equal(true);
      expect(quota.throttleMs()).to.equal(0);
    });
  });

  describe('connection_creation_rate', () => {
    it('per ip, the ip before the default ip; other ips are not counted', () => {
      const { m } = setup([
        entry([{ type: 'ip', name: '10.0.0.1' }], { connection_creation_rate: 2 }),
        entry([{ type: 'ip', name: null }], { connection_creation_rate: 100 }),
      ]);
      let t = 0;
      for (let i = 0; i < 20; i++) t = m.recordConnection('10.0.0.1');
      expect(t).to.equal(0); // 20 over 10 s = 2/s
      // 21 / 10 s = 2.1/s: (0.1 / 2) × 10 000
      expect(m.recordConnection('10.0.0.1')).to.equal(500);
      expect(m.recordConnection('10.0.0.2')).to.equal(0);
    });
  });

  describe('entries, refresh and state', () => {
    it('no quota configured: client() is null and nothing is kept', () => {
      const { m } = setup();
      expect(m.active()).to.equal(false);
      expect(m.client('ANONYMOUS', 'x')).to.equal(null);
      expect(m.recordConnection('1.2.3.4')).to.equal(0);
      expect(m.liveSensors()).to.have.length(0);
      expect(m.status()).to.deep.equal([]);
    });

    it('re-reads the entries once per window: a quota set applies, a quota removed releases (stillLimited false)', () => {
      const clock = { t: 0 };
      let entries: QuotaEntry[] = [];
      const m = new QuotaManager({ entries: () => entries, now: () => clock.t });
      entries = [entry([client('p')], { producer_byte_rate: 100 })];
      expect(m.client('ANONYMOUS', 'p')).to.equal(null); // not re-read yet
      clock.t += 999;
      m.refresh();
      expect(m.active()).to.equal(false);
      clock.t += 1;
      m.refresh();
      const q = m.client('ANONYMOUS', 'p')!;
      expect(m.recordProduce(q, 2000)).to.equal(10_000);
      const sensor = q.producer_byte_rate!;
      expect(m.stillLimited(sensor)).to.equal(true);
      entries = [];
      clock.t += 1000;
      expect(m.stillLimited(sensor)).to.equal(false);
      expect(m.client('ANONYMOUS', 'p')).to.equal(null);
      expect(m.liveSensors()).to.have.length(0);
    });

    it('a changed bound applies to the live sensor', () => {
      const { m, set } = setup([entry([client('p')], { producer_byte_rate: 100 })]);
      const q = m.client('ANONYMOUS', 'p')!;
      expect(m.recordProduce(q, 2000)).to.equal(10_000);
      set([entry([client('p')], { producer_byte_rate: 10_000 })]);
      expect(m.recordProduce(m.client('ANONYMOUS', 'p')!, 1)).to.equal(0);
    });

    it('drops sensors without traffic for the whole span (a client-id flood under a default quota stays bounded)', () => {
      const { m, clock } = setup([entry([client(null)], { producer_byte_rate: 1e9 })]);
      for (let i = 0; i < 1000; i++) m.recordProduce(m.client('ANONYMOUS', `c${i}`)!, 1);
      expect(m.liveSensors()).to.have.length(1000);
      clock.t += 11_000;
      m.refresh();
      expect(m.liveSensors()).to.have.length(0);
      // a cached resolution brings its sensor back on use
      m.recordProduce(m.client('ANONYMOUS', 'c1')!, 1);
      expect(m.liveSensors()).to.have.length(1);
    });

    it('status: one row per configured entity with its limits and the summed live rates', () => {
      const { m } = setup([entry([client(null)], { producer_byte_rate: 1000, consumer_byte_rate: 50 })]);
      m.recordProduce(m.client('ANONYMOUS', 'a')!, 1000);
      m.recordProduce(m.client('ANONYMOUS', 'b')!, 3000);
      expect(m.status()).to.deep.equal([{
        entity: [client(null)], limits: { producer_byte_rate: 1000, consumer_byte_rate: 50 }, rates: { producer_byte_rate: 400, consumer_byte_rate: 0 },
        throttleTimeMs: 0, throttledRequests: 0,
      }]);
    });
  });
  describe('RequestQuota (one request, server side)', () => {
    it('the larger throttle applies when both the bandwidth and the request quota are exceeded, counted once', () => {
      const { m } = setup([entry([client('both')], { producer_byte_rate: 1000, request_percentage: 1 })]);
      const q = m.client('ANONYMOUS', 'both')!;
      const big = new RequestQuota(m, q);
      big.produced(30_000); // (3000 − 1000) / 1000 × 10 s = 20 s
      big.loopMs = 5000; // 50 % against 1 %: bounded by one window, 1 s
      expect(big.finish()).to.deep.include({ throttleMs: 20_000, sensor: q.producer_byte_rate });
      const { m: m2 } = setup([entry([client('both')], { producer_byte_rate: 1000, request_percentage: 1 })]);
      const q2 = m2.client('ANONYMOUS', 'both')!;
      const small = new RequestQuota(m2, q2);
      small.produced(10_100); // 1010 B/s: 100 ms
      small.loopMs = 5000;
      expect(small.finish()).to.deep.include({ throttleMs: 1000, sensor: q2.request_percentage });
      expect(q2.request_percentage!.throttled).to.equal(1);
      expect(q2.producer_byte_rate!.throttled).to.equal(0);
    });

    it('a fetch throttled by its request time alone is answered without data and its bytes unrecorded', () => {
      const { m } = setup([entry([client('c')], { consumer_byte_rate: 1e6, request_percentage: 1 })]);
      const q = m.client('ANONYMOUS', 'c')!;
      const r = new RequestQuota(m, q);
      r.loopMs = 500;
      expect(r.fetched(5000)).to.equal(true);
      expect(m.observed(q.consumer_byte_rate!)).to.equal(0);
      expect(r.finish().throttleMs).to.equal(1000);
      // the request time is recorded once, not again by finish
      expect(m.observed(q.request_percentage!)).to.equal(5);
    });
  });
});
