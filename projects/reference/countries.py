"""Build every ISO 3166-1 country from offline packages.

pycountry gives the ISO codes, names and their translations; countryinfo gives UN regions,
centroids, alternative spellings and demonyms; `country_extras.json` fills what both lack.
"""

from __future__ import annotations

import gettext
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pycountry
from django.utils.text import slugify

EXTRAS_PATH = Path(__file__).with_name("country_extras.json")
TRANSLATED_LANGUAGES = {"es": "es", "fr": "fr", "ru": "ru", "zh": "zh_CN"}
# Two- and three-letter codes in alternative spellings ("KE", "KEN") are not names.
CODE_RE = re.compile(r"^[A-Z]{2,3}$")


@cache
def _extras() -> dict:
    return json.loads(EXTRAS_PATH.read_text(encoding="utf-8"))


@cache
def _countryinfo_by_iso2() -> dict[str, dict]:
    from countryinfo import CountryInfo

    chosen: dict[str, dict] = {}
    for entry in CountryInfo.all().values():
        iso = entry.get("ISO") or {}
        code = iso.get("alpha2")
        # Some codes have several entries (Wales under GB, Burma under MM); the one carrying
        # the numeric code is the country itself.
        if code and (code not in chosen or iso.get("numeric")):
            chosen[code] = entry
    return chosen


@cache
def _translator(language: str) -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])


def _centroid(iso2: str, info: dict) -> tuple[float | None, float | None]:
    if iso2 in _extras()["centroids"]:
        return tuple(_extras()["centroids"][iso2])
    for key in ("latlng", "capital_latlng"):
        point = info.get(key) or []
        if point and isinstance(point[0], list):
            point = point[0]
        if len(point) == 2:
            return float(point[0]), float(point[1])
    return None, None


def _regions(iso2: str, info: dict) -> tuple[str, str]:
    if iso2 in _extras()["regions"]:
        return tuple(_extras()["regions"][iso2])
    region = info.get("region") or ""
    subregion = info.get("intermediateregion") or info.get("subregion") or ""
    return region, subregion.replace("South-Eastern Asia", "South-eastern Asia")


def _display_name(record, info: dict) -> str:
    """The name people use: ISO's common name, else a comma-free name ("Korea, Republic of")."""
    if record.alpha_2 in _extras()["display_names"]:
        return _extras()["display_names"][record.alpha_2]
    if getattr(record, "common_name", None):
        return record.common_name
    other = info.get("name") or ""
    if ", " in record.name and other and "," not in other:
        return other
    return record.name


def _distinct(names, exclude: str, keep: frozenset = frozenset()) -> list[str]:
    """Names in order without repeats; codes are dropped unless listed in `keep`."""
    seen = {exclude.casefold()}
    result = []
    for name in names:
        name = (name or "").strip()
        if name and name.casefold() not in seen and (name in keep or not CODE_RE.match(name)):
            seen.add(name.casefold())
            result.append(name)
    return result


def iso_countries() -> Iterator[dict]:
    """One dict per ISO 3166-1 country, with the fields of the Country model."""
    extras = _extras()["aliases"]
    for record in pycountry.countries:
        iso2 = record.alpha_2
        info = _countryinfo_by_iso2().get(iso2, {})
        name = _display_name(record, info)
        official_name = getattr(record, "official_name", "") or ""
        iso_names = [record.name, getattr(record, "common_name", None), official_name or None]
        names = {"en": name}
        translated = []
        for language, locale in TRANSLATED_LANGUAGES.items():
            translate = _translator(locale).gettext
            names[language] = translate(name)
            translated += [translate(n) for n in iso_names if n]
        latitude, longitude = _centroid(iso2, info)
        region, subregion = _regions(iso2, info)
        aliases = [
            *iso_names,
            info.get("name"),
            *(info.get("altSpellings") or []),
            info.get("nativeName"),
            info.get("demonym"),
            *extras.get(iso2, []),
            *translated,
            *(info.get("translations") or {}).values(),
        ]
        yield {
            "iso2": iso2,
            "iso3": record.alpha_3,
            "numeric": record.numeric,
            "name": name,
            "official_name": official_name,
            "slug": slugify(name),
            "region": region,
            "subregion": subregion,
            "aliases": _distinct(aliases, exclude=name, keep=frozenset(extras.get(iso2, []))),
            "names": names,
            "latitude": latitude,
            "longitude": longitude,
        }
