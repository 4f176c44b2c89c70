import fs from 'node:fs';
import { noReceivers, parseNotifyConfig, type NotifyConfig } from '../notify/receivers';
import { defaultAlertRules, parseAlertRules, rulesForAgent, type AlertRulesConfig } from './rules';

export interface AlertingConfig {
  readonly rules: AlertRulesConfig;
  readonly notify: NotifyConfig;
}

export const defaultAlertingConfig = (): AlertingConfig => ({ rules: defaultAlertRules(), notify: noReceivers() });

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file} (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Reads and validates the rules and receivers files once, at start. Throws
 * `{ variable, message }` so the caller can name the variable; the message
 * names the rule (or receiver) and the field.
 */
export function loadAlertingConfig(
  files: { rulesFile: string | null; receiversFile: string | null },
  agentIds: readonly string[],
): AlertingConfig {
  let rules: AlertRulesConfig;
  try {
    rules = files.rulesFile ? parseAlertRules(readJson(files.rulesFile)) : defaultAlertRules();
    // Overrides can combine into something invalid for one agent (a group's critical below the agent's warning).
    for (const id of agentIds) rulesForAgent(rules, id);
  } catch (err) {
    throw new AlertingConfigError('COLLECTOR_ALERT_RULES_FILE', (err as Error).message);
  }
  let notify: NotifyConfig;
  try {
    notify = files.receiversFile ? parseNotifyConfig(readJson(files.receiversFile)) : noReceivers();
  } catch (err) {
    throw new AlertingConfigError('COLLECTOR_RECEIVERS_FILE', (err as Error).message);
  }
  return Object.freeze({ rules, notify });
}

export class AlertingConfigError extends Error {
  override name = 'AlertingConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}
