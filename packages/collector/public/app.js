// ViWorks Monitor dashboard: plain DOM, no build step, no third-party code.
// Every value from the API reaches the page through textContent or
// setAttribute, never through innerHTML, so a hostile hostname or error
// message stays text.
'use strict';

(() => {
  const REFRESH_MS = 10_000;
  const REQUEST_TIMEOUT_MS = 8_000;
  // The metrics tier polls every 30 s by default: three missed polls make an
  // agent stale. The API does not expose the schedule, so this is a constant.
  const STALE_MS = 90_000;
  // The spec's thresholds, as in @viworks/protocol DEFAULT_THRESHOLDS (>= is a breach).
  const THRESHOLDS = {
    cpu: { warning: 80, critical: 95 },
    memory: { warning: 85, critical: 95 },
    disk: { warning: 85, critical: 95 },
    load: { warning: 2, critical: 5 },
  };
  const LEVEL_WORDS = { ok: 'normal', warn: 'warning', crit: 'critical', none: 'no data' };
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const state = {
    agents: [],
    loaded: false,
    selectedId: null,
    // Server clock minus browser clock, from the Date header, so "last seen"
    // is right even when the viewer's clock is off.
    offsetMs: 0,
    timer: null,
    inFlight: null,
    lastSuccessAt: null,
    detailSeq: 0,
  };

  const $ = (id) => document.getElementById(id);

  /** Builds an element; strings among children become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    applyAttrs(node, attrs);
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  function svgEl(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    applyAttrs(node, attrs);
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  function applyAttrs(node, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
  }

  const serverNow = () => Date.now() + state.offsetMs;

  // ---------------------------------------------------------------- API

  async function fetchJson(path) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    let res;
    try {
      res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store', signal: ctrl.signal });
    } catch (err) {
      throw new Error(err && err.name === 'AbortError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : 'the collector is unreachable');
    } finally {
      clearTimeout(timer);
    }
    const date = Date.parse(res.headers.get('date') || '');
    if (Number.isFinite(date)) state.offsetMs = date - Date.now();
    let body = null;
    try {
      body = await res.json();
    } catch {
      // Not JSON: a proxy's error page, say. The status says enough.
    }
    if (!res.ok) {
      const e = body && body.error;
      const detail = e && typeof e.message === 'string' ? `${e.message} (${e.code}, HTTP ${res.status})` : `HTTP ${res.status}`;
      throw new Error(detail);
    }
    if (body === null) throw new Error('the collector answered with something other than JSON');
    return body;
  }

  const agentPath = (id) => `/api/v1/agents/${encodeURIComponent(id)}`;

  // ---------------------------------------------------------- formatting

  function level(kind, value) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return 'none';
    const t = THRESHOLDS[kind];
    if (value >= t.critical) return 'crit';
    if (value >= t.warning) return 'warn';
    return 'ok';
  }

  const fmtPct = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(1)} %` : '—');
  const fmtLoad = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : '—');

  function fmtBytes(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return i === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
  }

  function relTime(iso) {
    if (!iso) return 'never';
    const ms = serverNow() - Date.parse(iso);
    if (!Number.isFinite(ms)) return 'unknown';
    if (ms < 5_000) return 'just now';
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s ago`;
    const m = Math.round(s / 60);
    if (m < 60) return `${m} min ago`;
    const h = Math.round(m / 60);
    if (h < 48) return `${h} h ago`;
    return `${Math.round(h / 24)} d ago`;
  }

  const fmtClock = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const fmtHm = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const fmtFull = (iso) => (iso ? new Date(iso).toLocaleString() : '');

  function timeEl(iso) {
    return el('time', { datetime: iso || null, title: fmtFull(iso) || null, text: relTime(iso) });
  }

  /** online | stale | offline | pending, with the words to show. */
  function agentStatus(a) {
    if (!a.lastPoll) return { key: 'pending', label: 'Not polled yet', detail: 'The collector has not polled this agent yet.' };
    if (!a.lastPoll.ok) {
      return { key: 'offline', label: 'Offline', detail: a.lastPoll.error || `The last ${a.lastPoll.tier} poll failed.` };
    }
    const seen = a.lastSeenAt ? Date.parse(a.lastSeenAt) : NaN;
    if (!Number.isFinite(seen) || serverNow() - seen > STALE_MS) {
      return { key: 'stale', label: 'Stale', detail: `No successful poll since ${relTime(a.lastSeenAt)}.` };
    }
    return { key: 'online', label: 'Online', detail: null };
  }

  // ---------------------------------------------------------- fleet view

  function metricsOf(a) {
    const l = a.latest;
    return [
      { key: 'cpu', label: 'CPU', value: l ? l.cpuUsage : null, text: fmtPct(l && l.cpuUsage), bar: true },
      { key: 'memory', label: 'Memory', value: l ? l.memoryUsage : null, text: fmtPct(l && l.memoryUsage), bar: true },
      { key: 'disk', label: 'Disk', value: l ? l.diskUsage : null, text: fmtPct(l && l.diskUsage), bar: true },
      { key: 'load', label: 'Load 1m', value: l ? l.loadAverage1m : null, text: fmtLoad(l && l.loadAverage1m), bar: false },
    ].map((m) => ({ ...m, level: level(m.key, m.value) }));
  }

  function worstLevel(levels) {
    if (levels.includes('crit')) return 'crit';
    if (levels.includes('warn')) return 'warn';
    if (levels.includes('ok')) return 'ok';
    return 'none';
  }

  function renderCard(a) {
    const status = agentStatus(a);
    const metrics = metricsOf(a);
    const worst = worstLevel(metrics.map((m) => m.level));
    const selected = a.id === state.selectedId;
    const headingId = `agent-${a.id}-name`;

    const metricList = el(
      'dl',
      { class: 'metrics' },
      metrics.map((m) =>
        el(
          'div',
          { class: `metric level-${m.level}`, dataset: { metric: m.key, level: m.level } },
          el('dt', { text: m.label }),
          el(
            'dd',
            null,
            m.bar ? meterBar(m.value) : null,
            el('span', { class: 'metric-value', text: m.text }),
            m.level === 'warn' || m.level === 'crit' ? el('span', { class: 'level-word', text: LEVEL_WORDS[m.level] }) : null,
          ),
        ),
      ),
    );

    const metricsAge =
      a.latest && serverNow() - Date.parse(a.latest.ts) > STALE_MS
        ? el('p', { class: 'metrics-age muted' }, 'Metrics from ', timeEl(a.latest.ts))
        : null;

    return el(
      'li',
      {
        class: `agent-card status-${status.key} worst-${worst}${selected ? ' is-selected' : ''}`,
        dataset: { agentId: a.id, status: status.key, worst },
      },
      el(
        'article',
        { 'aria-labelledby': headingId },
        el(
          'div',
          { class: 'card-head' },
          el(
            'h3',
            { class: 'agent-name', id: headingId },
            el('button', {
              type: 'button',
              class: 'agent-open',
              'aria-controls': 'detail',
              'aria-expanded': selected ? 'true' : 'false',
              dataset: { agentId: a.id },
              text: a.id,
            }),
          ),
          el('span', { class: `status-badge status-${status.key}`, text: status.label }),
        ),
        el('p', { class: 'hostname', text: a.hostname || 'hostname not reported yet' }),
        status.detail ? el('p', { class: 'status-detail', text: status.detail }) : null,
        a.latest ? metricList : el('p', { class: 'no-metrics muted', text: 'No metrics yet.' }),
        metricsAge,
        el('p', { class: 'last-seen muted' }, 'Last seen ', timeEl(a.lastSeenAt)),
      ),
    );
  }

  function meterBar(value) {
    const bar = el('span', { class: 'meter', 'aria-hidden': 'true' }, el('span', { class: 'meter-fill' }));
    const pct = typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.min(100, value)) : 0;
    bar.firstChild.style.width = `${pct}%`;
    return bar;
  }

  function renderFleet() {
    const list = $('fleet-list');
    const focusedId = document.activeElement && document.activeElement.classList.contains('agent-open') ? document.activeElement.dataset.agentId : null;
    list.replaceChildren(...state.agents.map(renderCard));
    if (focusedId) {
      const again = [...list.querySelectorAll('.agent-open')].find((b) => b.dataset.agentId === focusedId);
      if (again) again.focus();
    }
    const empty = state.loaded && state.agents.length === 0;
    $('fleet-empty').hidden = !empty;
    list.hidden = empty;

    const counts = {};
    let critical = 0;
    for (const a of state.agents) {
      const k = agentStatus(a).key;
      counts[k] = (counts[k] || 0) + 1;
      if (worstLevel(metricsOf(a).map((m) => m.level)) === 'crit') critical += 1;
    }
    const parts = [`${state.agents.length} agent${state.agents.length === 1 ? '' : 's'}`];
    for (const [k, word] of [['online', 'online'], ['stale', 'stale'], ['offline', 'offline'], ['pending', 'not polled yet']]) {
      if (counts[k]) parts.push(`${counts[k]} ${word}`);
    }
    if (critical) parts.push(`${critical} critical`);
    $('fleet-summary').textContent = state.loaded ? parts.join(' · ') : '';
  }

  // ---------------------------------------------------------- detail view

  function selectAgent(id, { focus = false } = {}) {
    state.selectedId = id;
    const hash = id ? `#agent=${encodeURIComponent(id)}` : '';
    if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
    for (const li of $('fleet-list').children) {
      const on = li.dataset.agentId === id;
      li.classList.toggle('is-selected', on);
      const b = li.querySelector('.agent-open');
      if (b) b.setAttribute('aria-expanded', on ? 'true' : 'false');
    }
    const detail = $('detail');
    if (!id) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    $('detail-heading').textContent = id;
    renderDetailMeta();
    $('chart').replaceChildren(el('p', { class: 'muted', text: 'Loading metrics…' }));
    $('chart-legend').replaceChildren();
    $('services').replaceChildren(el('p', { class: 'muted', text: 'Loading services…' }));
    loadDetail();
    if (focus) {
      $('detail-heading').focus({ preventScroll: true });
      detail.scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
  }

  function renderDetailMeta() {
    const a = state.agents.find((x) => x.id === state.selectedId);
    const meta = $('detail-meta');
    if (!a) {
      meta.textContent = state.loaded ? 'This agent is not registered with the collector.' : '';
      return;
    }
    const status = agentStatus(a);
    const parts = [
      el('span', { class: `status-badge status-${status.key}`, text: status.label }),
      ' ',
      el('span', { text: a.hostname || 'hostname not reported yet' }),
      ' · ',
      el('span', { class: 'mono', text: a.baseUrl }),
      ' · last seen ',
      timeEl(a.lastSeenAt),
    ];
    if (status.detail) parts.push(el('span', { class: 'status-detail block', text: status.detail }));
    meta.replaceChildren(...parts);
  }

  async function loadDetail() {
    const id = state.selectedId;
    if (!id) return;
    const seq = ++state.detailSeq;
    const [metrics, services] = await Promise.allSettled([
      // Only what the chart draws (SERIES): a third of the columns to read and send.
      fetchJson(`${agentPath(id)}/metrics?fields=${SERIES.map((s) => s.key).join(',')}`),
      fetchJson(`${agentPath(id)}/services`),
    ]);
    // A newer selection or refresh has started: drop this answer.
    if (seq !== state.detailSeq || id !== state.selectedId) return;
    const errors = [];
    if (metrics.status === 'fulfilled') renderChart(metrics.value);
    else errors.push(`metrics: ${metrics.reason.message}`);
    if (services.status === 'fulfilled') renderServices(services.value);
    else errors.push(`services: ${services.reason.message}`);
    const box = $('detail-error');
    box.hidden = errors.length === 0;
    box.textContent = errors.length ? `Could not load this agent's ${errors.join('; ')}` : '';
  }

  const SERIES = [
    { key: 'cpu_usage', name: 'CPU', cls: 'cpu', axis: 'pct', fmt: fmtPct },
    { key: 'memory_usage', name: 'Memory', cls: 'memory', axis: 'pct', fmt: fmtPct },
    { key: 'load_average_1m', name: 'Load 1m', cls: 'load', axis: 'load', fmt: fmtLoad },
  ];

  /** The smallest "round" axis top at or above v, so load ticks read well. */
  function niceMax(v) {
    const steps = [1, 2, 4, 5, 8, 10, 20, 40, 50, 80, 100, 200, 400, 500, 1000];
    return steps.find((s) => s >= v) || Math.ceil(v / 1000) * 1000;
  }

  function renderChart(data) {
    const box = $('chart');
    const legend = $('chart-legend');
    // The API returns every bucket of the range; empty ones (samples 0) are gaps, not points.
    const points = (data.points || []).filter((p) => Number.isFinite(Date.parse(p.ts)) && p.samples !== 0);
    const from = Date.parse(data.from);
    const to = Date.parse(data.to);
    if (points.length === 0) {
      box.replaceChildren(el('p', { class: 'empty-chart muted', text: 'No metrics in the last hour.' }));
      legend.replaceChildren();
      return;
    }

    const W = 720;
    const H = 260;
    const m = { top: 12, right: 48, bottom: 28, left: 44 };
    const iw = W - m.left - m.right;
    const ih = H - m.top - m.bottom;
    const loadTop = niceMax(Math.max(1, ...points.map((p) => p.load_average_1m || 0)) * 1.05);
    const x = (t) => m.left + ((t - from) / (to - from)) * iw;
    const yPct = (v) => m.top + ih - (Math.max(0, Math.min(100, v)) / 100) * ih;
    const yLoad = (v) => m.top + ih - (Math.max(0, Math.min(loadTop, v)) / loadTop) * ih;
    const yOf = (s) => (s.axis === 'pct' ? yPct : yLoad);

    // A gap in sampling (agent down, collector stopped) breaks the line
    // rather than drawing a straight bridge across it.
    const times = points.map((p) => Date.parse(p.ts));
    const deltas = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
    const median = deltas.length ? deltas[Math.floor(deltas.length / 2)] : 0;
    const gapMs = Math.max(median * 3, 90_000);

    const titleId = `chart-title-${state.detailSeq}`;
    const descId = `chart-desc-${state.detailSeq}`;
    const summary = SERIES.map((s) => {
      const vals = points.map((p) => p[s.key]).filter((v) => typeof v === 'number');
      if (vals.length === 0) return `${s.name}: no data`;
      return `${s.name} from ${s.fmt(Math.min(...vals))} to ${s.fmt(Math.max(...vals))}, latest ${s.fmt(vals[vals.length - 1])}`;
    }).join('; ');

    const svg = svgEl('svg', {
      viewBox: `0 0 ${W} ${H}`,
      class: 'chart-svg',
      role: 'img',
      'aria-labelledby': `${titleId} ${descId}`,
    });
    svg.append(
      svgEl('title', { id: titleId }, `CPU, memory and load on ${data.agent_id}, last hour`),
      svgEl('desc', { id: descId }, `${points.length} samples from ${fmtHm(new Date(from))} to ${fmtHm(new Date(to))}. ${summary}.`),
    );

    const grid = svgEl('g', { class: 'grid', 'aria-hidden': 'true' });
    for (const pct of [0, 25, 50, 75, 100]) {
      const y = yPct(pct);
      grid.append(
        svgEl('line', { x1: m.left, x2: W - m.right, y1: y, y2: y }),
        svgEl('text', { x: m.left - 6, y: y + 4, class: 'axis-label', 'text-anchor': 'end' }, `${pct}%`),
        svgEl('text', { x: W - m.right + 6, y: y + 4, class: 'axis-label axis-load', 'text-anchor': 'start' }, String(+((loadTop * pct) / 100).toFixed(2))),
      );
    }
    const quarter = 15 * 60_000;
    for (let t = Math.ceil(from / quarter) * quarter; t <= to; t += quarter) {
      const xx = x(t);
      grid.append(
        svgEl('line', { x1: xx, x2: xx, y1: m.top, y2: m.top + ih, class: 'vgrid' }),
        svgEl('text', { x: xx, y: H - 8, class: 'axis-label', 'text-anchor': 'middle' }, fmtHm(new Date(t))),
      );
    }
    svg.append(grid);

    for (const s of SERIES) {
      const y = yOf(s);
      let d = '';
      let prev = null;
      points.forEach((p, i) => {
        const v = p[s.key];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          prev = null;
          return;
        }
        const cmd = prev === null || times[i] - prev > gapMs ? 'M' : 'L';
        d += `${cmd}${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`;
        prev = times[i];
      });
      svg.append(svgEl('path', { d, class: `series series-${s.cls}`, dataset: { points: String(points.length) } }));
      const last = points[points.length - 1];
      if (typeof last[s.key] === 'number') {
        svg.append(svgEl('circle', { cx: x(times[times.length - 1]), cy: y(last[s.key]), r: 3, class: `dot dot-${s.cls}` }));
      }
    }

    // Hover read-out: a vertical rule and the nearest sample's values.
    const rule = svgEl('line', { class: 'hover-rule', y1: m.top, y2: m.top + ih, x1: -10, x2: -10, 'aria-hidden': 'true' });
    svg.append(rule);
    const readout = el('p', { class: 'chart-readout muted', 'aria-hidden': 'true', text: 'Hover the chart for values.' });
    svg.addEventListener('pointermove', (ev) => {
      const r = svg.getBoundingClientRect();
      const t = from + (((ev.clientX - r.left) / r.width) * W - m.left) / iw * (to - from);
      let best = 0;
      for (let i = 1; i < times.length; i += 1) if (Math.abs(times[i] - t) < Math.abs(times[best] - t)) best = i;
      const p = points[best];
      const xx = x(times[best]);
      rule.setAttribute('x1', xx);
      rule.setAttribute('x2', xx);
      readout.textContent = `${fmtClock(new Date(times[best]))} — ${SERIES.map((s) => `${s.name} ${s.fmt(p[s.key])}`).join(', ')}`;
    });
    svg.addEventListener('pointerleave', () => {
      rule.setAttribute('x1', -10);
      rule.setAttribute('x2', -10);
    });

    box.replaceChildren(svg, readout);

    const last = points[points.length - 1];
    legend.replaceChildren(
      ...SERIES.map((s) =>
        el(
          'li',
          { class: `legend-item legend-${s.cls}` },
          el('span', { class: 'swatch', 'aria-hidden': 'true' }),
          `${s.name}${s.axis === 'load' ? ' (right axis)' : ''}: `,
          el('strong', { text: s.fmt(last[s.key]) }),
        ),
      ),
    );
  }

  const KNOWN_SERVICE_STATUS = new Set(['running', 'stopped', 'error']);

  function renderServices(data) {
    const box = $('services');
    const services = data.services || [];
    if (services.length === 0) {
      box.replaceChildren(el('p', { class: 'empty-services muted', text: 'No services reported by this agent yet.' }));
      return;
    }
    const newest = services.reduce((acc, s) => (acc === null || s.ts > acc ? s.ts : acc), null);
    const count = (st) => services.filter((s) => s.status === st).length;
    const table = el(
      'table',
      { class: 'services-table' },
      el('caption', null, `${services.length} services: ${count('running')} running, ${count('stopped')} stopped, ${count('error')} error · checked `, timeEl(newest)),
      el(
        'thead',
        null,
        el(
          'tr',
          null,
          el('th', { scope: 'col', text: 'Service' }),
          el('th', { scope: 'col', text: 'Status' }),
          el('th', { scope: 'col', class: 'num', text: 'PID' }),
          el('th', { scope: 'col', class: 'num', text: 'CPU %' }),
          el('th', { scope: 'col', class: 'num', text: 'Memory' }),
        ),
      ),
      el(
        'tbody',
        null,
        services.map((s) => {
          const st = KNOWN_SERVICE_STATUS.has(s.status) ? s.status : 'unknown';
          return el(
            'tr',
            { dataset: { service: s.name, status: st } },
            el('th', { scope: 'row', class: 'mono', text: s.name }),
            el('td', null, el('span', { class: `badge service-${st}`, text: s.status })),
            el('td', { class: 'num', text: s.pid === null || s.pid === undefined ? '—' : String(s.pid) }),
            el('td', { class: 'num', text: typeof s.cpu_percent === 'number' ? s.cpu_percent.toFixed(1) : '—' }),
            el('td', { class: 'num', text: fmtBytes(s.memory_bytes) }),
          );
        }),
      ),
    );
    box.replaceChildren(table);
  }

  // ------------------------------------------------------------ refresh

  function setStatus(text) {
    // aria-live announces every change: only write when the words differ.
    const node = $('refresh-status');
    if (node.textContent !== text) node.textContent = text;
  }

  function showError(message) {
    const banner = $('error-banner');
    if (message === null) {
      banner.hidden = true;
      banner.replaceChildren();
      return;
    }
    const since = state.lastSuccessAt ? `Showing data from ${fmtClock(state.lastSuccessAt)}.` : 'No data loaded yet.';
    banner.replaceChildren(
      el('strong', { text: 'Could not load data from the collector API. ' }),
      el('span', { class: 'error-message', text: message }),
      el('span', { text: ` ${since} Retrying every ${REFRESH_MS / 1000} s.` }),
    );
    banner.hidden = false;
  }

  // ---------------------------------------------------------------- alerts

  const ALERT_STATES = { firing: 'firing', pending: 'pending', flapping: 'flapping', unknown: 'no data' };

  function renderAlert(a) {
    const sev = a.severity === 'critical' ? 'crit' : a.severity === 'warning' ? 'warn' : 'none';
    const since = a.state === 'firing' ? a.firing_since || a.active_since : a.active_since;
    const value = typeof a.value === 'number' && Number.isFinite(a.value) ? ` = ${Number(a.value.toFixed(2))}` : '';
    const agentButton = a.agent_id
      ? el('button', { type: 'button', class: 'link alert-agent', dataset: { agentId: a.agent_id }, text: a.agent_id })
      : el('span', { class: 'alert-agent', text: 'fleet' });
    return el(
      'li',
      { class: `alert-item level-${sev}`, dataset: { alertKey: a.key, state: a.state } },
      el('span', { class: `alert-severity level-${sev}`, text: a.severity || 'unknown' }),
      ' ',
      agentButton,
      ' ',
      el('span', { class: 'alert-subject', text: `${a.subject || a.rule}${value}` }),
      ' ',
      el('span', { class: 'alert-state muted', text: `${ALERT_STATES[a.state] || a.state} since ${relTime(since)}${a.acknowledged ? ' · acknowledged' : ''}` }),
      a.detail ? el('span', { class: 'alert-detail muted block', text: a.detail }) : null,
    );
  }

  /** Alerts are a side panel: their failure is shown there, not as the page's error banner. */
  function renderAlerts(result) {
    const list = $('alerts-list');
    const error = $('alerts-error');
    if (result.error) {
      // Not a stale list next to the error: the page does not know the alerts now.
      error.textContent = `Could not load alerts: ${result.error.message}`;
      error.hidden = false;
      list.replaceChildren();
      list.hidden = true;
      $('alerts-empty').hidden = true;
      $('alerts-summary').textContent = '';
      return;
    }
    error.hidden = true;
    const alerts = Array.isArray(result.alerts) ? result.alerts : [];
    list.replaceChildren(...alerts.map(renderAlert));
    list.hidden = alerts.length === 0;
    $('alerts-empty').hidden = alerts.length !== 0;
    const firing = alerts.filter((a) => a.state === 'firing');
    const critical = firing.filter((a) => a.severity === 'critical').length;
    const parts = [`${firing.length} firing`];
    if (critical) parts.push(`${critical} critical`);
    if (alerts.length > firing.length) parts.push(`${alerts.length - firing.length} pending or other`);
    $('alerts-summary').textContent = alerts.length ? parts.join(' · ') : '';
  }

  async function refreshOnce() {
    // Both requests at once; the alerts panel shows its own outcome either
    // way, before the status line says the page is updated.
    const alerts = fetchJson('/api/v1/alerts').catch((error) => ({ error }));
    let alertsShown = false;
    const showAlerts = async () => {
      if (alertsShown) return;
      alertsShown = true;
      renderAlerts(await alerts);
    };
    try {
      const body = await fetchJson('/api/v1/agents');
      state.agents = Array.isArray(body.agents) ? body.agents : [];
      state.loaded = true;
      state.lastSuccessAt = new Date();
      showError(null);
      renderFleet();
      await showAlerts();
      if (state.selectedId) {
        renderDetailMeta();
        await loadDetail();
      }
      setStatus(`Updated ${fmtClock(state.lastSuccessAt)} · refreshes every ${REFRESH_MS / 1000} s`);
    } catch (err) {
      await showAlerts();
      showError(err.message);
      setStatus(`Update failed at ${fmtClock(new Date())} · retrying in ${REFRESH_MS / 1000} s`);
    }
  }

  function refresh() {
    if (state.inFlight) return state.inFlight;
    clearTimeout(state.timer);
    state.inFlight = refreshOnce().finally(() => {
      state.inFlight = null;
      if (!document.hidden) state.timer = setTimeout(refresh, REFRESH_MS);
    });
    return state.inFlight;
  }

  function agentFromHash() {
    const m = /^#agent=(.+)$/.exec(location.hash);
    if (!m) return null;
    try {
      return decodeURIComponent(m[1]);
    } catch {
      return null;
    }
  }

  async function loadVersion() {
    try {
      const h = await fetchJson('/api/v1/health');
      $('collector-version').textContent = `Collector ${h.version} · store ${h.store}`;
    } catch {
      // The banner reports API failures; the footer can stay blank.
    }
  }

  function start() {
    $('alerts-list').addEventListener('click', (ev) => {
      const b = ev.target.closest('.alert-agent');
      if (b && b.dataset.agentId) selectAgent(b.dataset.agentId, { focus: true });
    });
    $('fleet-list').addEventListener('click', (ev) => {
      const card = ev.target.closest('.agent-card');
      if (!card) return;
      selectAgent(card.dataset.agentId, { focus: true });
    });
    $('detail-close').addEventListener('click', () => {
      const id = state.selectedId;
      selectAgent(null);
      const btn = [...document.querySelectorAll('.agent-open')].find((b) => b.dataset.agentId === id);
      if (btn) btn.focus();
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && state.selectedId) $('detail-close').click();
    });
    $('refresh-now').addEventListener('click', () => refresh());
    window.addEventListener('hashchange', () => selectAgent(agentFromHash()));
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) clearTimeout(state.timer);
      else refresh();
    });

    const initial = agentFromHash();
    if (initial) selectAgent(initial);
    loadVersion();
    refresh();
  }

  start();
})();
