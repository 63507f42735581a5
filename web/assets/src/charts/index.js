// The statistics page's charts: Chart.js, with only the parts the page draws.
//
// The page hands its figures over in a <script type="application/json" id="chart-data">
// block (scripts stay 'self' under the page's CSP): a list of
// {canvas, kind: "bar" | "hbar" | "doughnut", labels, values, links, series, percent}.
// Each bar or slice is a link to the cases behind it, as the table beside it is.
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend,
  LinearScale, Tooltip
} from 'chart.js';

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController,
  Legend, LinearScale, Tooltip);

const PALETTE = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2',
  '#db2777', '#65a30d', '#ea580c', '#475569'];

function options(spec) {
  const horizontal = spec.kind === 'hbar';
  const common = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    onClick(_event, elements) {
      const hit = elements[0];
      const link = hit && spec.links && spec.links[hit.index];
      if (link) {
        window.location.assign(link);
      }
    },
    onHover(event, elements) {
      const target = event.native && event.native.target;
      if (target) {
        target.style.cursor = elements.length && spec.links ? 'pointer' : 'default';
      }
    },
    plugins: {
      legend: { display: spec.kind === 'doughnut', position: 'right' },
      tooltip: {
        callbacks: spec.percent ? {
          label: (item) => `${item.label}: ${Math.round(item.raw * 1000) / 10} %`
        } : {}
      }
    }
  };
  if (spec.kind === 'doughnut') {
    return common;
  }
  const valueAxis = { beginAtZero: true, ticks: { precision: 0 } };
  if (spec.percent) {
    Object.assign(valueAxis, { max: 1, ticks: { callback: (v) => `${Math.round(v * 100)} %` } });
  }
  return { ...common, indexAxis: horizontal ? 'y' : 'x',
    scales: horizontal ? { x: valueAxis } : { y: valueAxis } };
}

function draw(spec) {
  const canvas = document.getElementById(spec.canvas);
  if (!canvas) {
    return null;
  }
  const colours = spec.kind === 'doughnut' ? spec.values.map((_v, i) => PALETTE[i % PALETTE.length])
    : PALETTE[0];
  const chart = new Chart(canvas, {
    type: spec.kind === 'hbar' ? 'bar' : spec.kind,
    data: {
      labels: spec.labels,
      datasets: [{ label: spec.series || '', data: spec.values, backgroundColor: colours }]
    },
    options: options(spec)
  });
  canvas.dataset.rendered = 'true';
  return chart;
}

function start() {
  const block = document.getElementById('chart-data');
  if (!block) {
    return;
  }
  const specs = JSON.parse(block.textContent);
  window.StatisticsCharts = specs.map(draw).filter(Boolean);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
