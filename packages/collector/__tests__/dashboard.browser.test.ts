import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { createApp } from '../src/http/createApp';
import { upsertAgents } from '../src/store/agents';
import { insertMetrics, type MetricRow } from '../src/store/metrics';
import { recordPolls, type PollRecord } from '../src/store/polls';
import { insertServiceStatus } from '../src/store/services';
import type { Db } from '../src/store/db';
import { createPgliteTestDb, silentLogger, type TestDb } from '../../../test/testDb';

// Chromium comes from Debian (apt-get install -y chromium), never from a
// Playwright download. In CI a missing browser fails the file; elsewhere the
// file is skipped and says why.
const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = !fs.existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const describeBrowser = chromiumMissing && !inCi ? describe.skip : describe;
if (chromiumMissing && !inCi) {
  console.warn(`[viworks] ${CHROMIUM} not found: dashboard browser tests skipped (apt-get install -y chromium).`);
}

const SCREENSHOT = '/tmp/dashboard.png';
const SCREENSHOT_DARK = '/tmp/dashboard-dark.png';

interface Served {
  server: Server;
  url: string;
}

async function serve(db: Db): Promise<Served> {
  const app = createApp({ db, registry: new Registry(), logger: silentLogger(), version: 'test' });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function unserve(s: Served | undefined): Promise<void> {
  if (!s) return;
  s.server.closeAllConnections();
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
}

const agent = (id: string) => ({ id, baseUrl: `http://10.0.0.${id.length}:8210`, token: null });

const metric = (agentId: string, ts: number, over: Partial<MetricRow> = {}): MetricRow => ({
  agentId,
  ts: new Date(ts).toISOString(),
  cpuUsage: 10,
  memoryUsage: 30,
  diskUsage: 40,
  load1: 0.5,
  load5: 0.4,
  load15: 0.3,
  uptimeSeconds: 86_400,
  temperature: null,
  ...over,
});

const poll = (agentId: string, startedAt: number, over: Partial<PollRecord> = {}): PollRecord => ({
  agentId,
  tier: 'metrics',
  startedAt: new Date(startedAt),
  durationMs: 12,
  ok: true,
  errorCode: null,
  errorMessage: null,
  hostname: `${agentId}.example`,
  ...over,
});

const HOSTILE_HOSTNAME = '<img src=x onerror="globalThis.__xss=1">evil';
const WEB1_POINTS = 120;

/**
 * A small fleet, written through the store as the poller would:
 * web-1 online at 97 % CPU (critical) with disk at 88 % (warning);
 * db-1 online with memory at 90 % (warning) and load 6.5 (critical);
 * edge-1 whose last poll failed; old-1 last seen ten minutes ago;
 * evil-1 whose hostname is markup.
 */
async function seedFleet(db: Db, now: number): Promise<void> {
  await upsertAgents(db, ['web-1', 'db-1', 'edge-1', 'old-1', 'evil-1'].map(agent));

  const web: MetricRow[] = [];
  for (let i = 0; i < WEB1_POINTS; i += 1) {
    const ts = now - 10_000 - (WEB1_POINTS - 1 - i) * 30_000;
    const last = i === WEB1_POINTS - 1;
    web.push(
      metric('web-1', ts, {
        cpuUsage: last ? 97 : 20 + (60 * i) / WEB1_POINTS,
        memoryUsage: last ? 55.5 : 50 + 5 * Math.sin(i / 8),
        diskUsage: 88,
        load1: last ? 1.25 : 0.5 + (i % 10) / 10,
      }),
    );
  }
  const dbHost: MetricRow[] = [];
  for (let i = 0; i < 20; i += 1) {
    const last = i === 19;
    dbHost.push(metric('db-1', now - 20_000 - (19 - i) * 30_000, { cpuUsage: 42, memoryUsage: last ? 90 : 80, load1: last ? 6.5 : 3 }));
  }
  await insertMetrics(db, [
    ...web,
    ...dbHost,
    metric('edge-1', now - 20 * 60_000),
    metric('old-1', now - 10 * 60_000, { cpuUsage: 5 }),
  ]);

  await recordPolls(db, [
    poll('web-1', now - 5_000),
    poll('db-1', now - 8_000),
    poll('edge-1', now - 20 * 60_000),
    poll('old-1', now - 10 * 60_000),
    poll('evil-1', now - 3_000, { tier: 'inventory', hostname: HOSTILE_HOSTNAME }),
  ]);
  // One statement per batch updates an agent once, so edge-1's failure is its own batch.
  await recordPolls(db, [
    poll('edge-1', now - 15_000, {
      ok: false,
      errorCode: 'agent_unreachable',
      errorMessage: 'connect ECONNREFUSED 10.0.0.9:8210',
      hostname: null,
    }),
  ]);

  // Alert states as the evaluator leaves them (raw rows: the dashboard only reads them).
  const alertRow = (key: string, agentId: string, subject: string, status: string, severity: string, value: number, activeAgoMs: number, firing: boolean) =>
    db.query(
      `INSERT INTO alert_states (alert_key, rule, agent_id, subject, status, severity, flapping, escalated, value, detail,
                                 active_at, firing_at, incident_id, machine, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, false, false, $7, $8, $9, $10, NULL, '{}'::jsonb, $11)`,
      [key, key.split('/')[0], agentId, subject, status, severity, value, `${subject} at ${value}`,
        new Date(now - activeAgoMs).toISOString(), firing ? new Date(now - activeAgoMs + 60_000).toISOString() : null, new Date(now).toISOString()],
    );
  await alertRow('cpu_usage/web-1', 'web-1', 'cpu_usage', 'firing', 'critical', 97, 5 * 60_000, true);
  await alertRow('memory_usage/db-1', 'db-1', 'memory_usage', 'pending', 'warning', 90, 30_000, false);
  await alertRow('hostname/evil-1', 'evil-1', HOSTILE_HOSTNAME, 'firing', 'warning', 1, 3 * 60_000, true);
  await alertRow('disk_usage/old-1', 'old-1', 'disk_usage', 'inactive', 'warning', 10, 60 * 60_000, false);

  await insertServiceStatus(db, [
    { agentId: 'web-1', ts: new Date(now - 60_000).toISOString(), name: 'nginx', status: 'running', pid: 1234, cpuPercent: 2.5, memoryBytes: 50 * 1024 * 1024 },
    { agentId: 'web-1', ts: new Date(now - 60_000).toISOString(), name: 'postgresql', status: 'stopped', pid: null, cpuPercent: null, memoryBytes: null },
    { agentId: 'web-1', ts: new Date(now - 60_000).toISOString(), name: 'backup', status: 'error', pid: null, cpuPercent: 0, memoryBytes: 0 },
  ]);
}

describeBrowser(`dashboard in Chromium${chromiumMissing ? ` (skipped: ${CHROMIUM} missing)` : ''}`, () => {
  let browser: Browser;
  let fleetDb: TestDb;
  let emptyDb: TestDb;
  let brokenDb: TestDb;
  let fleet: Served;
  let empty: Served;
  let broken: Served;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (chromiumMissing) throw new Error(`CI=true but ${CHROMIUM} is missing: apt-get install -y chromium`);
    [fleetDb, emptyDb, brokenDb] = await Promise.all([createPgliteTestDb(), createPgliteTestDb(), createPgliteTestDb()]);
    await seedFleet(fleetDb.db, Date.now());
    // A real API failure, not a mocked one: every query on a closed store throws, so the API answers 500.
    await brokenDb.drop();
    [fleet, empty, broken] = await Promise.all([serve(fleetDb.db), serve(emptyDb.db), serve(brokenDb.db)]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await browser?.close();
    await Promise.all([unserve(fleet), unserve(empty), unserve(broken)]);
    await Promise.all([fleetDb?.drop(), emptyDb?.drop()]);
  });

  /**
   * A fresh page that records script errors and every request it makes, so
   * a test can assert the page stayed on the collector and threw nothing.
   */
  async function openPage(base: string, opts: { colorScheme?: 'light' | 'dark'; fakeClock?: boolean } = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: opts.colorScheme ?? 'light' });
    contexts.push(context);
    // Fail a wait well inside jest's 30 s so the message names the locator.
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('request', (r) => requests.push(r.url()));
    if (opts.fakeClock) await page.clock.install();
    await page.goto(base);
    await page.locator('#refresh-status').filter({ hasText: /Updated|failed/ }).waitFor();
    return { page, errors, requests };
  }

  const card = (page: Page, id: string) => page.locator(`#fleet-list > li[data-agent-id="${id}"]`);
  const metricOf = (page: Page, id: string, key: string) => card(page, id).locator(`.metric[data-metric="${key}"]`);

  test('the fleet overview shows each agent with its latest values, status and threshold colours', async () => {
    const { page, errors, requests } = await openPage(fleet.url);

    await expectIds(page, ['db-1', 'edge-1', 'evil-1', 'old-1', 'web-1']);
    expect(await page.locator('#fleet-summary').textContent()).toBe('5 agents · 3 online · 1 stale · 1 offline · 2 critical');

    const web = card(page, 'web-1');
    expect(await web.locator('.hostname').textContent()).toBe('web-1.example');
    expect(await web.getAttribute('data-status')).toBe('online');
    expect(await web.locator('.status-badge').textContent()).toBe('Online');
    expect(await web.getAttribute('class')).toContain('worst-crit');
    expect(await metricValues(page, 'web-1')).toEqual({
      cpu: ['97.0 %', 'level-crit'],
      memory: ['55.5 %', 'level-ok'],
      disk: ['88.0 %', 'level-warn'],
      load: ['1.25', 'level-ok'],
    });
    expect(await metricOf(page, 'web-1', 'cpu').locator('.level-word').textContent()).toBe('critical');
    expect(await web.locator('.last-seen time').textContent()).toMatch(/^(just now|\d+ s ago)$/);

    expect(await metricValues(page, 'db-1')).toEqual({
      cpu: ['42.0 %', 'level-ok'],
      memory: ['90.0 %', 'level-warn'],
      disk: ['40.0 %', 'level-ok'],
      load: ['6.50', 'level-crit'],
    });

    const edge = card(page, 'edge-1');
    expect(await edge.getAttribute('data-status')).toBe('offline');
    expect(await edge.locator('.status-badge').textContent()).toBe('Offline');
    expect(await edge.locator('.status-detail').textContent()).toBe('agent_unreachable: connect ECONNREFUSED 10.0.0.9:8210');
    expect(await edge.locator('.last-seen time').textContent()).toBe('20 min ago');

    const old = card(page, 'old-1');
    expect(await old.getAttribute('data-status')).toBe('stale');
    expect(await old.locator('.status-detail').textContent()).toBe('No successful poll since 10 min ago.');

    // Markup from the API stays text.
    const evil = card(page, 'evil-1');
    expect(await evil.locator('.hostname').textContent()).toBe(HOSTILE_HOSTNAME);
    expect(await evil.locator('img').count()).toBe(0);
    expect(await evil.locator('.no-metrics').textContent()).toBe('No metrics yet.');
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();

    const status = page.locator('#refresh-status');
    expect(await status.getAttribute('aria-live')).toBe('polite');
    expect(await status.textContent()).toMatch(/^Updated .+ · refreshes every 10 s$/);
    expect(await page.locator('#error-banner').isHidden()).toBe(true);
    expect(await page.locator('#fleet-empty').isHidden()).toBe(true);
    expect(await page.locator('h1').textContent()).toBe('ViWorks Monitor');

    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith(fleet.url))).toEqual([]);
  });

  test('active alerts are listed most severe first, link to their agent, and keep markup as text', async () => {
    const { page, errors } = await openPage(fleet.url);
    const items = page.locator('#alerts-list > li');
    // The inactive one (old-1) is not shown.
    expect(await items.evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-alert-key'), li.getAttribute('data-state')]))).toEqual([
      ['cpu_usage/web-1', 'firing'],
      ['memory_usage/db-1', 'pending'],
      ['hostname/evil-1', 'firing'],
    ]);
    expect(await page.locator('#alerts-summary').textContent()).toBe('2 firing · 1 critical · 1 pending or other');
    const web = items.nth(0);
    expect(await web.getAttribute('class')).toContain('level-crit');
    expect(await web.locator('.alert-severity').textContent()).toBe('critical');
    expect(await web.locator('.alert-subject').textContent()).toBe('cpu_usage = 97');
    expect(await web.locator('.alert-state').textContent()).toMatch(/^firing since [45] min ago$/);
    expect(await items.nth(1).locator('.alert-state').textContent()).toMatch(/^pending since \d+ s ago$/);
    expect(await items.nth(2).locator('.alert-subject').textContent()).toBe(`${HOSTILE_HOSTNAME} = 1`);
    expect(await page.locator('#alerts-list img').count()).toBe(0);
    expect(await page.locator('#alerts-empty').isHidden()).toBe(true);

    await web.locator('button.alert-agent').click();
    await page.locator('#detail path.series-cpu').waitFor();
    expect(await page.locator('#detail-heading').textContent()).toBe('web-1');
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  test('clicking an agent shows its last-hour chart and its services', async () => {
    const { page, errors, requests } = await openPage(fleet.url);
    expect(await page.locator('#detail').isHidden()).toBe(true);

    // The whole card is the target (the name's button covers it), not only the name.
    await card(page, 'web-1').click({ position: { x: 200, y: 120 } });
    const detail = page.locator('#detail');
    await detail.locator('path.series-cpu').waitFor();
    await detail.locator('.services-table').waitFor();

    expect(await detail.locator('#detail-heading').textContent()).toBe('web-1');
    expect(await card(page, 'web-1').locator('.agent-open').getAttribute('aria-expanded')).toBe('true');
    expect(new URL(page.url()).hash).toBe('#agent=web-1');

    // One unbroken line per series through every sample of the last hour.
    for (const series of ['cpu', 'memory', 'load']) {
      const d = (await detail.locator(`path.series-${series}`).getAttribute('d')) ?? '';
      const points = parsePath(d);
      expect(points).toHaveLength(WEB1_POINTS);
      expect(d.match(/M/g)).toHaveLength(1);
      expect(points.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))).toBe(true);
      // Time runs left to right.
      expect(points.every(([x], i) => i === 0 || x > points[i - 1]![0])).toBe(true);
    }
    // CPU ramps up to 97 %: its last point sits higher (smaller y) than its first.
    const cpu = parsePath((await detail.locator('path.series-cpu').getAttribute('d')) ?? '');
    expect(cpu.at(-1)![1]).toBeLessThan(cpu[0]![1]);
    const svg = detail.locator('svg.chart-svg');
    expect(await svg.getAttribute('role')).toBe('img');
    expect(await svg.locator('desc').textContent()).toContain(`${WEB1_POINTS} samples`);
    expect(await detail.locator('#chart-legend').textContent()).toContain('CPU: 97.0 %');

    const rows = detail.locator('.services-table tbody tr');
    expect(await rows.count()).toBe(3);
    const services = await rows.evaluateAll((trs) =>
      trs.map((tr) => {
        const cells = Array.from((tr as unknown as { children: ArrayLike<{ textContent: string | null }> }).children, (c) => c.textContent);
        const badge = (tr as unknown as { querySelector(s: string): { className: string } | null }).querySelector('.badge');
        return [...cells, badge?.className];
      }),
    );
    expect(services).toEqual([
      ['backup', 'error', '—', '0.0', '0 B', 'badge service-error'],
      ['nginx', 'running', '1234', '2.5', '50.0 MiB', 'badge service-running'],
      ['postgresql', 'stopped', '—', '—', '—', 'badge service-stopped'],
    ]);
    expect(await detail.locator('.services-table thead th').allTextContents()).toEqual(['Service', 'Status', 'PID', 'CPU %', 'Memory']);
    expect(await detail.locator('.services-table caption').textContent()).toMatch(/^3 services: 1 running, 1 stopped, 1 error · checked 1 min ago$/);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Escape closes the panel and gives focus back to the card.
    await page.keyboard.press('Escape');
    expect(await detail.isHidden()).toBe(true);
    expect(await card(page, 'web-1').locator('.agent-open').evaluate((b) => b === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)).toBe(true);

    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith(fleet.url))).toEqual([]);
  });

  test('a link to an agent opens its panel, in the dark colour scheme too', async () => {
    const { page, errors } = await openPage(`${fleet.url}#agent=db-1`, { colorScheme: 'dark' });
    const detail = page.locator('#detail');
    await detail.locator('path.series-load').waitFor();
    expect(await detail.locator('#detail-heading').textContent()).toBe('db-1');
    expect(await detail.locator('.empty-services').textContent()).toBe('No services reported by this agent yet.');
    // The page follows prefers-color-scheme: a dark background, not the light one.
    const bg = await page.evaluate(() => {
      const g = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } };
      return g.getComputedStyle(g.document.body).backgroundColor;
    });
    expect(bg).toBe('rgb(15, 20, 27)');
    await page.screenshot({ path: SCREENSHOT_DARK, fullPage: true });
    expect(errors).toEqual([]);
  });

  test('the page refreshes itself every 10 s', async () => {
    const { page, errors } = await openPage(fleet.url, { fakeClock: true });
    expect(await metricOf(page, 'db-1', 'cpu').locator('.metric-value').textContent()).toBe('42.0 %');

    await insertMetrics(fleetDb.db, [metric('db-1', Date.now(), { cpuUsage: 99, memoryUsage: 90, load1: 6.5 })]);
    await page.clock.runFor(9_000);
    // Not yet: nothing is fetched before the 10 s are up.
    expect(await metricOf(page, 'db-1', 'cpu').locator('.metric-value').textContent()).toBe('42.0 %');
    await page.clock.runFor(1_500);
    await metricOf(page, 'db-1', 'cpu').locator('.metric-value').filter({ hasText: '99.0 %' }).waitFor({ timeout: 5_000 });
    expect(await metricOf(page, 'db-1', 'cpu').getAttribute('class')).toContain('level-crit');
    expect(errors).toEqual([]);
  });

  test('an empty fleet shows the empty state', async () => {
    const { page, errors } = await openPage(empty.url);
    const emptyState = page.locator('#fleet-empty');
    expect(await emptyState.isVisible()).toBe(true);
    expect(await emptyState.locator('h3').textContent()).toBe('No agents registered');
    expect(await emptyState.textContent()).toContain('COLLECTOR_AGENTS');
    expect(await page.locator('#fleet-list').isHidden()).toBe(true);
    expect(await page.locator('#fleet-summary').textContent()).toBe('0 agents');
    expect(await page.locator('#alerts-empty').textContent()).toBe('No alerts: every rule is quiet.');
    expect(await page.locator('#alerts-empty').isVisible()).toBe(true);
    expect(await page.locator('#error-banner').isHidden()).toBe(true);
    await page.screenshot({ path: '/tmp/dashboard-empty.png' });
    expect(errors).toEqual([]);
  });

  test('an API failure shows an error banner', async () => {
    const { page } = await openPage(broken.url);
    const banner = page.locator('#error-banner');
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.getAttribute('role')).toBe('alert');
    expect(await banner.textContent()).toBe(
      'Could not load data from the collector API. internal error (internal, HTTP 500) No data loaded yet. Retrying every 10 s.',
    );
    expect(await page.locator('#refresh-status').textContent()).toMatch(/^Update failed at .+ · retrying in 10 s$/);
    // Neither "no agents" nor a stale list: the page does not know.
    expect(await page.locator('#fleet-empty').isHidden()).toBe(true);
    expect(await page.locator('#fleet-list > li').count()).toBe(0);
    expect(await page.locator('#alerts-error').textContent()).toBe('Could not load alerts: internal error (internal, HTTP 500)');
    expect(await page.locator('#alerts-empty').isHidden()).toBe(true);
    await page.screenshot({ path: '/tmp/dashboard-error.png' });
  });
});

async function expectIds(page: Page, ids: string[]): Promise<void> {
  expect(await page.locator('#fleet-list > li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-agent-id')))).toEqual(ids);
}

async function metricValues(page: Page, id: string): Promise<Record<string, [string, string]>> {
  const out: Record<string, [string, string]> = {};
  for (const key of ['cpu', 'memory', 'disk', 'load']) {
    const m = page.locator(`#fleet-list > li[data-agent-id="${id}"] .metric[data-metric="${key}"]`);
    const level = ((await m.getAttribute('class')) ?? '').split(/\s+/).find((c) => c.startsWith('level-')) ?? '';
    out[key] = [(await m.locator('.metric-value').textContent()) ?? '', level];
  }
  return out;
}

/** The [x, y] vertices of an SVG path made of M and L commands. */
function parsePath(d: string): Array<[number, number]> {
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}
