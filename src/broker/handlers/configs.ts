/**
 * Configuration APIs: DescribeConfigs v0-4, AlterConfigs v0-2 and
 * IncrementalAlterConfigs v0-1.
 *
 * DescribeConfigs serves TOPIC resources (every topic setting with its
 * effective value and source: topic override, broker setting or default) and
 * BROKER resources (this broker's id for its effective settings, '' for the
 * cluster-wide dynamic defaults). Only the requested keys are returned (all
 * when the list is null or empty; unknown keys are skipped); synonyms only
 * when include_synonyms is set (v1+), documentation only when
 * include_documentation is set (v3+), the config type from v3, IsDefault in
 * v0. An unknown topic answers UNKNOWN_TOPIC_OR_PARTITION; a broker name
 * that is neither this broker's id nor '' answers INVALID_REQUEST, as Kafka.
 *
 * AlterConfigs replaces a topic's overrides with the given set (a null value
 * leaves that setting at its default); IncrementalAlterConfigs patches them
 * with SET, DELETE, APPEND and SUBTRACT, the last two only for list settings
 * such as cleanup.policy, starting from the topic's effective value. Both
 * honour validate_only and answer INVALID_CONFIG for unknown settings and bad
 * values, listing every problem found, and INVALID_REQUEST for duplicate
 * keys, duplicate resources and null values where a value is needed.
 *
 * Deliberately not done: dynamic broker configs. Altering a BROKER resource
 * (a broker id or the '' cluster default) answers INVALID_REQUEST saying so;
 * broker settings change in server.properties plus a restart. BROKER_LOGGER,
 * CLIENT_METRICS and GROUP resources are not served (INVALID_REQUEST). No ACL
 * checks (there is no authorizer yet) and no alter-config policy; throttle
 * time is always 0.
 */
import {
  describeBrokerConfig,
  describeTopicConfig,
  resolveTopicConfig,
  topicSetting,
  validateTopicConfigs,
  type ConfigEntryDescription,
  type TopicSettingName,
} from '../../config/index.js';
import { invalidTopicNameReason } from '../../controller/topic-name.js';
import type { TopicRecord } from '../../controller/types.js';
import type { Logger } from '../../logging.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type {
  DescribeConfigsRequestDescribeConfigsResource,
  DescribeConfigsResponseDescribeConfigsResourceResult,
  DescribeConfigsResponseDescribeConfigsResult,
} from '../../protocol/messages/describe-configs.js';
import type { IncrementalAlterConfigsRequestAlterableConfig } from '../../protocol/messages/incremental-alter-configs.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

/** Kafka's ConfigResource.Type codes. */
export const ConfigResourceType = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

/** IncrementalAlterConfigs operation codes (Kafka's AlterConfigOp.OpType). */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
const OPERATION_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'] as const;

function resourceTypeName(type: number): string {
  const entry = Object.entries(ConfigResourceType).find(([, code]) => code === type);
  return entry ? entry[0] : `UNKNOWN(${type})`;
}

/** Thrown inside this file to answer one resource with an error. */
class ResourceError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Failure {
  code: number;
  message: string;
}

function failureOf(err: unknown, logger: Logger, action: string): Failure {
  if (err instanceof ResourceError) return { code: err.code, message: err.message };
  if (err instanceof KafkaError) {
    return { code: err.code, message: err.detail };
  }
  logger.error(`${action} failed`, { err: String(err) });
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: `Unexpected error while trying to ${action}; see the broker log.` };
}

function unsupportedType(type: number, action: 'describe' | 'alter'): ResourceError {
  return new ResourceError(
    ErrorCode.INVALID_REQUEST,
    `Unsupported resource type: ${resourceTypeName(type)}. Ganglion can ${action} the configs of TOPIC (2)` +
      (action === 'describe' ? ' and BROKER (4) resources.' : ' resources.'),
  );
}

/** The topic a TOPIC resource names, or the error Kafka answers. */
function topicResource(services: BrokerServices, name: string): TopicRecord {
  const reason = invalidTopicNameReason(name);
  if (reason) throw new ResourceError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason);
  const topic = services.controller.topic(name);
  if (!topic) throw new ResourceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
  return topic;
}

function brokerResourceUnsupported(name: string): ResourceError {
  const which = name === '' ? 'the cluster-wide broker defaults' : `broker ${name}`;
  return new ResourceError(
    ErrorCode.INVALID_REQUEST,
    `Dynamic broker configs are not supported yet: cannot alter the configs of ${which}. ` +
      'Change the setting in server.properties (or with --override) and restart the broker.',
  );
}

function duplicateResources(resources: readonly { resourceType: number; resourceName: string }[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const r of resources) {
    const key = `${r.resourceType}:${r.resourceName}`;
    if (seen.has(key)) twice.add(key);
    seen.add(key);
  }
  return twice;
}

