// IncrementalAlterConfigs (key 44) golden bytes, built by hand from Apache Kafka's
// IncrementalAlterConfigsRequest.json / Response.json: v0 classic, v1 flexible. Both directions:
// our encoder writes exactly these bytes, our decoder reads them back.
import { expect } from 'chai';
import { encodeRequestFrame, encodeResponseFrame, parseRequest, parseResponse } from '../../lib/kafka/apis.js';
import { incrementalAlterConfigsApi } from '../../lib/kafka/incremental-alter-configs.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');
const framed = (body: Buffer): Buffer => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
};

describe('kafka IncrementalAlterConfigs golden bytes', () => {
  const body = {
    resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }, { name: 'retention.ms', configOperation: 1, value: null }] }],
    validateOnly: false,
  };

  it('v0 request: header v1, int32 arrays, int16 strings', () => {
    const bytes = hex(`002c 0000 00000007 0004 ${str('test')} | 00000001 02 0001 ${str('t')} 00000002`
      + ` 000e ${str('cleanup.policy')} 02 0007 ${str('compact')} | 000c ${str('retention.ms')} 01 ffff | 00`);
    expect(encodeRequestFrame(incrementalAlterConfigsApi, 0, 7, 'test', body)).to.deep.equal(framed(bytes));
    const parsed = parseRequest(bytes);
    if (parsed.kind !== 'request') throw new Error('expected a request');
    expect(parsed.header.apiKey).to.equal(44);
    expect(parsed.body).to.deep.equal(body);
  });

  it('v1 request: header v2, compact arrays and strings, tagged sections', () => {
    const bytes = hex(`002c 0001 00000008 0004 ${str('test')} 00 | 02 02 02 ${str('t')} 03`
      + ` 0f ${str('cleanup.policy')} 02 08 ${str('compact')} 00 | 0d ${str('retention.ms')} 01 00 00 | 00 | 00 00`);
    expect(encodeRequestFrame(incrementalAlterConfigsApi, 1, 8, 'test', body)).to.deep.equal(framed(bytes));
    const parsed = parseRequest(bytes);
    if (parsed.kind !== 'request') throw new Error('expected a request');
    expect(parsed.body).to.deep.equal(body);
  });

  const response = {
    throttleTimeMs: 0,
    responses: [
      { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' },
      { errorCode: 40, errorMessage: 'bad', resourceType: 2, resourceName: 'u' },
    ],
  };

  it('v0 response: header v0', () => {
    const bytes = hex(`00000007 | 00000000 00000002 0000 ffff 02 0001 ${str('t')} | 0028 0003 ${str('bad')} 02 0001 ${str('u')}`);
    expect(encodeResponseFrame(incrementalAlterConfigsApi, 0, 7, response)).to.deep.equal(framed(bytes));
    expect(parseResponse(incrementalAlterConfigsApi, 0, bytes).body).to.deep.equal(response);
  });

  it('v1 response: header v1, compact and tagged', () => {
    const bytes = hex(`00000008 00 | 00000000 03 0000 00 02 02 ${str('t')} 00 | 0028 04 ${str('bad')} 02 02 ${str('u')} 00 | 00`);
    expect(encodeResponseFrame(incrementalAlterConfigsApi, 1, 8, response)).to.deep.equal(framed(bytes));
    expect(parseResponse(incrementalAlterConfigsApi, 1, bytes).body).to.deep.equal(response);
  });
});
