"""The side by side's report (remat_torch.compile_frontier): the table of
rows, the PyTorch points no remat point beats, remat at PyTorch's bytes
budget by budget, and one SVG per model and metric.

``python -m remat_torch.frontier_report DIR`` writes ``DIR/frontier.md``
and the SVGs again from ``DIR/frontier.json``, without compiling anything.
"""

from __future__ import annotations

import json
import os
import statistics
import sys

from .export import write_text

def _mib(b):
    return f"{b / 2 ** 20:.2f}"


def table(rows) -> str:
    """Every row as a markdown table; remat rows with their planned and
    realised peaks, notes and, at PyTorch's bytes, PyTorch's set in remat's
    model."""
    out = ["| model | partitioner | budget | peak MiB | step ms median (min) "
           "| recomputed MFLOP | remat: planned / realised peak MiB "
           "(store-all) | notes |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['model']} | {r['partitioner']} | "
                       f"{r['budget']:.0%} | — | — | — | — | {r['error']} |")
            continue
        extra, notes = "", ""
        if r["partitioner"].startswith("remat") and r.get("remat"):
            rep = r["remat"][0]
            extra = (f"{_mib(rep['planned_peak'])} / "
                     f"{_mib(rep['realised_peak'])} "
                     f"({_mib(rep['store_all_peak'])})")
            notes = "; ".join(n for rr in r["remat"] for n in rr["notes"]
                              if "cheap forward" not in n)
            ref = rep.get("reference")
            if ref:
                notes = "; ".join(x for x in (
                    f"PyTorch {ref['solver']}'s set in remat's model: "
                    f"{_mib(ref['peak_bytes'])} MiB, {ref['time']:.0f} us "
                    f"(remat {rep['realised_time_us']:.0f} us)", notes) if x)
        out.append(f"| {r['model']} | {r['partitioner']} | "
                   f"{r['budget']:.0%} | {_mib(r['peak_bytes'])} | "
                   f"{r['step_ms']:.1f} "
                   f"({r.get('step_ms_min', r['step_ms']):.1f}) | "
                   f"{r['recomputed_flops'] / 1e6:.1f} | {extra} | {notes} |")
    return "\n".join(out)


def dominance(rows) -> list:
    """Per model, the PyTorch points no remat point beats: a remat point
    beats one when its measured peak is no higher and its median step time
    (criterion ``"step_ms"``) or recomputed FLOPs (``"recomputed_flops"``)
    no higher; ties count as beaten, with no noise margin. Rows with an
    error take no part. Returns one dict per model: ``points`` (how many
    PyTorch points) and, under each criterion's key, the PyTorch rows left
    unbeaten."""
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        ok = [r for r in rows if r["model"] == model and "error" not in r]
        ours = [r for r in ok if r["partitioner"].startswith("remat")]
        theirs = [r for r in ok if not r["partitioner"].startswith("remat")]
        entry = {"model": model, "points": len(theirs)}
        for on in ("step_ms", "recomputed_flops"):
            entry[on] = [t for t in theirs if not any(
                r["peak_bytes"] <= t["peak_bytes"] and r[on] <= t[on]
                for r in ours)]
        out.append(entry)
    return out


def dominance_table(rows) -> str:
    """:func:`dominance` as a markdown table, one line per model, each
    unbeaten PyTorch point with its peak, median step time and FLOPs."""
    def points(rs):
        return ", ".join(f"{r['partitioner'][8:]} {r['budget']:.0%} "
                         f"({_mib(r['peak_bytes'])} MiB, {r['step_ms']:.1f} "
                         f"ms, {r['recomputed_flops'] / 1e6:.1f} MFLOP)"
                         for r in rs) or "none"
    out = ["| model | PyTorch points | not beaten on peak and step time "
           "| not beaten on peak and recomputed FLOPs |",
           "|---|---|---|---|"]
    for e in dominance(rows):
        out.append(f"| {e['model']} | {e['points']} | {points(e['step_ms'])} "
                   f"| {points(e['recomputed_flops'])} |")
    return "\n".join(out)


