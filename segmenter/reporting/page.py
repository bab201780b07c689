"""The components of segmenter's HTML pages (the report and the monitoring page).

One :class:`Page` is one self-contained HTML file: one style sheet, key figures,
interactive charts, collapsible tables with a CSV download, and, for pages about
segments, a segment picker that filters every chart that shows segments.  Nothing is
loaded from the network: the charts are Vega-Lite specs (built with Altair, see
:mod:`segmenter.reporting.charts`) rendered by one inline copy of the Vega runtime
that ``vl-convert-python`` ships, and the CSV files are ``data:`` links.  With
``static=True`` every chart is drawn to an embedded PNG instead (by vl-convert, no
browser needed) and the page carries no script: the fallback for PDF export and
for mail clients.

The page records in attributes of ``<body>`` what the browser did, for tests and
for checking the page itself: ``data-charts-total``, ``data-charts-rendered``,
``data-chart-errors``, ``data-charts-first-screen`` (charts wholly inside the first
screen), ``data-picked`` (the picked segment) and ``data-images-total``,
``data-images-loaded`` (images).  ``page.html#segment=<name>`` opens the page with
that segment picked.
"""

from __future__ import annotations

import base64
import functools
import html
import json

import pandas as pd

from ..errors import missing_dependency
from ..persistence import atomic_write

