/*
 * AllSource operator dashboard: plain JavaScript (no build step), uPlot for the charts.
 * Everything shown comes from the control plane's own API:
 *   /api/v1/dashboard/overview, /api/v1/cluster/status, /api/v1/dashboard/top_entities,
 *   /api/v1/dashboard/timeseries, /api/v1/dashboard/replays.
 * The page polls every `?refresh=<seconds>` (default 5) and keeps polling through errors, so it
 * recovers by itself when a node or the control plane restarts.
 */
(function () {
  'use strict';

  var RANGES = { '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
  /** Points a chart asks for (the control plane answers at least its native resolution). */
  var TARGET_POINTS = 450;
  var REQUEST_TIMEOUT_MS = 10000;
  var PLOT_HEIGHT = 170;

  /** Every chart: one or more derived series of the control plane (see docs/control-plane.md). */
  var CHARTS = [
    { id: 'ingestion', title: 'Ingestion rate', unit: 'events/s', series: [{ metric: 'ingestion_rate', label: 'ingested' }, { metric: 'query_rate', label: 'queries', unit: 'queries/s' }] },
    { id: 'ingest_latency', title: 'Ingest latency', unit: 'ms', primary: 1, series: [{ metric: 'ingestion_latency_p50_ms', label: 'p50' }, { metric: 'ingestion_latency_p95_ms', label: 'p95' }, { metric: 'ingestion_latency_p99_ms', label: 'p99' }] },
    { id: 'query_latency', title: 'Query latency', unit: 'ms', primary: 1, series: [{ metric: 'query_latency_p50_ms', label: 'p50' }, { metric: 'query_latency_p95_ms', label: 'p95' }, { metric: 'query_latency_p99_ms', label: 'p99' }] },
    { id: 'errors', title: 'Error ratio', unit: 'ratio', series: [{ metric: 'error_ratio', label: 'ingestion errors' }, { metric: 'http_error_ratio', label: 'HTTP 5xx' }] },
    { id: 'storage', title: 'Storage growth', unit: 'bytes', series: [{ metric: 'storage_bytes', label: 'on disk' }] },
    { id: 'websockets', title: 'WebSocket connections', unit: 'connections', series: [{ metric: 'websocket_connections', label: 'connected' }] },
    { id: 'projections', title: 'Projection processing', unit: 'events/s', series: [{ metric: 'projection_throughput', label: 'applied' }, { metric: 'pipeline_throughput', label: 'pipelines' }] },
    { id: 'schemas', title: 'Schema validations', unit: 'validations/s', series: [{ metric: 'schema_validation_rate', label: 'validated' }, { metric: 'schema_invalid_rate', label: 'invalid' }] },
    { id: 'replay', title: 'Replay progress', unit: 'events/s', series: [{ metric: 'replay_throughput', label: 're-applied' }] },
  ];

  var params = new URLSearchParams(location.search);
  var refreshSeconds = Number(params.get('refresh'));
  var REFRESH_MS = Math.round(Math.min(300, Math.max(1, Number.isFinite(refreshSeconds) && refreshSeconds > 0 ? refreshSeconds : 5)) * 1000);
  var state = {
    range: Object.prototype.hasOwnProperty.call(RANGES, params.get('range')) ? params.get('range') : '15m',
    scope: params.get('node') || 'cluster',
    nodeIds: [],
  };

  // ---------------------------------------------------------------------------------------------
  // formatting
  // ---------------------------------------------------------------------------------------------

  var formatters = {};
  function nf(digits) {
    return (formatters[digits] = formatters[digits] || new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  function isNum(v) {
    return typeof v === 'number' && Number.isFinite(v);
  }
  function decimals(v) {
    var a = Math.abs(v);
    return a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  }
  function fmtCount(v) {
    return isNum(v) ? nf(0).format(v) : '–';
  }
  function fmtPlain(v) {
    return isNum(v) ? nf(decimals(v)).format(v) : '–';
  }
  function fmtBytes(v) {
    if (!isNum(v)) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return nf(i === 0 ? 0 : v >= 100 ? 0 : 1).format(v) + ' ' + units[i];
  }
  function fmtMs(v) {
    if (!isNum(v)) return '–';
    if (Math.abs(v) >= 1000) return nf(2).format(v / 1000) + ' s';
    return nf(decimals(v)).format(v) + ' ms';
  }
  function fmtPercent(ratio) {
    if (!isNum(ratio)) return '–';
    var p = ratio * 100;
    return (p === 0 ? '0' : nf(p >= 10 ? 1 : 2).format(p)) + ' %';
  }
  /** A value in a unit of the derived metrics. */
  function fmtValue(v, unit) {
    if (!isNum(v)) return '–';
    switch (unit) {
      case 'ms':
        return fmtMs(v);
      case 'bytes':
        return fmtBytes(v);
      case 'ratio':
        return fmtPercent(v);
      case 'events/s':
        return fmtPlain(v) + ' ev/s';
      case 'queries/s':
        return fmtPlain(v) + ' q/s';
      case 'validations/s':
        return fmtPlain(v) + ' /s';
      default:
        return fmtCount(v);
    }
  }
  /** Short axis labels. */
  function fmtAxis(v, unit) {
    if (!isNum(v)) return '';
    if (unit === 'bytes') return fmtBytes(v);
    if (unit === 'ratio') return nf(Math.abs(v * 100) >= 10 || v === 0 ? 0 : 1).format(v * 100) + '%';
    var a = Math.abs(v);
    var s = a >= 1e9 ? nf(1).format(v / 1e9) + 'G' : a >= 1e6 ? nf(1).format(v / 1e6) + 'M' : a >= 1e4 ? nf(0).format(v / 1e3) + 'k' : a >= 1e3 ? nf(1).format(v / 1e3) + 'k' : nf(a === 0 || a >= 10 ? 0 : a >= 1 ? 1 : 2).format(v);
    return unit === 'ms' ? s + ' ms' : s;
  }
  /** An x-axis label: the clock for ticks under a day apart, the date beyond. */
  function fmtTick(ms, incrSeconds) {
    var d = new Date(ms);
    if (incrSeconds >= 86400) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
    if (incrSeconds >= 60) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  }
  function fmtTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? '–' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function fmtDateTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? '–' : d.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function fmtAgo(iso) {
    if (!iso) return 'never';
    var t = Date.parse(iso);
    if (!isNum(t)) return '–';
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
    return fmtDateTime(iso);
  }
  function fmtDuration(ms) {
    var s = ms / 1000;
    if (s < 1) return Math.round(ms) + ' ms';
    if (s < 60) return nf(s % 1 === 0 ? 0 : 1).format(s) + ' s';
    if (s < 3600) return nf(0).format(s / 60) + ' min';
    return nf(s % 3600 === 0 ? 0 : 1).format(s / 3600) + ' h';
  }

  // ---------------------------------------------------------------------------------------------
  // DOM helpers (text only: nothing from the API is ever parsed as HTML)
  // ---------------------------------------------------------------------------------------------

  function $(sel, root) {
    return (root || document).querySelector(sel);
  }
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = String(v);
        else if (k === 'className') el.className = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
  }
  function replaceChildren(el, children) {
    while (el.firstChild) el.removeChild(el.firstChild);
    children.forEach(function (c) {
      if (c) el.appendChild(c);
    });
  }
  function timeEl(iso, text) {
    return h('time', { datetime: iso || null, title: iso ? fmtDateTime(iso) : null, text: text });
  }
  function badge(status) {
    return h('span', { className: 'badge', 'data-status': status, text: status });
  }

  // ---------------------------------------------------------------------------------------------
  // API
  // ---------------------------------------------------------------------------------------------

  // With API_KEYS set, the API needs a key with the read role: the page asks for it once and
  // keeps it for the tab (or, if asked to, in this browser's local storage).
  var KEY_STORE = 'allsource.controlPlane.apiKey';
  function storage(kind) {
    try {
      return window[kind];
    } catch (e) {
      return null;
    }
  }
  var apiKey = (storage('sessionStorage') && storage('sessionStorage').getItem(KEY_STORE)) || (storage('localStorage') && storage('localStorage').getItem(KEY_STORE)) || null;

  function getJSON(path) {
    var ctrl = new AbortController();
    var timer = setTimeout(function () {
      ctrl.abort();
    }, REQUEST_TIMEOUT_MS);
    var headers = { Accept: 'application/json' };
    if (apiKey) headers.Authorization = 'Bearer ' + apiKey;
    return fetch(path, { headers: headers, cache: 'no-store', signal: ctrl.signal })
      .then(function (res) {
        return res.json().then(
          function (body) {
            if (!res.ok) {
              var err = new Error((body && body.error) || 'HTTP ' + res.status);
              err.auth = res.status === 401 || res.status === 403;
              throw err;
            }
            return body;
          },
          function () {
            throw new Error('HTTP ' + res.status + ': not JSON');
          },
        );
      })
      .finally(function () {
        clearTimeout(timer);
      });
  }

  // ---------------------------------------------------------------------------------------------
  // cards, alerts, tables
  // ---------------------------------------------------------------------------------------------

  function setCard(name, text, raw, sub, flag, extra) {
    var card = $('[data-card="' + name + '"]');
    var value = $('[data-role="value"]', card);
    value.textContent = text;
    card.setAttribute('data-value', raw === null || raw === undefined ? '' : String(raw));
    if (extra) Object.keys(extra).forEach(function (k) {
      card.setAttribute(k, String(extra[k]));
    });
    $('[data-role="sub"]', card).textContent = sub || '\u00a0';
    if (flag) card.setAttribute('data-state', flag);
    else card.removeAttribute('data-state');
  }

  function renderOverview(o) {
    var c = o.cluster, p = o.performance, hl = o.health;
    setCard('nodes', c.healthy_nodes + ' / ' + c.total_nodes, c.healthy_nodes, 'cluster ' + hl.core_status, c.healthy_nodes < c.total_nodes ? 'bad' : 'good', { 'data-total': c.total_nodes });
    setCard('events', fmtCount(c.total_events), c.total_events, isNum(c.total_entities) ? fmtCount(c.total_entities) + ' entities' : null);
    setCard('ingestion', fmtValue(c.ingestion_rate, 'events/s'), c.ingestion_rate, 'last ' + fmtDuration(p.window_seconds * 1000) + ' · errors ' + fmtPercent(p.error_ratio));
    setCard('p95', fmtMs(p.p95_query_latency_ms), p.p95_query_latency_ms, 'p50 ' + fmtMs(p.query_latency_p50_ms) + ' · p99 ' + fmtMs(p.query_latency_p99_ms));
    setCard(
      'storage',
      fmtBytes(hl.storage_bytes),
      hl.storage_bytes,
      isNum(hl.storage_usage_percent) ? nf(1).format(hl.storage_usage_percent) + ' % of capacity' : 'on disk, all nodes',
      isNum(hl.storage_usage_percent) && hl.storage_usage_percent >= 90 ? 'bad' : null,
    );
    setCard('wal', fmtCount(hl.wal_segments), hl.wal_segments, fmtCount(hl.websocket_connections) + ' WebSocket clients');
    var badgeEl = $('#cluster-status');
    badgeEl.textContent = hl.core_status;
    badgeEl.setAttribute('data-status', hl.core_status);
    badgeEl.setAttribute('aria-label', 'Cluster status: ' + hl.core_status);
    $('#cluster-id').textContent = c.cluster_id;
  }

  function renderAlerts(status) {
    var bad = status.nodes.filter(function (n) {
      return n.status !== 'healthy';
    });
    replaceChildren(
      $('#alerts'),
      bad.map(function (n) {
        var since = n.last_success_at
          ? h('span', null, 'since ', timeEl(n.last_success_at, fmtTime(n.last_success_at)), ' (last healthy scrape, ' + fmtAgo(n.last_success_at) + ')')
          : h('span', { text: n.status === 'unknown' ? 'not scraped yet' : 'never healthy since the control plane started' });
        return h(
          'div',
          { className: 'alert', role: 'alert', 'data-node': n.id, 'data-status': n.status },
          h('div', null, h('strong', { text: 'Node ' + n.id + ' is ' + n.status }), ' ', h('span', { className: 'detail' }, since)),
          h('div', { className: 'detail' }, 'URL ', h('code', { text: n.url }), ' · last scrape ', timeEl(n.last_scrape_at, fmtAgo(n.last_scrape_at))),
          n.last_error ? h('div', { className: 'detail' }, 'Last error: ', h('code', { text: n.last_error })) : null,
        );
      }),
    );
  }

  function renderNodes(status) {
    var tbody = $('#nodes-table tbody');
    if (status.nodes.length === 0) {
      replaceChildren(tbody, [h('tr', null, h('td', { colspan: 6, className: 'empty', text: 'No core nodes configured.' }))]);
      return;
    }
    var rows = [];
    status.nodes.forEach(function (n) {
      var s = n.stats || {};
      rows.push(
        h(
          'tr',
          { 'data-node': n.id, 'data-status': n.status, className: n.last_error ? 'has-error' : null },
          h('th', { scope: 'row' }, h('span', { className: 'node-id', text: n.id }), h('span', { className: 'url', text: (n.version ? 'v' + n.version + ' · ' : '') + n.url })),
          h('td', null, badge(n.status)),
          h('td', { className: 'num', text: fmtCount(s.total_events) }),
          h('td', { className: 'num', text: fmtBytes(s.storage_bytes) }),
          h('td', { className: 'num', text: fmtCount(s.wal_segments) }),
          h('td', null, timeEl(n.last_scrape_at, fmtAgo(n.last_scrape_at))),
        ),
      );
      if (n.last_error) {
        rows.push(h('tr', { className: 'error-row', 'data-node': n.id, 'data-status': n.status }, h('td', { colspan: 6, className: 'err', text: n.last_error })));
      }
    });
    replaceChildren(tbody, rows);
    // The chart scope selector lists the configured nodes.
    var ids = status.nodes.map(function (n) {
      return n.id;
    });
    if (ids.join('\n') !== state.nodeIds.join('\n')) {
      state.nodeIds = ids;
      var select = $('#scope');
      replaceChildren(
        select,
        [h('option', { value: 'cluster', text: 'Whole cluster' })].concat(
          ids.map(function (id) {
            return h('option', { value: id, text: 'Node ' + id });
          }),
        ),
      );
      if (state.scope !== 'cluster' && ids.indexOf(state.scope) < 0) state.scope = 'cluster';
      select.value = state.scope;
    }
  }

  function renderTop(top) {
    var tbody = $('#top-table tbody');
    if (top.entities.length === 0) {
      replaceChildren(tbody, [h('tr', null, h('td', { colspan: 4, className: 'empty', text: 'No entities yet.' }))]);
      return;
    }
    replaceChildren(
      tbody,
      top.entities.map(function (e) {
        return h(
          'tr',
          { 'data-entity': e.entity_id },
          h('th', { scope: 'row', className: 'mono', text: e.entity_id }),
          h('td', { text: e.node_id }),
          h('td', { className: 'num', text: fmtCount(e.event_count) }),
          h('td', null, e.last_event_at ? timeEl(e.last_event_at, fmtAgo(e.last_event_at)) : '–'),
        );
      }),
    );
  }

  function replayCard(r) {
    var pct = Math.max(0, Math.min(100, r.progress_percentage || 0));
    var name = r.projection_name || 'replay';
    var fill = h('span');
    // Set through the CSSOM, which the page's style-src 'self' policy allows.
    fill.style.width = pct + '%';
    return h(
      'article',
      { className: 'replay', 'data-replay-id': r.replay_id, 'data-status': r.status, 'data-node': r.node_id },
      h('div', { className: 'replay-head' }, h('strong', { title: r.replay_id, text: name }), badge(r.status)),
      h(
        'div',
        { className: 'bar', role: 'progressbar', 'aria-label': 'Replay ' + name + ' on ' + r.node_id, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(pct * 10) / 10 },
        fill,
      ),
      h(
        'div',
        { className: 'meta' },
        h('span', { text: nf(pct >= 10 || pct === 0 ? 0 : 1).format(pct) + ' %' }),
        h('span', { text: fmtCount(r.processed_events) + ' / ' + fmtCount(r.total_events) + ' events' }),
        h('span', { text: fmtPlain(r.events_per_second) + ' ev/s' }),
        h('span', { text: 'node ' + r.node_id }),
        h('span', null, 'started ', timeEl(r.started_at, fmtAgo(r.started_at))),
      ),
      r.error_message ? h('div', { className: 'error', text: r.error_message }) : null,
    );
  }

  function renderReplays(data) {
    var children = [];
    var unreachable = data.nodes.filter(function (n) {
      return n.status !== 'ok';
    });
    children.push(h('p', { className: 'group-title', text: 'Active (' + data.active.length + ')' }));
    if (data.active.length === 0) children.push(h('p', { className: 'empty', text: 'No replay is running.' }));
    data.active.forEach(function (r) {
      children.push(replayCard(r));
    });
    if (data.recent.length > 0) {
      children.push(h('p', { className: 'group-title', text: 'Recently finished' }));
      data.recent.forEach(function (r) {
        children.push(replayCard(r));
      });
    }
    if (unreachable.length > 0) {
      children.push(
        h('p', {
          className: 'group-title',
          text:
            'Not listed: ' +
            unreachable
              .map(function (n) {
                return n.node_id + ' (' + n.error + ')';
              })
              .join(', '),
        }),
      );
    }
    replaceChildren($('#replays'), children);
  }

  // ---------------------------------------------------------------------------------------------
  // charts
  // ---------------------------------------------------------------------------------------------

  var css = getComputedStyle(document.documentElement);
  function cssVar(name, fallback) {
    return css.getPropertyValue(name).trim() || fallback;
  }
  var COLORS = [cssVar('--s1', '#2563eb'), cssVar('--s2', '#d97706'), cssVar('--s3', '#dc2626'), cssVar('--s4', '#059669')];
  var AXIS = cssVar('--axis', '#4b5563');
  var GRID = cssVar('--grid', '#e5e9f0');

  function hexToRgba(hex, alpha) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    return m ? 'rgba(' + parseInt(m[1], 16) + ',' + parseInt(m[2], 16) + ',' + parseInt(m[3], 16) + ',' + alpha + ')' : hex;
  }

  var charts = CHARTS.map(function (def) {
    var titleId = 'chart-' + def.id + '-title';
    var latest = h('span', { className: 'latest', 'data-role': 'latest', text: '–' });
    var meta = h('p', { className: 'meta', text: def.unit });
    var plot = h('div', { className: 'plot', role: 'img', 'aria-label': def.title + ': loading' });
    var nodata = h('p', { className: 'nodata', text: 'No data in this range yet.', hidden: true });
    var el = h(
      'article',
      {
        className: 'chart',
        'data-chart': def.id,
        'data-metrics': def.series.map(function (s) { return s.metric; }).join(','),
        'data-colors': def.series.map(function (_s, i) { return COLORS[i % COLORS.length]; }).join(','),
        'aria-labelledby': titleId,
      },
      h('div', { className: 'chart-head' }, h('h3', { id: titleId, text: def.title }), latest),
      meta,
      plot,
      nodata,
    );
    $('#charts').appendChild(el);
    return { def: def, el: el, plot: plot, meta: meta, latest: latest, nodata: nodata, u: null, window: [0, 1], width: 0 };
  });

  function lastValue(col) {
    if (!col) return null;
    for (var k = col.length - 1; k >= 0; k--) if (col[k] !== null && col[k] !== undefined) return col[k];
    return null;
  }

  function makePlot(c) {
    var def = c.def;
    var unit = def.unit;
    var opts = {
      width: Math.max(200, c.plot.clientWidth || 400),
      height: PLOT_HEIGHT,
      padding: [10, 22, 0, 2],
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 7 } },
      legend: { live: true },
      scales: {
        x: {
          time: true,
          range: function () {
            return c.window;
          },
        },
        y: {
          range: function (_u, min, max) {
            var hi = isNum(max) && max > 0 ? max * 1.15 : unit === 'ratio' ? 0.01 : 1;
            var lo = isNum(min) && min < 0 ? min * 1.15 : 0;
            return [lo, hi];
          },
        },
      },
      axes: [
        {
          stroke: AXIS,
          space: 64,
          grid: { stroke: GRID, width: 1 },
          ticks: { stroke: GRID, width: 1 },
          font: '11px system-ui, sans-serif',
          values: function (_u, splits, _axis, _space, incr) {
            return splits.map(function (t) {
              return fmtTick(t * 1000, incr);
            });
          },
        },
        {
          stroke: AXIS,
          size: 62,
          grid: { stroke: GRID, width: 1 },
          ticks: { stroke: GRID, width: 1 },
          font: '11px system-ui, sans-serif',
          values: function (_u, splits) {
            return splits.map(function (v) {
              return fmtAxis(v, unit);
            });
          },
        },
      ],
      // Without the cursor on the plot, the legend shows the latest values.
      series: [{ value: function (_u, v, _s, idx) { return idx === null || idx === undefined ? 'latest' : fmtDateTime(v * 1000); } }].concat(
        def.series.map(function (s, i) {
          var color = COLORS[i % COLORS.length];
          return {
            label: s.label,
            stroke: color,
            width: 2,
            fill: def.series.length === 1 ? hexToRgba(color, 0.12) : undefined,
            spanGaps: false,
            points: { size: 5 },
            value: function (u, v, sidx, idx) {
              return fmtValue(idx === null || idx === undefined ? lastValue(u.data[sidx]) : v, s.unit || unit);
            },
          };
        }),
      ),
    };
    c.plot.textContent = '';
    c.u = new uPlot(opts, [[], []].concat(def.series.slice(1).map(function () { return []; })), c.plot);
    c.width = opts.width;
  }

  /** Datapoints of several series → uPlot's aligned columns, with a null wherever a gap in history would otherwise be drawn across. */
  function align(answers, stepSeconds) {
    var times = {};
    answers.forEach(function (a) {
      a.datapoints.forEach(function (p) {
        times[Date.parse(p.timestamp)] = true;
      });
    });
    var ts = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var xs = [];
    var gapMs = Math.max(stepSeconds * 1000 * 2.5, 1);
    ts.forEach(function (t, i) {
      if (i > 0 && t - ts[i - 1] > gapMs) xs.push((ts[i - 1] + stepSeconds * 1000) / 1000);
      xs.push(t / 1000);
    });
    var cols = answers.map(function (a) {
      var byT = {};
      a.datapoints.forEach(function (p) {
        byT[Date.parse(p.timestamp) / 1000] = p.value;
      });
      return xs.map(function (x) {
        var v = byT[x];
        return isNum(v) ? v : null;
      });
    });
    return [xs].concat(cols);
  }

  function renderChart(c, answers) {
    var def = c.def;
    var first = answers[0];
    var data = align(answers, first.step_seconds);
    var xs = data[0];
    var from = Date.parse(first.from) / 1000;
    var to = Date.parse(first.to) / 1000;
    // History shorter than the range: start the axis where history starts (the meta line says so).
    var historyStart = xs.length > 0 ? xs[0] : null;
    var start = historyStart !== null && historyStart > from ? historyStart : from;
    c.window = [start, Math.max(to, start + 1)];
    if (!c.u) makePlot(c);
    c.u.setData(data, true);

    var points = 0;
    for (var s = 1; s < data.length; s++) for (var j = 0; j < data[s].length; j++) if (data[s][j] !== null) points++;
    var primary = def.primary || 0;
    var last = lastValue(data[primary + 1]);
    var pUnit = def.series[primary].unit || def.unit;
    c.latest.textContent = last === null ? '–' : (def.series.length > 1 ? def.series[primary].label + ' ' : '') + fmtValue(last, pUnit);
    var scope = first.node === 'cluster' ? 'cluster' : 'node ' + first.node;
    var since = historyStart !== null && historyStart > from ? ' · history since ' + fmtTime(historyStart * 1000) : '';
    c.meta.textContent = def.unit + ' · ' + scope + ' · step ' + first.step + since;
    c.nodata.hidden = points > 0;
    c.el.setAttribute('data-range', first.range);
    c.el.setAttribute('data-node', first.node);
    c.el.setAttribute('data-step', first.step);
    c.el.setAttribute('data-from', first.from);
    c.el.setAttribute('data-to', first.to);
    c.el.setAttribute('data-points', String(points));
    c.el.removeAttribute('aria-busy');
    c.plot.setAttribute(
      'aria-label',
      def.title + ' over the last ' + first.range + ' (' + scope + '): ' + (points > 0 ? 'latest ' + c.latest.textContent : 'no data yet'),
    );
  }

  function stepFor(range) {
    return Math.max(1, Math.ceil(RANGES[range] / TARGET_POINTS / 1000)) + 's';
  }

  function refreshCharts() {
    var range = state.range;
    var scope = state.scope;
    var step = stepFor(range);
    return Promise.all(
      charts.map(function (c) {
        return Promise.all(
          c.def.series.map(function (s) {
            return getJSON(
              '/api/v1/dashboard/timeseries?metric=' + encodeURIComponent(s.metric) + '&range=' + range + '&step=' + step + '&node=' + encodeURIComponent(scope),
            );
          }),
        ).then(function (answers) {
          // A range or scope change while this was in flight: the next refresh draws the new one.
          if (range === state.range && scope === state.scope) renderChart(c, answers);
        });
      }),
    );
  }

  // Keep the charts as wide as their cards.
  if (typeof ResizeObserver === 'function') {
    var ro = new ResizeObserver(function () {
      requestAnimationFrame(function () {
        charts.forEach(function (c) {
          var w = Math.max(200, c.plot.clientWidth);
          if (c.u && w !== c.width) {
            c.width = w;
            c.u.setSize({ width: w, height: PLOT_HEIGHT });
          }
        });
      });
    });
    charts.forEach(function (c) {
      ro.observe(c.el);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // refresh loop
  // ---------------------------------------------------------------------------------------------

  function setLive(kind, text) {
    var el = $('#live');
    el.setAttribute('data-state', kind);
    $('#live-text').textContent = text;
  }

  function refreshAll() {
    return Promise.allSettled([
      getJSON('/api/v1/dashboard/overview'),
      getJSON('/api/v1/cluster/status'),
      getJSON('/api/v1/dashboard/top_entities?limit=10'),
      getJSON('/api/v1/dashboard/replays?limit=6'),
    ]).then(function (r) {
      if (r[0].status === 'rejected' && r[1].status === 'rejected') throw r[0].reason;
      if (r[0].status === 'fulfilled') renderOverview(r[0].value);
      if (r[1].status === 'fulfilled') {
        renderAlerts(r[1].value);
        renderNodes(r[1].value);
      }
      if (r[2].status === 'fulfilled') renderTop(r[2].value);
      if (r[3].status === 'fulfilled') renderReplays(r[3].value);
      return refreshCharts();
    });
  }

  var timer = null;
  var running = false;
  var again = false;
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }
  function tick() {
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    if (document.hidden) {
      schedule(REFRESH_MS);
      return;
    }
    running = true;
    refreshAll().then(
      function () {
        $('#auth').hidden = true;
        setLive('live', 'Live · updated ' + fmtTime(new Date().toISOString()));
        done();
      },
      function (err) {
        if (err && err.auth) {
          // No point asking again with the same key: wait for the form.
          running = false;
          again = false;
          setLive('error', 'API key required');
          showKeyForm(err.message);
          return;
        }
        setLive('error', 'Control plane unreachable (' + ((err && err.message) || 'error') + ') · retrying every ' + fmtDuration(REFRESH_MS));
        done();
      },
    );
  }
  function done() {
    running = false;
    if (again) {
      again = false;
      schedule(0);
    } else schedule(REFRESH_MS);
  }

  function showKeyForm(message) {
    var section = $('#auth');
    $('#auth-message').textContent =
      (apiKey ? 'The API key was refused (' + message + '). ' : 'This control plane asks for an API key with the read role. ') +
      'It is sent only to this control plane, as an Authorization header.';
    var wasHidden = section.hidden;
    section.hidden = false;
    if (wasHidden) $('#auth-key').focus();
  }

  $('#auth-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var key = $('#auth-key').value.trim();
    if (!key) return;
    apiKey = key;
    var remember = $('#auth-remember').checked;
    var session = storage('sessionStorage');
    var local = storage('localStorage');
    if (session) session.setItem(KEY_STORE, key);
    if (local) {
      if (remember) local.setItem(KEY_STORE, key);
      else local.removeItem(KEY_STORE);
    }
    $('#auth-key').value = '';
    $('#forget-key').hidden = false;
    setLive('connecting', 'Connecting…');
    tick();
  });
  $('#forget-key').addEventListener('click', function () {
    apiKey = null;
    ['sessionStorage', 'localStorage'].forEach(function (kind) {
      var st = storage(kind);
      if (st) st.removeItem(KEY_STORE);
    });
    $('#forget-key').hidden = true;
    tick();
  });
  $('#forget-key').hidden = !apiKey;

  function syncUrl() {
    var p = new URLSearchParams(location.search);
    p.set('range', state.range);
    if (state.scope === 'cluster') p.delete('node');
    else p.set('node', state.scope);
    history.replaceState(null, '', location.pathname + '?' + p.toString());
  }

  function markChartsBusy() {
    charts.forEach(function (c) {
      c.el.setAttribute('aria-busy', 'true');
    });
  }

  document.querySelectorAll('#range input[name="range"]').forEach(function (input) {
    input.checked = input.value === state.range;
    input.addEventListener('change', function () {
      if (!input.checked) return;
      state.range = input.value;
      syncUrl();
      markChartsBusy();
      tick();
    });
  });
  $('#scope').addEventListener('change', function (e) {
    state.scope = e.target.value;
    syncUrl();
    markChartsBusy();
    tick();
  });
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) tick();
  });
  $('#refresh-note').textContent = 'Refreshes every ' + fmtDuration(REFRESH_MS) + ' (set ?refresh=<seconds>).';
  if (state.scope !== 'cluster') {
    // Shown until the node list arrives.
    $('#scope').appendChild(h('option', { value: state.scope, text: 'Node ' + state.scope }));
    $('#scope').value = state.scope;
  }
  tick();
})();