def svg(rows, model, metric="step_ms") -> str:
    """Peak (x) against step time or recomputed MFLOP (y), one colour per
    partitioner."""
    pts = [r for r in rows if r["model"] == model and "error" not in r]
    scale = 1e-6 if metric == "recomputed_flops" else 1.0
    label = "recomputed MFLOP" if metric == "recomputed_flops" else "step ms"

    def yv(r):
        return r[metric] * scale
    w, h, pad = 560, 360, 60
    xs = [r["peak_bytes"] / 2 ** 20 for r in pts]
    ys = [yv(r) for r in pts]
    x0, x1 = min(xs) * 0.95, max(xs) * 1.05
    y0, y1 = min(ys) * 0.9, max(ys) * 1.1 + 1e-9

    def px(x):
        return pad + (x - x0) / (x1 - x0 or 1) * (w - 2 * pad)

    def py(y):
        return h - pad - (y - y0) / (y1 - y0 or 1) * (h - 2 * pad)
    colours = {"remat": "#d62728", "remat-at-pytorch": "#ff7f0e",
               "remat-at-pytorch-greedy": "#bcbd22",
               "remat-at-pytorch-ilp": "#7f7f7f",
               "pytorch-greedy": "#1f77b4",
               "pytorch-dp": "#2ca02c", "pytorch-ilp": "#9467bd",
               "pytorch-greedy-guarded": "#17becf",
               "pytorch-dp-guarded": "#8c564b",
               "pytorch-ilp-guarded": "#e377c2"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" '
             f'height="{h}" font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">'
             f'{model}: measured step peak vs {label} (CPU)</text>',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" '
             f'stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" '
             f'stroke="black"/>',
             f'<text x="{w / 2}" y="{h - 20}" text-anchor="middle">peak above the '
             f'step\'s start, MiB (with parameter gradients), {x0:.2f}–{x1:.2f}</text>',
             f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" '
             f'text-anchor="middle">{label}, {y0:.1f}–{y1:.1f}</text>']
    shown = 0  # legend lines so far: only the series drawn get one
    for name, colour in colours.items():
        series = sorted((r for r in pts if r["partitioner"] == name),
                        key=lambda r: r["peak_bytes"])
        if not series:
            continue
        coords = " ".join(f"{px(r['peak_bytes'] / 2 ** 20):.1f},"
                          f"{py(yv(r)):.1f}" for r in series)
        parts.append(f'<polyline points="{coords}" fill="none" '
                     f'stroke="{colour}" stroke-width="1.5"/>')
        for r in series:
            parts.append(f'<circle cx="{px(r["peak_bytes"] / 2 ** 20):.1f}" '
                         f'cy="{py(yv(r)):.1f}" r="3.5" '
                         f'fill="{colour}"><title>{name} '
                         f'{r["budget"]:.0%}</title></circle>')
        parts.append(f'<text x="{w - pad - 110}" y="{pad + 14 * shown}" '
                     f'fill="{colour}">● {name}</text>')
        shown += 1
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _round_diffs(ours, theirs):
    """remat − PyTorch step time (ms) in each timed round both ran, or None
    when the rows do not carry their rounds (runs before 2026-12-07's
    third) or not the same number of them."""
    a, b = ours.get("step_ms_rounds"), theirs.get("step_ms_rounds")
    if not a or not b or len(a) != len(b):
        return None
    return [x - y for x, y in zip(a, b)]


