"""Load scenarios and the wrk driver: requests per second and latency percentiles.

Each scenario is a list of request paths drawn from the database being served (real
countries, types, statuses, slugs and names), so that a run does not hit one URL — and one
cached answer — over and over. wrk opens `connections` keep-alive connections (the
concurrent clients) and each sends its next request as soon as the previous one is
answered, choosing the path at random; a Lua script reports p50/p95/p99 and the non-2xx
answers as JSON.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

SCRIPT = r"""
local paths = {}
local threads = {}

setup = function(thread)
    table.insert(threads, thread)
end

init = function(args)
    for line in io.lines(args[1]) do
        paths[#paths + 1] = line
    end
    hits, misses = 0, 0
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
    return wrk.format("GET", paths[math.random(#paths)])
end

response = function(status, headers, body)
    local cache = headers["X-Cache"]
    if cache == "hit" then
        hits = hits + 1
    elseif cache == "miss" then
        misses = misses + 1
    end
end

done = function(summary, latency, requests)
    local errors = summary.errors
    local all_hits, all_misses = 0, 0
    for _, thread in ipairs(threads) do
        all_hits = all_hits + thread:get("hits")
        all_misses = all_misses + thread:get("misses")
    end
    io.write("WRK_JSON ", string.format(
        '{"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx": %d, ' ..
        '"socket_errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, ' ..
        '"mean_us": %.1f, "cache_hits": %d, "cache_misses": %d}\n',
        summary.requests, summary.duration, summary.bytes, errors.status,
        errors.connect + errors.read + errors.write + errors.timeout,
        latency:percentile(50), latency:percentile(95), latency:percentile(99),
        latency.max, latency.mean, all_hits, all_misses))
end
"""


@dataclass
class Scenario:
    key: str
    title: str
    paths: list[str]


@dataclass
class Result:
    scenario: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    mean_kb: float
    hit_rate: float | None

    def row(self, title: str) -> str:
        hits = "—" if self.hit_rate is None else f"{100 * self.hit_rate:.0f} %"
        return (
            f"| {title} | {self.rps:,.0f} | {self.p50_ms:.1f} | {self.p95_ms:.1f} | "
            f"{self.p99_ms:.1f} | {self.non_2xx + self.socket_errors} | {self.mean_kb:.1f} | "
            f"{hits} |"
        )


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    base_url: str,
    paths: list[str],
    *,
    seconds: int,
    connections: int = 8,
    threads: int = 2,
    scenario: str = "",
) -> Result:
    """Run wrk against `base_url` with `paths` chosen at random; returns its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        script, listing = Path(tmp, "paths.lua"), Path(tmp, "paths.txt")
        script.write_text(SCRIPT)
        listing.write_text("\n".join(paths) + "\n")
        completed = subprocess.run(
            [
                wrk_path() or "wrk",
                f"--threads={min(threads, connections)}",
                f"--connections={connections}",
                f"--duration={seconds}s",
                "--timeout=10s",
                f"--script={script}",
                base_url,
                "--",
                str(listing),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    duration = data["duration_us"] / 1e6
    return Result(
        scenario=scenario,
        requests=data["requests"],
        seconds=round(duration, 1),
        rps=data["requests"] / duration if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        mean_kb=data["bytes"] / max(data["requests"], 1) / 1024,
        hit_rate=(
            data["cache_hits"] / (data["cache_hits"] + data["cache_misses"])
            if data["cache_hits"] + data["cache_misses"]
            else None
        ),
    )


def listing_filters(*, count: int, seed: int) -> list[tuple[str, str, str]]:
    """(country code, type slug, status) triples that published projects have, drawn in
    proportion to how many projects have them: what analysts ask for."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.iso2, t.slug, p.status FROM projects_project p "
            "JOIN projects_projectcountry pc ON pc.project_id = p.id "
            "JOIN projects_country c ON c.id = pc.country_id "
            "JOIN projects_projecttype t ON t.id = p.project_type_id "
            "WHERE p.publication = 'published' ORDER BY random() LIMIT %s",
            [count * 20],
        )
        triples = cursor.fetchall()
    rng = random.Random(seed)
    rng.shuffle(triples)
    return list(dict.fromkeys(triples))[:count]


def scenarios(triples: list[tuple[str, str, str]], *, seed: int = 7, size: int = 300):
    """The request mixes the Performance issue names, from the data being served; the
    listings use `triples` (see listing_filters), the peer's too."""
    from projects.models import Company, Country, Project, ProjectType

    rng = random.Random(seed)
    published = Project.objects.published()
    slugs = list(published.order_by("?").values_list("slug", flat=True)[:size])
    countries = list(Country.objects.values_list("iso2", "name"))
    companies = list(Company.objects.order_by("?").values_list("name", flat=True)[: size // 3])
    types = list(ProjectType.objects.values_list("slug", "name"))
    words = ["submarine cable", "data centre", "5G network", "smart city", "BeiDou", "cloud"]
    terms = [name for _, name in rng.sample(countries, min(len(countries), size // 3))]
    terms += [name.rsplit(" ", 1)[0] for name in companies]
    terms += [f"{rng.choice(words)} {rng.choice(countries)[1]}" for _ in range(size // 3)]
    statuses = ["operational", "planned", "announced", "under_construction"]

    def listing(country, type_, status):
        return urlencode({"country": country, "type": type_, "status": status})

    stats = ["/api/v1/stats/?group_by=country"]
    stats += [f"/api/v1/stats/?group_by=country&type={slug}" for slug, _ in types]
    stats += [f"/api/v1/stats/?group_by=country&status={status}" for status in statuses]
    return [
        Scenario(
            "list",
            "API project list, three filters (country, type, status)",
            [f"/api/v1/projects/?{listing(*t)}" for t in triples],
        ),
        Scenario("detail", "API project detail", [f"/api/v1/projects/{s}/" for s in slugs]),
        Scenario(
            "search",
            "API full-text search (`q`)",
            [f"/api/v1/projects/?q={quote(term)}" for term in terms],
        ),
        Scenario("stats", "API `stats/?group_by=country`", stats),
        Scenario(
            "country_page",
            "Country page",
            [f"/countries/{iso2}/" for iso2, _ in rng.sample(countries, min(len(countries), size))],
        ),
        Scenario(
            "list_page",
            "Project list page, three filters",
            [f"/projects/?{listing(*t)}" for t in triples],
        ),
    ]
