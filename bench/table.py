"""The benchmark's one table: rows under fixed columns, each target's verdict beside its figure.

Columns with no value in any row are left out, so a run with --skip-http or --skip-build prints
the same table less the empty columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    label: str  # the target column: "≤ 10× tantivy"
    name: str  # the summary line: "build ≤ 10× tantivy"
    met: bool


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[dict[str, str]] = field(default_factory=list)
    verdicts: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, area: str, figure: str, target: Target | None = None, **cells: str) -> None:
        row = {"area": area, "figure": figure, **cells, "target": "", "ok": ""}
        if target is not None:
            row["target"], row["ok"] = target.label, "PASS" if target.met else "FAIL"
            self.verdicts.append((target.name, target.met))
        self.rows.append(row)

    def render(self) -> str:
        """The table as Markdown, columns padded to line up in a terminal too."""
        cols = [c for c in self.columns if any(r.get(c) for r in self.rows) or c in ("area", "figure")]
        widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in self.rows)) for c in cols}

        def line(cells: dict[str, str]) -> str:
            return "| " + " | ".join(str(cells.get(c, "")).ljust(widths[c]) for c in cols) + " |"

        out = [line({c: c for c in cols}), "|" + "|".join("-" * (widths[c] + 2) for c in cols) + "|"]
        out += [line(r) for r in self.rows]
        return "\n".join(out)


def ms(value: float | None) -> str:
    """Milliseconds with about three significant figures."""
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def times(a: float, b: float) -> str:
    """How many times b a is: "2.6×"."""
    return f"{a / b:.1f}×" if b else "–"


def mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


def http_cell(m: dict) -> str:
    """requests/s · p50 ms · p99 ms, and the errors when there were any."""
    return f"{m['rps']:.0f}/s · {ms(m['p50_ms'])} · {ms(m['p99_ms'])}" + (
        f" · {m['errors']} err" if m["errors"] else ""
    )
