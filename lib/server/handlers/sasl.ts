/**
 * SaslHandshake (17) and SaslAuthenticate (36) as dispatch sees them: only where no login is under
 * way — on a listener without SASL, or after a login when re-authentication is off (the
 * connection's SASL state machine, sasl/authenticator.ts, takes them everywhere else). Kafka's
 * KafkaApis answers both with ILLEGAL_SASL_STATE there, and so does Flotilla; the connection stays.
 */
import { saslAuthenticateApi } from '../../kafka/sasl-authenticate.js';
import { saslHandshakeApi } from '../../kafka/sasl-handshake.js';
import { errorCode } from '../../kafka/errors.js';
import { usesSasl } from '../session.js';
import { handler } from '../handler.js';

export const saslHandshakeHandler = handler(saslHandshakeApi, (ctx) => {
  ctx.errorOf('ILLEGAL_SASL_STATE');
  return Promise.resolve({ errorCode: errorCode('ILLEGAL_SASL_STATE'), mechanisms: [] });
});

export const saslAuthenticateHandler = handler(saslAuthenticateApi, (ctx) => {
  const message = usesSasl(ctx.session.securityProtocol)
    ? 'SaslAuthenticate request received after successful authentication'
    : `SaslAuthenticate on listener ${ctx.session.listener}, which has no SASL`;
  const e = ctx.errorOf('ILLEGAL_SASL_STATE', message);
  return Promise.resolve({ ...e, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 });
});
