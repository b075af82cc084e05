"""Unpublished projects (draft, in review) never reach a visitor: not in any list, detail,
search, statistic, export or page, not through a filter that names them, not through a count,
and not through the visitors' response cache. Anonymous visitors and signed-in accounts
without permissions are both checked; an Editor is shown the same addresses, to prove that
the tell-tale strings would be found if they leaked.

Every URL pattern of the site is walked (`django.urls.get_resolver()`): a new page or
endpoint fails `test_every_route_is_walked` until it is given its addresses here."""

from __future__ import annotations

import datetime as dt
import functools
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from projects.models import (
    Citation,
    Company,
    Country,
    CountryRole,
    Initiative,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    Publication,
    SourceDocument,
)
from projects.roles import EDITOR
from projects.stats import GROUPINGS, YEAR_FIELDS

pytestmark = pytest.mark.django_db

# In every text field of the unpublished projects and of what only they hold; it occurs
# nowhere else, in no casing.
MARKER = "zqxdraftleak"
# The draft's value in USD, as JSON or CSV writes it and as the pages group its digits.
VALUE = ("987654321", "987,654,321")
# A word of the draft's description only: a search for it is no echo of the marker.
SEARCH_WORD = "quokkafibre"
DRAFT_SLUG = f"{MARKER}-cable"
REVIEW_SLUG = f"{MARKER}-in-review"
TELLS = (MARKER, *VALUE)
VISITORS = ("anonymous", "user")


@pytest.fixture
def world(db):
    """Two unpublished projects with the marker everywhere, tied to a country that has no
    published project (Antarctica), one that has (Kenya), an organisation of their own and a
    famous one, an initiative, and a public source document that cites them."""
    only_theirs = Company.objects.create(
        slug="leakcheck-holdings", name="Leakcheck Holdings", description=""
    )
    document = SourceDocument.objects.create(
        title="Leakcheck field report", url="https://example.org/leakcheck"
    )
    draft = Project.objects.create(
        name=f"{MARKER.capitalize()} cable",
        slug=DRAFT_SLUG,
        aliases=[f"{MARKER} alias"],
        description=f"A {SEARCH_WORD} cable to the pole ({MARKER} description).",
        project_type=ProjectType.objects.get(slug="science-park"),
        status="suspended",
        value_amount=VALUE[0],
        value_currency="USD",
        value_usd=VALUE[0],
        announced_on=dt.date(1901, 1, 1),
        announced_precision="year",
        length_km="4321.9",
        capacity=f"{MARKER} Tbps",
        latitude=-77.5,
        longitude=166.6,
        external_ids={"leakcheck": MARKER},
        publication=Publication.DRAFT,
    )
    review = Project.objects.create(
        name=f"{MARKER.capitalize()} in review",
        slug=REVIEW_SLUG,
        description=f"Waiting for a reviewer ({MARKER}, {SEARCH_WORD}).",
        project_type=ProjectType.objects.get(slug="science-park"),
        status="suspended",
        publication=Publication.IN_REVIEW,
    )
    for project in (draft, review):
        ProjectCountry.objects.create(
            project=project, country=Country.objects.get(iso2="AQ"), role=CountryRole.HOST
        )
        ProjectCountry.objects.create(
            project=project, country=Country.objects.get(iso2="KE"), role=CountryRole.TRANSIT
        )
        ProjectCompany.objects.create(project=project, company=only_theirs, role="owner")
        ProjectCompany.objects.create(
            project=project, company=Company.objects.get(slug="huawei"), role="contractor"
        )
        ProjectInitiative.objects.create(
            project=project, initiative=Initiative.objects.get(slug="digital-silk-road")
        )
    citation = Citation.objects.create(
        project=draft,
        document=document,
        claim="value",
        quote=f"The {MARKER} quote.",
        location=f"p. {MARKER}",
    )
    return {"draft": draft, "review": review, "document": document, "citation": citation}


def _account(name: str, group: str | None = None):
    user = get_user_model().objects.create_user(name, password="x")
    if group:
        user.groups.add(Group.objects.get(name=group))
    Token.objects.create(user=user)
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def clients(db) -> dict[str, Client]:
    """A browser per actor; the signed-in ones carry a session (pages and API alike)."""
    anonymous, user, editor = Client(), Client(), Client()
    user.force_login(_account("nobody"))
    editor.force_login(_account("leak-editor", EDITOR))
    return {"anonymous": anonymous, "user": user, "editor": editor}