function duplicateKeys(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) twice.add(n);
    seen.add(n);
  }
  return [...twice];
}

/** INVALID_CONFIG with every problem of the would-be overrides, or nothing. */
function checkTopicOverrides(services: BrokerServices, overrides: Readonly<Record<string, string>>): void {
  const issues = validateTopicConfigs(overrides, services.config);
  if (issues.length === 0) return;
  const code = issues.some((i) => i.error === 'INVALID_REQUEST') ? ErrorCode.INVALID_REQUEST : ErrorCode.INVALID_CONFIG;
  throw new ResourceError(code, issues.map((i) => i.message).join('; '));
}

// ---- DescribeConfigs ---------------------------------------------------

export function createDescribeConfigsHandler(services: BrokerServices) {
  const { config, logger } = services;

  function entriesFor(resource: DescribeConfigsRequestDescribeConfigsResource): ConfigEntryDescription[] {
    const keys = resource.configurationKeys;
    const names = keys === null || keys.length === 0 ? null : keys;
    switch (resource.resourceType) {
      case ConfigResourceType.TOPIC:
        return describeTopicConfig(config, topicResource(services, resource.resourceName).configs, { names });
      case ConfigResourceType.BROKER: {
        const name = resource.resourceName;
        if (name === '') return describeBrokerConfig(config, { names, scope: 'cluster-default' });
        if (!/^[+-]?\d+$/.test(name)) {
          throw new ResourceError(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${name}`);
        }
        if (Number(name) !== services.brokerId) {
          throw new ResourceError(
            ErrorCode.INVALID_REQUEST,
            `Unexpected broker id, expected ${services.brokerId} or empty string, but received ${name}`,
          );
        }
        return describeBrokerConfig(config, { names, scope: 'broker' });
      }
      default:
        throw unsupportedType(resource.resourceType, 'describe');
    }
  }

  return defineHandler({
    apiKey: ApiKey.DescribeConfigs,
    minVersion: 0,
    maxVersion: 4,
    handle(request, context) {
      const version = context.apiVersion;
      const includeSynonyms = version >= 1 && (request.includeSynonyms ?? false);
      const includeDocumentation = version >= 3 && (request.includeDocumentation ?? false);

      const toWire = (e: ConfigEntryDescription): DescribeConfigsResponseDescribeConfigsResourceResult => {
        const out: DescribeConfigsResponseDescribeConfigsResourceResult = {
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          isSensitive: e.sensitive,
        };
        if (version === 0) out.isDefault = e.isDefault;
        else {
          out.configSource = e.source;
          out.synonyms = includeSynonyms ? e.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [];
        }
        if (version >= 3) {
          out.configType = e.type;
          out.documentation = includeDocumentation ? e.documentation : null;
        }
        return out;
      };

      const results = request.resources.map((resource): DescribeConfigsResponseDescribeConfigsResult => {
        const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
        try {
          return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: entriesFor(resource).map(toWire) };
        } catch (err) {
          const f = failureOf(err, logger, `describe the configs of ${resourceTypeName(resource.resourceType)} '${resource.resourceName}'`);
          return { ...base, errorCode: f.code, errorMessage: f.message, configs: [] };
        }
      });
      return { throttleTimeMs: 0, results };
    },
  });
}

// ---- AlterConfigs ------------------------------------------------------

export function createAlterConfigsHandler(services: BrokerServices) {
  const { controller, logger } = services;

  async function alterTopic(name: string, configs: readonly { name: string; value: string | null }[], validateOnly: boolean) {
    topicResource(services, name);
    const twice = duplicateKeys(configs.map((c) => c.name));
    if (twice.length > 0) {
      throw new ResourceError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${twice.join(',')}`);
    }
    const next: Record<string, string> = {};
    for (const c of configs) if (c.value !== null) next[c.name] = c.value;
    checkTopicOverrides(services, next);
    await controller.alterTopicConfigs(name, next, false, validateOnly);
    if (!validateOnly) logger.info('replaced topic configs', { topic: name, configs: next });
  }

  return defineHandler({
    apiKey: ApiKey.AlterConfigs,
    minVersion: 0,
    maxVersion: 2,
    async handle(request) {
      const twice = duplicateResources(request.resources);
      const responses = [];
      for (const resource of request.resources) {
        const { resourceType, resourceName } = resource;
        try {
          if (twice.has(`${resourceType}:${resourceName}`)) {
            throw new ResourceError(ErrorCode.INVALID_REQUEST, 'This resource appears more than once in the request; list it once.');
          }
          if (resourceType === ConfigResourceType.TOPIC) await alterTopic(resourceName, resource.configs, request.validateOnly);
          else if (resourceType === ConfigResourceType.BROKER) throw brokerResourceUnsupported(resourceName);
          else throw unsupportedType(resourceType, 'alter');
          responses.push({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType, resourceName });
        } catch (err) {
          const f = failureOf(err, logger, `alter the configs of ${resourceTypeName(resourceType)} '${resourceName}'`);
          responses.push({ errorCode: f.code, errorMessage: f.message, resourceType, resourceName });
        }
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}

// ---- IncrementalAlterConfigs -------------------------------------------

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function createIncrementalAlterConfigsHandler(services: BrokerServices) {
  const { controller, config, logger } = services;

  /** The overrides patch (null = remove the override) these operations make on `topic`. */
  function patchFor(topic: TopicRecord, ops: readonly IncrementalAlterConfigsRequestAlterableConfig[]): Record<string, string | null> {
    const twice = duplicateKeys(ops.map((o) => o.name));
    if (twice.length > 0) {
      throw new ResourceError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${twice.join(',')}`);
    }
    const unknownOps = ops.filter((o) => OPERATION_NAMES[o.configOperation] === undefined);
    if (unknownOps.length > 0) {
      throw new ResourceError(
        ErrorCode.INVALID_REQUEST,
        `Unknown config operation ${unknownOps[0]!.configOperation} for '${unknownOps[0]!.name}': ` +
          'expected 0 (SET), 1 (DELETE), 2 (APPEND) or 3 (SUBTRACT)',
      );
    }
    const nullValues = ops.filter((o) => o.value === null && o.configOperation !== ConfigOperation.DELETE);
    if (nullValues.length > 0) {
      throw new ResourceError(
        ErrorCode.INVALID_REQUEST,
        `Null value not supported for: ${nullValues.map((o) => `${o.name} (${OPERATION_NAMES[o.configOperation]})`).join(', ')}`,
      );
    }
    const unknownNames = ops.filter((o) => topicSetting(o.name) === undefined).map((o) => o.name);
    if (unknownNames.length > 0) {
      throw new ResourceError(
        ErrorCode.INVALID_CONFIG,
        unknownNames.map((n) => `Unknown topic configuration '${n}'`).join('; '),
      );
    }

    let effective: ReturnType<typeof resolveTopicConfig> | undefined;
    const patch: Record<string, string | null> = {};
    for (const op of ops) {
      const name = op.name;
      switch (op.configOperation) {
        case ConfigOperation.SET:
          patch[name] = op.value!;
          break;
        case ConfigOperation.DELETE:
          patch[name] = null;
          break;
        default: {
          const opName = OPERATION_NAMES[op.configOperation]!;
          const def = topicSetting(name)!;
          if (def.type !== 'list') {
            throw new ResourceError(
              ErrorCode.INVALID_CONFIG,
              `Config value ${opName.toLowerCase()} is not allowed for config key: ${name} (only list settings such as cleanup.policy support ${opName})`,
            );
          }
          effective ??= resolveTopicConfig(config, topic.configs);
          const current = splitList(topic.configs[name] ?? effective.text(name as TopicSettingName) ?? '');
          const values = splitList(op.value!);
          const next =
            op.configOperation === ConfigOperation.APPEND
              ? [...current, ...values.filter((v, i) => !current.includes(v) && values.indexOf(v) === i)]
              : current.filter((v) => !values.includes(v));
          patch[name] = next.join(',');
        }
      }
    }
    return patch;
  }

  async function alterTopic(name: string, ops: readonly IncrementalAlterConfigsRequestAlterableConfig[], validateOnly: boolean) {
    const topic = topicResource(services, name);
    const patch = patchFor(topic, ops);
    const merged: Record<string, string> = { ...topic.configs };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    checkTopicOverrides(services, merged);
    await controller.alterTopicConfigs(name, patch, true, validateOnly);
    if (!validateOnly) logger.info('altered topic configs', { topic: name, changes: patch });
  }

  return defineHandler({
    apiKey: ApiKey.IncrementalAlterConfigs,
    minVersion: 0,
    maxVersion: 1,
    async handle(request) {
      const twice = duplicateResources(request.resources);
      const responses = [];
      for (const resource of request.resources) {
        const { resourceType, resourceName } = resource;
        try {
          if (twice.has(`${resourceType}:${resourceName}`)) {
            throw new ResourceError(ErrorCode.INVALID_REQUEST, 'This resource appears more than once in the request; list it once.');
          }
          if (resourceType === ConfigResourceType.TOPIC) await alterTopic(resourceName, resource.configs, request.validateOnly);
          else if (resourceType === ConfigResourceType.BROKER) throw brokerResourceUnsupported(resourceName);
          else throw unsupportedType(resourceType, 'alter');
          responses.push({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType, resourceName });
        } catch (err) {
          const f = failureOf(err, logger, `alter the configs of ${resourceTypeName(resourceType)} '${resourceName}'`);
          responses.push({ errorCode: f.code, errorMessage: f.message, resourceType, resourceName });
        }
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}
