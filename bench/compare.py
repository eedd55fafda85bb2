"""Compare two benchmark runs page by page: is the cost flat in the number of members?

    python -m bench.compare bench/results/scale/pg-10k.json bench/results/scale/pg-1m.json

For each page (row key) in both files it prints p50 at A and at B, the ratio B/A and the
query counts, and judges the page flat when p50(B) <= 1.25 x p50(A) (`--limit`) and the
query counts are equal. Exits 0 when every page present in both runs is flat, else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LIMIT = 1.25


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    p50_a: float
    p50_b: float
    queries_a: int | None
    queries_b: int | None
    requests_a: int = 1
    requests_b: int = 1

    @property
    def ratio(self) -> float:
        return self.p50_b / self.p50_a if self.p50_a else float("inf")

    def problems(self, limit: float) -> list[str]:
        """Why the page is not flat (empty when it is)."""
        found = []
        if not (self.requests_a and self.requests_b):
            # Slower than a whole window: there is no p50 to compare.
            found.append("no request finished in its window")
        elif self.ratio > limit:
            found.append(f"p50 x{self.ratio:.2f}")
        if self.queries_a is None or self.queries_b is None:
            found.append("queries not counted")
        elif self.queries_a != self.queries_b:
            found.append(f"queries {self.queries_a} -> {self.queries_b}")
        return found


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "results" not in document:
        raise ValueError(f"{path} is not a benchmark result (no 'results').")
    return document


def members_of(document: dict[str, Any]) -> int:
    return int(document.get("data", {}).get("members") or document["options"]["members"])


def pages(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[Page], list[str]]:
    """The rows present in both runs, in A's order, and the keys only one run has."""
    rows_b = {row["key"]: row for row in b["results"]}
    keys_a = [row["key"] for row in a["results"]]
    both = [
        Page(
            key=row["key"],
            label=row["label"],
            p50_a=row["p50_ms"],
            p50_b=rows_b[row["key"]]["p50_ms"],
            queries_a=row.get("queries"),
            queries_b=rows_b[row["key"]].get("queries"),
            requests_a=row.get("requests", 1),
            requests_b=rows_b[row["key"]].get("requests", 1),
        )
        for row in a["results"]
        if row["key"] in rows_b
    ]
    only = [key for key in keys_a if key not in rows_b] + [
        key for key in rows_b if key not in keys_a
    ]
    return both, only


def compare(a: dict[str, Any], b: dict[str, Any], *, limit: float = LIMIT) -> tuple[str, bool]:
    """The comparison as text, and whether every page is flat."""
    both, only = pages(a, b)
    members_a, members_b = members_of(a), members_of(b)
    line = "{:<34}  {:>9}  {:>9}  {:>6}  {:>9}  {:<}"
    heading = line.format("page", "p50 A ms", "p50 B ms", "B/A", "queries", "verdict")
    lines = [
        f"A: {members_a:,} members ({a.get('generated_at', '?')}), "
        f"B: {members_b:,} members ({b.get('generated_at', '?')})",
        heading,
        "-" * len(heading),
    ]
    not_flat = []
    for page in both:
        problems = page.problems(limit)
        if problems:
            not_flat.append(page.label)
        queries = f"{_count(page.queries_a)} / {_count(page.queries_b)}"
        verdict = "flat" if not problems else "NOT FLAT: " + ", ".join(problems)
        lines.append(
            line.format(
                page.label,
                f"{page.p50_a:.1f}",
                f"{page.p50_b:.1f}",
                f"{page.ratio:.2f}",
                queries,
                verdict,
            ).rstrip()
        )
    flat = not not_flat
    lines.append(
        f"Flat (p50 B <= {limit:g} x p50 A, same queries): {len(both) - len(not_flat)} of "
        f"{len(both)} pages." + (" Not flat: " + "; ".join(not_flat) + "." if not_flat else "")
    )
    if only:
        lines.append("In one run only (not compared): " + ", ".join(only) + ".")
    return "\n".join(lines), flat


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("a", type=Path, help="the run with fewer members (JSON)")
    parser.add_argument("b", type=Path, help="the run with more members (JSON)")
    parser.add_argument(
        "--limit", type=float, default=LIMIT, help=f"largest flat p50 ratio B/A ({LIMIT})"
    )
    args = parser.parse_args(argv)
    try:
        text, flat = compare(load(args.a), load(args.b), limit=args.limit)
    except (OSError, ValueError, KeyError) as error:
        parser.error(str(error))
    print(text)
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