__all__ = ["Page", "html_page", "table", "paragraph", "details_table"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1em auto; max-width: 1260px;
  color: #222; padding: 0 .6em; }
h1 { font-size: 1.5em; margin: .2em 0; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: .8em; margin: .5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: .5em 0; }
nav a { margin-right: 1em; } .note { color: #555; font-size: .9em; }
.warning { color: #a00; font-weight: bold; }
.good { color: #070; font-weight: bold; } .verdict { font-size: 1.15em; margin: .3em 0; }
.wide { overflow-x: auto; }
.figures { display: flex; flex-wrap: wrap; gap: .5em; margin: .4em 0; padding: 0; }
.figures div { background: #f5f7fa; border-radius: 4px; padding: .25em .7em; }
.figures dt { font-size: .75em; color: #555; } .figures dd { margin: 0; font-weight: 600; }
.grid { display: flex; flex-wrap: wrap; gap: .4em; align-items: flex-start; }
figure.chart { margin: .4em 0; }
details { margin: .3em 0; } summary { cursor: pointer; }
summary a { margin-left: 1em; font-size: .85em; }
.picker { margin: .3em 0; }
@media print { details { display: block; } .picker, summary a { display: none; } }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, n = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) n++;
  }
  document.body.setAttribute("data-images-loaded", String(n));
  document.body.setAttribute("data-images-total", String(imgs.length));
});
"""

# runs after the Vega bundle (module scripts run in order, after parsing)
_EMBED = """
const views = [];
const specs = document.querySelectorAll("script[data-chart]");
document.body.dataset.chartsTotal = String(specs.length);
let errors = "";
for (const el of specs) {
  try {
    const r = await vegaEmbed("#" + el.dataset.chart, JSON.parse(el.textContent), {
      renderer: "svg",
      actions: {export: true, source: false, compiled: false, editor: false},
    });
    views.push(r.view);
  } catch (e) {
    errors += el.dataset.chart + ": " + e + "; ";
  }
}
document.body.dataset.chartsRendered = String(views.length);
document.body.dataset.chartErrors = errors;
let first = 0;  // charts wholly inside the first screen
for (const el of document.querySelectorAll("figure.chart")) {
  const r = el.getBoundingClientRect();
  if (r.height > 0 && r.bottom <= window.innerHeight) first++;
}
document.body.dataset.chartsFirstScreen = String(first);
const picker = document.getElementById("segment-picker");
async function pick(value) {
  for (const v of views) {
    let has = true;
    try { v.signal("%(pick)s"); } catch (e) { has = false; }
    if (has) { v.signal("%(pick)s", value); await v.runAsync(); }
  }
  document.body.dataset.picked = value;
}
if (picker) {
  picker.addEventListener("change", function () { pick(picker.value); });
  // a link to one segment: report.html#segment=<name>
  const hash = decodeURIComponent(window.location.hash.slice(1));
  if (hash.startsWith("segment=")) {
    picker.value = hash.slice(8);
    if (picker.value === hash.slice(8)) await pick(picker.value);
  }
}
"""


def paragraph(text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{html.escape(text)}</p>"


def table(df: pd.DataFrame, floatfmt="{:.3f}", index=False) -> str:
    return (
        '<div class="wide">'
        + df.to_html(
            index=index, border=0, na_rep="", float_format=lambda v: floatfmt.format(v)
        )
        + "</div>"
    )


def details_table(
    df: pd.DataFrame,
    name: str,
    title: str,
    show: int = 50,
    index: bool = False,
    max_download_rows: int = 50_000,
) -> str:
    """A collapsible table (its first ``show`` rows) with the whole table as a CSV
    download (up to ``max_download_rows`` rows, said in the summary otherwise)."""
    n = len(df)
    full = df if n <= max_download_rows else df.head(max_download_rows)
    csv = full.to_csv(index=index).encode("utf-8")
    href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(csv).decode()
    shown = f"first {show} of {n} rows" if n > show else f"{n} rows"
    cut = (
        f"; the download holds the first {max_download_rows}"
        if n > max_download_rows
        else ""
    )
    return (
        f'<details id="table-{html.escape(name)}"><summary>{html.escape(title)} '
        f"({shown}{cut})"
        f'<a download="{html.escape(name)}.csv" href="{href}">download CSV</a>'
        f"</summary>{table(df.head(show), index=index)}</details>"
    )


@functools.lru_cache(maxsize=1)
def _vega_bundle() -> str:
    try:
        import vl_convert as vlc
    except ImportError as exc:
        raise missing_dependency(
            "vl-convert-python", "plot", "segmenter.reporting.page"
        ) from exc
    return vlc.javascript_bundle()


def _png(spec: dict) -> bytes:
    try:
        import vl_convert as vlc
    except ImportError as exc:
        raise missing_dependency(
            "vl-convert-python", "plot", "segmenter.reporting.page"
        ) from exc
    return vlc.vegalite_to_png(spec, scale=1.5)


class Page:
    """One self-contained HTML page, built part by part (see the module docstring).

    Parameters
    ----------
    title : str
    static : bool, default False
        Charts as embedded PNG images, and no script.
    """

    def __init__(self, title: str, static: bool = False):
        self.title = title
        self.static = static
        self.parts: list[str] = []
        self._specs: list[tuple[str, dict]] = []

    def add(self, *parts: str) -> Page:
        self.parts.extend(parts)
        return self

    def chart(self, chart, alt_text: str) -> str:
        """The HTML of one chart (an Altair chart); it is embedded when the page is
        written."""
        spec = chart.to_dict()
        key = f"chart-{len(self._specs) + 1}"
        self._specs.append((key, spec))
        label = html.escape(alt_text)
        if self.static:
            data = base64.b64encode(_png(spec)).decode("ascii")
            return (
                f'<figure class="chart" id="{key}">'
                f'<img alt="{label}" src="data:image/png;base64,{data}"></figure>'
            )
        text = json.dumps(spec, default=str).replace("</", "<\\/")
        return (
            f'<figure class="chart" id="{key}" aria-label="{label}"></figure>'
            f'<script type="application/json" data-chart="{key}">{text}</script>'
        )

    @staticmethod
    def figures(items: dict) -> str:
        """Key figures as a row of tiles (``{label: value}``)."""
        tiles = "".join(
            f"<div><dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd></div>"
            for k, v in items.items()
        )
        return f'<dl class="figures">{tiles}</dl>'

    @staticmethod
    def picker(names: dict) -> str:
        """The segment picker: every chart about segments shows the picked one."""
        from .charts import ALL

        opts = f'<option value="{ALL}">all segments</option>' + "".join(
            f'<option value="{html.escape(n)}">{html.escape(n)}</option>'
            for n in names.values()
        )
        return (
            '<div class="picker"><label for="segment-picker">Show segment: </label>'
            f'<select id="segment-picker">{opts}</select></div>'
        )

    def html(self) -> str:
        from .charts import PICK

        scripts = [f"<script>{_SCRIPT}</script>"]
        if self._specs and not self.static:
            scripts.append(
                f'<script type="module">{_vega_bundle()}\n'
                f"{_EMBED % {'pick': PICK}}</script>"
            )
        return "\n".join(
            [
                "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style>"
                "</head><body>",
                *self.parts,
                *scripts,
                "</body></html>",
            ]
        )

    def write(self, path):
        from pathlib import Path

        out = Path(path)
        with atomic_write(out, "w", encoding="utf-8") as fh:
            fh.write(self.html())
        return out


def html_page(path, title: str, parts: list):
    """Write one self-contained HTML page (the report's style) atomically."""
    return Page(title).add(*parts).write(path)
