import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findBinary, titleFor } from '../helpers/prometheus.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const RULES = root('ops/prometheus/alerts.yml');
const RULE_TESTS = root('ops/prometheus/alerts.test.yml');

interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap((group) => group.rules);
const ruleTests = (parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: RuleTest[] }).tests;
/** GitHub's anchor of a markdown heading. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
const operationsAnchors = new Set(
  readFileSync(root('docs/OPERATIONS.md'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .map((line) => anchor(line.replace(/^#+/, ''))),
);

describe('ops/prometheus/alerts.yml', () => {
  it('has the alerts operators asked for, each with a summary and a runbook section in docs/OPERATIONS.md', () => {
    expect(rules.map((rule) => rule.alert)).toEqual([
      'ConfidantHigh5xxRatio',
      'ConfidantUnauthorizedBurst',
      'ConfidantRateLimitedBurst',
      'ConfidantFailedLoginsHigh',
      'ConfidantFailedLoginsFromOneAddress',
      'ConfidantTokenReuseDetected',
      'ConfidantNotReady',
      'ConfidantAuditSealingLag',
      'ConfidantEventLoopLag',
    ]);
    for (const rule of rules) {
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.runbook_url, rule.alert).toBe(`docs/OPERATIONS.md#${rule.alert.toLowerCase()}`);
      expect(operationsAnchors, `a "### ${rule.alert}" section in docs/OPERATIONS.md`).toContain(rule.alert.toLowerCase());
    }
  });

  it('has a promtool case that fires and one that stays quiet for every alert', () => {
    for (const rule of rules) {
      const cases = ruleTests.flatMap((test) => test.alert_rule_test).filter((test) => test.alertname === rule.alert);
      expect(cases.some((test) => test.exp_alerts.length > 0), `${rule.alert} fires somewhere`).toBe(true);
      expect(cases.some((test) => test.exp_alerts.length === 0), `${rule.alert} stays quiet somewhere`).toBe(true);
    }
  });
});

const promtool = findBinary('promtool');

describe.skipIf(!promtool)(titleFor('promtool', promtool, 'promtool'), () => {
  it('accepts the rules (promtool check rules)', () => {
    const result = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS: 9 rules found');
    expect(result.status).toBe(0);
  });

  it('passes every rule unit test (promtool test rules)', () => {
    const result = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    expect(result.stdout + result.stderr, result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});