def seen(response) -> str:
    """All a client is given: the headers (Link, X-Total-Count, Location…) and the body."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return (headers + "\n" + body.decode("utf-8", "replace")).lower()


def leaks(text: str, tells=TELLS, *, echoed: str = "") -> list[str]:
    """The tells found in `text`, once what the request itself sent (`echoed`) is removed."""
    if echoed:
        text = text.replace(echoed.lower(), "")
    return [tell for tell in tells if tell.lower() in text]


# The addresses of every route ----------------------------------------------------------------


def _routes(resolver=None, namespace: str = ""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or f'<unnamed {pattern.pattern}>'}"


@functools.cache
def site_routes() -> tuple[str, ...]:
    # Read while collecting: load the URLconf as the tests run it (pytest-django turns DEBUG
    # off), not with the development default, which would add the media route for everyone.
    with override_settings(DEBUG=False):
        return tuple(sorted(set(_routes())))


# Routes not walked here, and why.
NOT_WALKED = {
    "admin": "every admin view sends visitors to log in: test_permission_matrix.py",
    "projects:healthz": "liveness: a fixed answer, no content",
    "projects:readyz": "readiness: database and broker, no content",
}


def _not_walked(route: str) -> bool:
    return route in NOT_WALKED or route.split(":")[0] in NOT_WALKED


class Address:
    """A GET to make. `shown`: the tells an editor must find there (the proof that a leak
    would be seen). `like_unknown`: the address names the unpublished entry itself, so a
    visitor must get exactly what an address naming nothing gets."""

    def __init__(self, url: str, query=None, *, shown=(MARKER,), like_unknown: str = ""):
        self.url = url
        self.query = query or {}
        self.shown = shown
        self.like_unknown = like_unknown

    def __repr__(self) -> str:
        return f"{self.url}?{self.query}"


def _project_filters() -> list[dict]:
    """Project filters that all select the unpublished projects."""
    return [
        {},
        {"country": "AQ"},
        {"country": "KE", "ordering": "-updated"},
        {"region": "Africa"},
        {"company": "leakcheck-holdings"},
        {"company": "huawei", "company_role": "contractor"},
        {"type": "science-park"},
        {"initiative": "digital-silk-road"},
        {"status": "suspended"},
        {"q": SEARCH_WORD},
        {"announced_from": 1900, "announced_to": 1902},
        {"value_min": 987654320},
        {"updated_since": (dt.date.today() - dt.timedelta(days=1)).isoformat()},
        {"has_citations": "false"},
        {"ordering": "-value_usd"},
    ]


def addresses(route: str, world) -> list[Address]:
    """The addresses of a route, with the queries that would show the unpublished projects."""
    document, citation = world["document"], world["citation"]
    project_filters = _project_filters()
    pages = {
        "projects:home": [Address("/")],
        # The page computes its facets for every query: a few filters are enough here.
        "projects:project-list": [Address("/projects/", q) for q in project_filters[::2]],
        "projects:project-detail": [
            Address(f"/projects/{DRAFT_SLUG}/", like_unknown=DRAFT_SLUG),
            Address(f"/projects/{REVIEW_SLUG}/", like_unknown=REVIEW_SLUG),
        ],
        "projects:country-list": [
            Address("/countries/", shown=()),
            Address("/countries/", {"has_projects": "true"}, shown=()),
            Address("/countries/", {"ordering": "-project_count"}, shown=()),
        ],
        "projects:country-detail": [
            Address("/countries/aq/"),
            Address("/countries/ke/"),
            Address("/countries/aq/", {"status": "suspended"}),
        ],
        "projects:company-list": [
            Address("/companies/", shown=()),
            Address("/companies/", {"ordering": "-project_count"}, shown=()),
        ],
        "projects:company-detail": [
            Address("/companies/leakcheck-holdings/"),
            Address("/companies/huawei/"),
        ],
        "projects:document-list": [
            Address("/documents/", shown=()),
            Address("/documents/", {"q": "leakcheck"}, shown=()),
        ],
        "projects:document-detail": [Address(f"/documents/{document.pk}/")],
        "projects:search": [
            Address("/search/", {"q": SEARCH_WORD}),
            Address("/search/", {"q": "pole cable"}),
            Address("/search/", {"q": "Leakcheck"}),
        ],
        "projects:about": [Address("/about/", shown=())],
    }
    api = "/api/v1"
    api_formats = ({}, {"format": "csv"})
    geo_formats = (*api_formats, {"format": "geojson"})
    endpoints = {
        "api:api-root": [Address(f"{api}/", shown=())],
        "api:schema": [Address(f"{api}/schema/", {"format": "json"}, shown=())],
        "api:docs": [Address(f"{api}/docs/", shown=())],
        "api:stats": [
            Address(f"{api}/stats/", {"group_by": group, **f}, shown=_stats_shown(group))
            for group in GROUPINGS
            for f in ({}, {"format": "csv"}, {"country": "AQ"}, {"status": "suspended"})
        ]
        + [
            Address(f"{api}/stats/", {"group_by": "year", "year_of": year}, shown=())
            for year in YEAR_FIELDS
        ],
        "api:project-list": [
            Address(f"{api}/projects/", {"page_size": 500, **q, **f})
            for q in project_filters
            for f in (geo_formats if q in ({}, {"country": "AQ"}) else ({},))
        ],
        "api:project-detail": [
            Address(f"{api}/projects/{slug}/", f, like_unknown=slug)
            for slug in (DRAFT_SLUG, REVIEW_SLUG)
            for f in geo_formats
        ],
        "api:country-list": [
            Address(f"{api}/countries/", {"page_size": 500, **q}, shown=())
            for q in ({}, {"has_projects": "true"}, {"format": "csv"}, {"format": "geojson"})
        ],
        "api:country-detail": [Address(f"{api}/countries/aq/", f, shown=()) for f in geo_formats],
        "api:company-list": [
            Address(f"{api}/companies/", {"page_size": 500, **q}, shown=())
            for q in ({}, {"q": "leakcheck"}, {"format": "csv"}, {"ordering": "-project_count"})
        ],
        "api:company-detail": [
            Address(f"{api}/companies/leakcheck-holdings/", f, shown=()) for f in api_formats
        ],
        "api:projecttype-list": [Address(f"{api}/project-types/", shown=())],
        "api:projecttype-detail": [Address(f"{api}/project-types/science-park/", shown=())],
        "api:initiative-list": [Address(f"{api}/initiatives/", shown=())],
        "api:initiative-detail": [Address(f"{api}/initiatives/digital-silk-road/", shown=())],
        "api:sourcedocument-list": [
            Address(f"{api}/documents/", {"page_size": 500, **f}, shown=()) for f in api_formats
        ],
        "api:sourcedocument-detail": [Address(f"{api}/documents/{document.pk}/", shown=())],
        "api:sourcedocument-mentions": [
            Address(f"{api}/documents/{document.pk}/mentions/", shown=())
        ],
        "api:sourcedocument-reprocess": [
            Address(f"{api}/documents/{document.pk}/reprocess/", shown=())
        ],
        "api:sourcedocument-fetch": [Address(f"{api}/documents/fetch/", shown=())],
        "api:citation-list": [
            Address(f"{api}/citations/", {"page_size": 500, **q})
            for q in ({}, {"document": document.pk}, {"claim": "value"}, {"format": "csv"})
        ]
        + [
            Address(f"{api}/citations/", {"project": DRAFT_SLUG}, like_unknown=DRAFT_SLUG),
        ],
        "api:citation-detail": [
            Address(f"{api}/citations/{citation.pk}/", like_unknown=str(citation.pk))
        ],
        "api:datasetimport-list": [Address(f"{api}/imports/", shown=())],
        "api:datasetimport-detail": [Address(f"{api}/imports/1/", shown=())],
        r"api:<unnamed ^[\s\S]*$>": [Address(f"{api}/{DRAFT_SLUG}/", shown=())],
    }
    if route.startswith("<unnamed ^media/"):  # uploaded files, served while DEBUG
        return [Address("/media/documents/none.txt", shown=())]
    return {**pages, **endpoints}.get(route)


def _stats_shown(group: str) -> tuple[str, ...]:
    """The draft's value is the whole of its groups' sums where no published project shares
    them: its country (Antarctica), organisation, type, status and year."""
    return () if group == "region" else (VALUE[0],)


def test_every_route_is_walked(world):
    routes = site_routes()
    assert len(routes) > 30, routes
    unwalked = [r for r in routes if not _not_walked(r) and addresses(r, world) is None]
    assert not unwalked, "give these routes their addresses in addresses()"


WALKED = [route for route in site_routes() if not _not_walked(route)]


def _stand_in(key: str) -> str:
    """A key of the same kind that names nothing."""
    return "999999999" if key.isdigit() else "no-such-entry"


def _unknown(address: Address) -> Address:
    """The same address naming an entry that does not exist."""
    key, stand_in = address.like_unknown, _stand_in(address.like_unknown)
    query = {name: str(value).replace(key, stand_in) for name, value in address.query.items()}
    return Address(address.url.replace(key, stand_in), query)


def _keyless(text: str, key: str) -> str:
    """An answer with its key written <key>, and without its length (which the key sets)."""
    return re.sub(r"content-length: \d+\n", "", text.replace(key.lower(), "<key>"))


@pytest.mark.parametrize("route", WALKED)
def test_visitors_never_see_unpublished_projects(route, world, clients):
    for address in addresses(route, world):
        for actor in VISITORS:
            response = clients[actor].get(address.url, address.query)
            text = seen(response)
            assert response.status_code < 500, (address, actor)
            assert not leaks(text, echoed=address.like_unknown), (address, actor)
            if address.like_unknown:
                # Hidden and unknown answer alike: nothing tells that the entry exists.
                unknown = _unknown(address)
                other = clients[actor].get(unknown.url, unknown.query)
                assert response.status_code == other.status_code, (address, actor)
                key = address.like_unknown
                assert _keyless(text, key) == _keyless(seen(other), _stand_in(key)), address
        editor = clients["editor"].get(address.url, address.query)
        assert editor.status_code < 400 or not address.shown, (address, editor.status_code)
        found = leaks(seen(editor), address.shown)
        assert found == list(address.shown), (address, "the editor should see", address.shown)


def test_the_unpublished_detail_is_404_for_visitors(world, clients):
    for slug in (DRAFT_SLUG, REVIEW_SLUG):
        for url in (f"/projects/{slug}/", f"/api/v1/projects/{slug}/"):
            for actor in VISITORS:
                assert clients[actor].get(url).status_code == 404, (url, actor)
                assert clients[actor].head(url).status_code == 404, (url, actor)
                options = clients[actor].options(url)
                unknown = clients[actor].options(url.replace(slug, _stand_in(slug)))
                assert (options.status_code, options.content) == (
                    unknown.status_code,
                    unknown.content,
                ), (url, actor)
            assert clients["editor"].get(url).status_code == 200, url


def _json(client, url, **query):
    response = client.get(url, query, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, (url, response.content[:200])
    return response


def test_counts_and_sums_leave_unpublished_projects_out(world, clients):
    published = Project.objects.published().count()
    unpublished = 2
    for actor, extra in (("anonymous", 0), ("user", 0), ("editor", unpublished)):
        client = clients[actor]
        projects = _json(client, "/api/v1/projects/")
        assert projects.json()["count"] == published + extra, actor
        assert projects["X-Total-Count"] == str(published + extra), actor
        antarctica = _json(client, "/api/v1/countries/aq/").json()
        assert antarctica["project_count"] == extra, actor
        theirs = _json(client, "/api/v1/companies/leakcheck-holdings/").json()
        assert theirs["project_count"] == extra, actor
        with_projects = _json(client, "/api/v1/countries/", has_projects="true", page_size=500)
        listed = {country["iso2"] for country in with_projects.json()["results"]}
        assert ("AQ" in listed) is bool(extra), actor
        for group in GROUPINGS:
            stats = _json(client, "/api/v1/stats/", group_by=group).json()
            assert stats["total"]["projects"] == published + extra, (actor, group)
            keys = {row["key"] for row in stats["results"]}
            tell = {"country": "AQ", "company": "leakcheck-holdings", "year": "1901"}.get(group)
            if tell:
                assert (tell in keys) is bool(extra), (actor, group)
        home = client.get("/")
        assert ("Antarctica" in home.content.decode()) is bool(extra), actor


@pytest.fixture
def visitor_cache(settings):
    """The visitors' response and aggregate caches on, as in production. The test's
    transaction never commits, so the content's version (part of every key) stays put: an
    answer stored for one request would be served to the next one with the same address."""
    settings.RESPONSE_CACHE_SECONDS = 600
    settings.AGGREGATE_CACHE_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


# Routes whose answers depend on the content (not the schema, its documentation, 404s).
CACHED_ROUTES = [
    route
    for route in WALKED
    if not route.startswith("<unnamed") and route not in ("api:schema", "api:docs")
]


@pytest.mark.usefixtures("visitor_cache")
@pytest.mark.parametrize("route", CACHED_ROUTES)
def test_the_visitor_cache_never_serves_an_editors_answer(route, world, clients):
    """An editor asks first, then visitors, then the editor again: the editor's answer is
    never stored for visitors, and the visitors' is never served to the editor."""
    token = Token.objects.get(user__username="leak-editor").key
    by_token = Client(HTTP_AUTHORIZATION=f"Token {token}")
    for address in addresses(route, world)[:3]:
        editors = [clients["editor"], *([by_token] if address.url.startswith("/api/") else [])]
        for editor in editors:
            first = editor.get(address.url, address.query)
            assert leaks(seen(first), address.shown) == list(address.shown), address
            assert first.status_code < 500, address
            assert not first.has_header("ETag") and not first.has_header("X-Cache"), address
        answers = [clients[actor].get(address.url, address.query) for actor in VISITORS * 2]
        for answer in answers:
            assert not leaks(seen(answer), echoed=address.like_unknown), address
        if answers[0].has_header("X-Cache"):  # a cached view (not the schema, the docs…)
            assert answers[0]["X-Cache"] == "miss" and answers[-1]["X-Cache"] == "hit", address
        for editor in editors:
            again = editor.get(address.url, address.query)
            assert leaks(seen(again), address.shown) == list(address.shown), address
            assert not again.has_header("X-Cache"), address