def paired(rows) -> list:
    """Budget by budget, remat at PyTorch's bytes against each PyTorch row
    at the same b: ``pytorch-SOLVER[-guarded]`` against
    ``remat-at-pytorch-SOLVER`` (remat at the bytes of that solver's
    choice), or ``remat-at-pytorch`` (dp's) where the solver has no row of
    its own (runs before each solver got one). One dict per pair, by model
    and budget, with both rows, ``peak_le`` (remat's measured peak no higher), ``dt`` (the median
    of the per-round differences of step time, ms, remat − PyTorch: both
    ran in every round, so a slow spell of the machine falls on both;
    the difference of the medians for rows without rounds, ``rounds`` 0),
    ``faster`` (rounds in which remat's step was faster, of ``rounds``) and
    ``time_le`` (dt <= 0). Rows with an error take no part."""
    ok = [r for r in rows if "error" not in r]
    ours_at = {(r["model"], r["budget"], r["partitioner"]): r for r in ok
               if r["partitioner"].startswith("remat-at-pytorch")}
    out = []
    for theirs in (r for r in ok if r["partitioner"].startswith("pytorch-")):
        key = (theirs["model"], theirs["budget"])
        solver = theirs["partitioner"].split("-")[1]
        ours = (ours_at.get(key + (f"remat-at-pytorch-{solver}",))
                or ours_at.get(key + ("remat-at-pytorch",)))
        if ours is None:
            continue
        diffs = _round_diffs(ours, theirs)
        dt = (statistics.median(diffs) if diffs
              else ours["step_ms"] - theirs["step_ms"])
        out.append({"remat": ours, "pytorch": theirs,
                    "peak_le": ours["peak_bytes"] <= theirs["peak_bytes"],
                    "dt": dt, "time_le": dt <= 0,
                    "faster": sum(d < 0 for d in diffs or ()),
                    "rounds": len(diffs or ())})
    models = list(dict.fromkeys(r["model"] for r in rows))
    return sorted(out, key=lambda p: (models.index(p["remat"]["model"]),
                                      p["remat"]["budget"]))


def paired_table(rows) -> str:
    """:func:`paired` as a markdown table (differences remat − PyTorch)."""
    out = ["| model | budget | PyTorch | PyTorch: peak MiB, ms, MFLOP | "
           "remat at its bytes: peak MiB, ms, MFLOP | Δ peak KiB | Δ ms "
           "(rounds remat faster) | peak and time no higher |",
           "|---|---|---|---|---|---|---|---|"]
    for p in paired(rows):
        a, b = p["remat"], p["pytorch"]
        verdict = {(True, True): "yes", (True, False): "peak only",
                   (False, True): "time only", (False, False): "no"}[
                       (p["peak_le"], p["time_le"])]
        out.append(
            f"| {a['model']} | {a['budget']:.0%} | {b['partitioner'][8:]} | "
            f"{_mib(b['peak_bytes'])}, {b['step_ms']:.2f}, "
            f"{b['recomputed_flops'] / 1e6:.1f} | {_mib(a['peak_bytes'])}, "
            f"{a['step_ms']:.2f}, {a['recomputed_flops'] / 1e6:.1f} | "
            f"{(a['peak_bytes'] - b['peak_bytes']) / 1024:+.1f} | "
            f"{p['dt']:+.2f}"
            + (f" ({p['faster']} of {p['rounds']})" if p["rounds"]
               else " (medians)")
            + f" | {verdict} |")
    return "\n".join(out)


def write_report(doc: dict, out: str) -> None:
    """``out/frontier.md`` and the SVGs of every model in ``doc`` (the
    content of frontier.json)."""
    rows = doc["rows"]
    for name in dict.fromkeys(r["model"] for r in rows):
        if all("error" in r for r in rows if r["model"] == name):
            continue  # nothing to draw: the table names each error
        for metric in ("step_ms", "recomputed_flops"):
            write_text(svg(rows, name, metric), os.path.join(
                out, f"frontier-{name}-{metric}.svg"))
    text = (table(rows) + "\n\nPyTorch points no remat point beats (a "
            "remat point beats one with a peak and a median step time, or "
            "recomputed FLOPs, no higher):\n\n" + dominance_table(rows)
            + "\n")
    if any(r["partitioner"].startswith("remat-at-pytorch") for r in rows):
        text += ("\nBudget by budget: remat planned at the bytes PyTorch's "
                 "own choice at that budget reaches in remat's model "
                 "(remat-at-pytorch for dp, remat-at-pytorch-SOLVER for "
                 "the others), against each PyTorch row of that solver at "
                 "the same budget:\n\n" + paired_table(rows) + "\n")
    write_text(text, os.path.join(out, "frontier.md"))


