/**
 * What API handlers may use. Handlers are functions of a decoded request and
 * these services; they never touch files or sockets themselves.
 */
import type { BrokerConfig } from '../config/index.js';
import type { Controller } from '../controller/types.js';
import type { Logger } from '../logging.js';
import type { LogManager } from '../storage/index.js';
import type { HandlerRegistry } from './handler-registry.js';
import type { ReplicaManager } from './replica-manager.js';

export interface BrokerServices {
  readonly brokerId: number;
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly replicaManager: ReplicaManager;
  readonly logManager: LogManager;
  readonly registry: HandlerRegistry;
  readonly logger: Logger;
}
