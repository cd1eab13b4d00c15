import type { BrokerEndpoint, BrokerRegistration } from './types.js';

/**
 * The endpoint a client should use to reach `broker`: the one advertised for
 * the listener the client came in on (Kafka answers each listener with its own
 * addresses), else the broker's first endpoint.
 */
export function endpointFor(broker: BrokerRegistration, listenerName: string): BrokerEndpoint | undefined {
  return broker.endpoints.find((e) => e.listenerName === listenerName) ?? broker.endpoints[0];
}