_ROW_FIELDS = {"model": str, "partitioner": str, "budget": (int, float)}
_MEASURED = ("peak_bytes", "step_ms", "recomputed_flops")


def check_rows(rows) -> str | None:
    """None when ``rows`` is a list of rows the report can read: each with
    a model, a partitioner and a budget, and either an ``error`` or the
    measured peak, step time and recomputed FLOPs as numbers (and, for a
    remat row, its list of partition reports); else what is wrong, naming
    the row."""
    if not isinstance(rows, list):
        return "no list of rows under \"rows\""
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            return f"row {i} is not an object"
        for key, kind in _ROW_FIELDS.items():
            if not isinstance(r.get(key), kind):
                return f"row {i}: {key!r} missing or not a {kind}"
        if "error" in r:
            continue
        for key in _MEASURED:
            if not isinstance(r.get(key), (int, float)):
                return f"row {i} ({r['model']}, {r['partitioner']}): " \
                       f"{key!r} missing or not a number"
        where = f"row {i} ({r['model']}, {r['partitioner']})"
        problem = _check_timing(r)
        if problem is None and r["partitioner"].startswith("remat"):
            problem = _check_reports(r.get("remat"))
        if problem:
            return f"{where}: {problem}"
    return None


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_timing(r) -> str | None:
    """The optional timing fields a row may carry, when present."""
    if "step_ms_min" in r and not _is_number(r["step_ms_min"]):
        return "'step_ms_min' not a number"
    rounds = r.get("step_ms_rounds")
    if rounds is not None and not (isinstance(rounds, list) and all(
            _is_number(x) for x in rounds)):
        return "'step_ms_rounds' not a list of numbers"
    return None


_REPORT_NUMBERS = ("planned_peak", "realised_peak", "store_all_peak",
                   "realised_time_us")


def _check_reports(reps) -> str | None:
    """A remat row's partition reports: the fields :func:`table` reads."""
    if not isinstance(reps, list):
        return "no 'remat' list of partition reports"
    for k, rep in enumerate(reps):
        if not isinstance(rep, dict):
            return f"report {k} is not an object"
        for key in _REPORT_NUMBERS:
            if not _is_number(rep.get(key)):
                return f"report {k}: {key!r} missing or not a number"
        if not isinstance(rep.get("notes"), list) or not all(
                isinstance(x, str) for x in rep["notes"]):
            return f"report {k}: 'notes' not a list of strings"
        ref = rep.get("reference")
        if ref is not None and not (
                isinstance(ref, dict) and isinstance(ref.get("solver"), str)
                and _is_number(ref.get("peak_bytes"))
                and _is_number(ref.get("time"))):
            return (f"report {k}: 'reference' without its solver, "
                    f"peak_bytes and time")
    return None


def main(argv=None) -> int:
    """``python -m remat_torch.frontier_report DIR``: 0 when written (or
    for --help), 2 when DIR/frontier.json is missing, unreadable or has a
    row without the fields the report reads (:func:`check_rows`)."""
    argv = sys.argv[1:] if argv is None else argv
    usage = ("usage: python -m remat_torch.frontier_report DIR\n"
             "Writes DIR/frontier.md and DIR/frontier-MODEL-METRIC.svg again "
             "from DIR/frontier.json\n(written by remat_torch.compile_frontier"
             "), without compiling anything.")
    if argv in (["-h"], ["--help"]):
        print(usage)
        return 0
    if len(argv) != 1 or argv[0].startswith("-"):
        print(usage, file=sys.stderr)
        return 2
    path = os.path.join(argv[0], "frontier.json")
    try:
        with open(path) as f:
            doc = json.load(f)
        problem = check_rows(doc.get("rows") if isinstance(doc, dict)
                             else None)
    except (OSError, ValueError) as err:
        problem = str(err)
    if problem:
        print(f"remat_torch.frontier_report: {path}: {problem}",
              file=sys.stderr)
        return 2
    write_report(doc, argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
