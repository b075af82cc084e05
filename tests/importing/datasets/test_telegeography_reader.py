"""The TeleGeography reader turns a folder, a zip or a file of cable JSON into exchange-format
records, one row per cable; a bad cable is a row with a reason, a bad source a DatasetError.

Pure unit tests: nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zipfile
from pathlib import Path

import pytest

from projects.importing.datasets import DatasetError, DatasetRow, telegeography
from projects.importing.datasets.telegeography import (
    parse_latlon,
    parse_length,
    parse_owners,
    parse_rfs_text,
    parse_tbd,
    read,
    split_landing_point_name,
)
from projects.models.landing_points import landing_point_problem
from projects.models.source import ClaimKind

FIXTURES = Path(__file__).parent / "telegeography" / "cables"
TODAY = dt.date(2025, 6, 15)
RECORD_KEYS = {
    "name",
    "type",
    "external_ids",
    "length_km",
    "completed",
    "status",
    "companies",
    "countries",
    "landing_points",
    "sources",
    "replace_roles",
}
# Keys present only when the dataset knows the value ("n.a." leaves them out).
KNOWN_ONLY = {"length_km", "completed", "status", "companies"}
FIXTURE_ROWS = [
    "andaman-gateway.json",
    "broken.json",
    "caribbean-link-1.json",
    "gulf-loop.json",
    "korea-china-express.json",
    "meridian-east-africa.json",
    "missing-name.json",
    "silk-harbour.json",
    "west-africa-pearl.json",
]


def rows_by_name(source: Path, today: dt.date = TODAY) -> dict[str | int, DatasetRow]:
    return {row.row: row for row in read(source, today=today)}


def cable(**fields) -> dict:
    """A minimal valid cable object, with the fields a test cares about changed."""
    base = {
        "id": "test-cable",
        "name": "Test Cable",
        "length": "1,000 km",
        "rfs": "2020",
        "owners": "Owner One",
        "url": None,
        "notes": None,
        "landing_points": [
            {"id": "a", "name": "Mombasa, Kenya", "latlon": "-4.05,39.67", "is_tbd": "false"}
        ],
    }
    base.update(fields)
    return base


def record_of(tmp_path: Path, today: dt.date = TODAY, **fields) -> dict:
    row = one_row(tmp_path, today=today, **fields)
    assert row.error == "", row.error
    return row.record


def one_row(tmp_path: Path, today: dt.date = TODAY, **fields) -> DatasetRow:
    path = tmp_path / "cable.json"
    path.write_text(json.dumps(cable(**fields)))
    [row] = read(path, today=today)
    return row


def zip_folder(target: Path, folder: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir(), reverse=True):  # written out of order on purpose
            archive.write(path, prefix + path.name)
    return target


# --- sources ---------------------------------------------------------------------------------


def test_folder_rows_come_in_file_name_order_without_index_or_geometry_files():
    rows = list(read(FIXTURES, today=TODAY))

    assert [row.row for row in rows] == FIXTURE_ROWS
    assert all(isinstance(row, DatasetRow) for row in rows)


def test_reading_is_deterministic_whatever_order_the_files_were_written(tmp_path):
    for name in ["c.json", "a.json", "b.json"]:
        (tmp_path / name).write_text(json.dumps(cable(id=name[0], name=name.upper())))

    first = list(read(tmp_path, today=TODAY))

    assert [row.row for row in first] == ["a.json", "b.json", "c.json"]
    assert first == list(read(tmp_path, today=TODAY))


@pytest.mark.parametrize("prefix", ["", "cables/", "export/2025-06/cables/"])
def test_zip_reads_like_the_folder_wherever_the_folder_sits_inside(tmp_path, prefix):
    archive = zip_folder(tmp_path / "cables.zip", FIXTURES, prefix)

    assert list(read(archive, today=TODAY)) == list(read(FIXTURES, today=TODAY))


def test_zip_ignores_mac_metadata_and_picks_the_folder_with_cable_geo(tmp_path):
    archive = tmp_path / "api.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in FIXTURES.iterdir():
            zipped.write(path, f"v3/cable/{path.name}")
        zipped.writestr("v3/landing-point/mombasa-kenya.json", '{"id": "m", "name": "Mombasa"}')
        zipped.writestr("__MACOSX/v3/cable/._andaman-gateway.json", b"\x00\x05\x16\x07")
        zipped.writestr("v3/cable/.DS_Store", b"\x00")
        zipped.writestr("v3/README.txt", "not json")

    assert [row.row for row in read(archive, today=TODAY)] == FIXTURE_ROWS


def test_zip_with_cables_in_several_unmarked_folders_is_refused(tmp_path):
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("one/a.json", json.dumps(cable()))
        zipped.writestr("two/b.json", json.dumps(cable()))

    with pytest.raises(DatasetError, match="several folders"):
        read(archive)


def test_single_file_holding_one_cable(tmp_path):
    path = tmp_path / "2africa.json"
    path.write_text(json.dumps(cable(id="2africa", name="2Africa")))

    [row] = read(path, today=TODAY)

    assert row.row == "2africa.json"
    assert row.record["external_ids"] == {"telegeography": "2africa"}


def test_list_file_rows_are_numbered_from_one(tmp_path):
    path = tmp_path / "some.json"
    path.write_text(json.dumps([cable(id="a", name="A"), {"id": "b"}, cable(id="c", name="C")]))

    rows = list(read(path, today=TODAY))

    assert [row.row for row in rows] == ["some.json#1", "some.json#2", "some.json#3"]
    assert [row.record["name"] if row.record else row.error for row in rows] == [
        "A",
        "missing the cable's name",
        "C",
    ]


@pytest.mark.parametrize("name", ["all.json", "cable-geo.json"])
def test_index_and_geometry_files_alone_are_not_cable_files(tmp_path, name):
    path = tmp_path / name
    path.write_text("[]")

    with pytest.raises(DatasetError, match="not a cable file"):
        read(path)


def test_wrong_sources_fail_at_once_with_a_clear_message(tmp_path):
    (tmp_path / "notes.csv").write_text("id,name\n")
    (tmp_path / "fake.zip").write_text("this is not a zip")
    (tmp_path / "empty").mkdir()
    (tmp_path / "only-index").mkdir()
    (tmp_path / "only-index" / "all.json").write_text("[]")

    with pytest.raises(DatasetError, match=r"expected a folder of cable \.json files"):
        read(tmp_path / "notes.csv")
    with pytest.raises(DatasetError, match="not a readable zip archive"):
        read(tmp_path / "fake.zip")
    with pytest.raises(DatasetError, match="does not exist"):
        read(tmp_path / "missing")
    with pytest.raises(DatasetError, match=r"holds no cable \.json files"):
        read(tmp_path / "empty")
    with pytest.raises(DatasetError, match=r"holds no cable \.json files"):
        read(tmp_path / "only-index")


def test_a_file_without_suffix_is_recognised_by_its_content(tmp_path):
    zip_folder(tmp_path / "upload-1", FIXTURES)
    (tmp_path / "upload-2").write_text("\n  " + json.dumps(cable()))
    (tmp_path / "upload-3").write_text("id,name\n")

    assert [row.row for row in read(tmp_path / "upload-1", today=TODAY)] == FIXTURE_ROWS
    assert [row.row for row in read(tmp_path / "upload-2", today=TODAY)] == ["upload-2"]
    with pytest.raises(DatasetError, match="is not TeleGeography data"):
        read(tmp_path / "upload-3")


def test_today_defaults_to_the_local_date(monkeypatch, tmp_path):
    path = tmp_path / "cable.json"
    path.write_text(json.dumps(cable(rfs="2021 June")))

    monkeypatch.setattr(telegeography.timezone, "localdate", lambda: dt.date(2021, 5, 31))
    assert next(read(path)).record["status"] == "planned"
    monkeypatch.setattr(telegeography.timezone, "localdate", lambda: dt.date(2021, 6, 1))
    assert next(read(path)).record["status"] == "operational"


# --- zip bombs -------------------------------------------------------------------------------


def test_zip_with_too_many_members_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(telegeography, "MAX_MEMBERS", 3)
    archive = zip_folder(tmp_path / "cables.zip", FIXTURES)

    with pytest.raises(DatasetError, match="more than 3; refused"):
        read(archive)


def test_zip_declaring_too_much_in_total_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(telegeography, "MAX_TOTAL_BYTES", 1024)
    archive = zip_folder(tmp_path / "cables.zip", FIXTURES)

    with pytest.raises(DatasetError, match=r"unpacks to .* refused"):
        read(archive)


def test_zip_member_declaring_more_than_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(telegeography, "MAX_MEMBER_BYTES", 1000)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("cables/a.json", json.dumps(cable()))
        zipped.writestr("cables/b.json", "[" + " " * 100_000 + "]")  # compresses to little

    with pytest.raises(DatasetError, match=r"b\.json unpacks to .* refused"):
        read(archive)


def lying_zip(path: Path, content: bytes, declared_size: int) -> Path:
    """A one-member zip whose headers claim the member unpacks to `declared_size` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("cables/a.json", content)
    data = bytearray(buffer.getvalue())
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, declared_size)
    struct.pack_into("<I", data, data.find(b"PK\x03\x04") + 22, declared_size)
    path.write_bytes(bytes(data))
    return path


def test_zip_member_lying_about_its_size_is_refused_when_read(tmp_path, monkeypatch):
    monkeypatch.setattr(telegeography, "MAX_MEMBER_BYTES", 1000)
    archive = lying_zip(tmp_path / "liar.zip", b"[" + b" " * 100_000 + b"]", declared_size=10)

    rows = read(archive)  # the headers pass the checks...
    with pytest.raises(DatasetError, match=r"liar.zip: cables/a.json (cannot be read|is larger)"):
        list(rows)  # ...but reading never goes past the cap


def test_reading_a_member_never_asks_for_more_than_the_cap(monkeypatch):
    monkeypatch.setattr(telegeography, "MAX_MEMBER_BYTES", 10)
    asked = []

    class Stream(io.BytesIO):
        def read(self, size=-1):
            asked.append(size)
            return super().read(size)

    assert telegeography.read_capped(Stream(b"x" * 10), "a.json") == b"x" * 10
    with pytest.raises(DatasetError, match=r"a\.json is larger than"):
        telegeography.read_capped(Stream(b"x" * 1_000), "a.json")
    assert asked == [11, 11]


def test_zip_whose_members_really_unpack_to_too_much_is_refused(tmp_path, monkeypatch):
    archive = zip_folder(tmp_path / "cables.zip", FIXTURES)
    rows = read(archive, today=TODAY)  # declared sizes checked against the real limit
    monkeypatch.setattr(telegeography, "MAX_TOTAL_BYTES", 4096)

    with pytest.raises(DatasetError, match="unpacks to more than"):
        list(rows)


# --- geometries ------------------------------------------------------------------------------


def test_geometry_attached_by_properties_id_or_feature_id_and_absent_otherwise():
    rows = rows_by_name(FIXTURES)

    andaman = rows["andaman-gateway.json"].record["geometry"]
    assert andaman["type"] == "MultiLineString"
    assert andaman["coordinates"][0][0] == [94.39, 16.86]
    assert rows["korea-china-express.json"].record["geometry"]["type"] == "MultiLineString"
    assert "geometry" not in rows["silk-harbour.json"].record
    assert "geometry" not in rows["west-africa-pearl.json"].record


def test_single_file_has_no_geometry(tmp_path):
    assert "geometry" not in record_of(tmp_path, id="andaman-gateway")


def test_broken_geometry_file_is_one_error_row_and_the_cables_still_read(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(cable()))
    (tmp_path / "cable-geo.json").write_text("{not json")

    geometry_row, cable_row = read(tmp_path, today=TODAY)

    assert geometry_row.row == "cable-geo.json"
    assert "not valid JSON" in geometry_row.error and "no geometry attached" in geometry_row.error
    assert cable_row.row == "a.json" and "geometry" not in cable_row.record


# --- the record ------------------------------------------------------------------------------


def test_fixture_record_in_full():
    record = rows_by_name(FIXTURES)["meridian-east-africa.json"].record

    assert set(record) == RECORD_KEYS | {"geometry", "description"}
    assert record["name"] == "Meridian East Africa (MEA)"
    assert record["type"] == "submarine-cable"
    assert record["external_ids"] == {"telegeography": "meridian-east-africa"}
    assert record["length_km"] == "15000"
    assert record["completed"] == "2019-03"
    assert record["status"] == "operational"
    assert record["companies"] == [
        {"name": "China Unicom", "role": "owner"},
        {"name": "PCCW Global", "role": "owner"},
    ]
    assert [country["name"] for country in record["countries"]] == [
        "France",
        "Djibouti",
        "Kenya",
        "South Africa",
        "Congo, Dem. Rep.",
    ]
    assert {country["role"] for country in record["countries"]} == {"landing_point"}
    assert record["landing_points"][4] == {
        "id": "muanda-congo-dem-rep",
        "name": "Muanda",
        "country_name": "Congo, Dem. Rep.",
        "country": None,
        "latitude": -5.93,
        "longitude": 12.35,
        "tbd": False,
    }
    assert len(record["landing_points"]) == 6  # two Marseille stations, one country
    assert record["replace_roles"] == {"countries": ["landing_point"], "companies": ["owner"]}
    assert record["description"].startswith("Fictional cable")


def test_every_fixture_record_is_well_formed():
    known_types = {item["slug"] for item in json.loads(project_types_json().read_text())}
    for row in read(FIXTURES, today=TODAY):
        if row.error:
            continue
        record = row.record
        optional = {"geometry", "description", *KNOWN_ONLY}
        assert RECORD_KEYS - KNOWN_ONLY <= set(record) <= RECORD_KEYS | optional
        assert "slug" not in record
        assert record["type"] in known_types
        for point in record["landing_points"]:
            assert landing_point_problem(point) == "", (row.row, point)
        for source in record["sources"]:
            assert source["claim"] in ClaimKind.values


def project_types_json() -> Path:
    import projects

    return Path(projects.__file__).parent / "reference" / "project_types.json"


def test_fixture_special_cases():
    rows = rows_by_name(FIXTURES)

    silk = rows["silk-harbour.json"].record
    # What the map's authors do not know is left out, so an import keeps what editors know.
    assert not KNOWN_ONLY & set(silk)
    assert [country["name"] for country in silk["countries"]] == ["Pakistan", "Oman"]
    tbd = silk["landing_points"][1]
    assert tbd["name"] == "TBD" and tbd["tbd"] is True and tbd["country_name"] is None
    assert (tbd["latitude"], tbd["longitude"]) == (None, None)

    pearl = rows["west-africa-pearl.json"].record
    assert (pearl["completed"], pearl["status"]) == ("2030", "planned")
    assert pearl["companies"] == [
        {"name": "China Telecom", "role": "owner"},
        {"name": "MTN GlobalConnect", "role": "owner"},
    ]
    ghana = pearl["landing_points"][1]
    assert (ghana["name"], ghana["country_name"], ghana["tbd"]) == (
        "To Be Determined",
        "Ghana",
        True,
    )
    assert "Ghana" in [country["name"] for country in pearl["countries"]]
    assert len(pearl["sources"]) == 1  # an ftp:// site is not cited
    assert pearl["description"] == "Planned; the route depends on landing permits."

    andaman = rows["andaman-gateway.json"].record
    assert (andaman["completed"], andaman["status"]) == ("2023", "operational")
    assert andaman["countries"][0] == {"name": "Burma", "role": "landing_point"}
    assert "description" not in andaman  # empty notes
    assert len(andaman["sources"]) == 1  # url null

    caribbean = rows["caribbean-link-1.json"].record
    assert caribbean["countries"][0]["name"] == "Netherlands Antilles"
    assert caribbean["landing_points"][1]["name"] == "Boca Raton, FL"

    gulf = rows["gulf-loop.json"].record
    assert (gulf["completed"], gulf["status"]) == ("2012", "operational")  # from rfs_year
    assert gulf["countries"][0]["name"] == "Iran, Islamic Rep."
    assert len(gulf["sources"]) == 1  # url ""

    korea = rows["korea-china-express.json"].record
    assert korea["name"] == "Korea-China Pacific Express"
    assert korea["length_km"] == "620.5"
    assert [point["id"] for point in korea["landing_points"]] == [
        "busan-korea-rep",
        "qingdao-china",
    ]
    assert korea["landing_points"][0]["name"] == "Busan"
    assert korea["landing_points"][1]["latitude"] is None  # no latlon at all
    assert korea["sources"][1] == {
        "url": "http://www.kcpe.example.com/",
        "title": "Korea-China Pacific Express: the cable's own site",
        "quote": "",
        "claim": "general",
        "location": "",
    }


def test_sources_cite_the_map_page():
    record = rows_by_name(FIXTURES)["andaman-gateway.json"].record

    assert record["sources"] == [
        {
            "url": "https://www.submarinecablemap.com/submarine-cable/andaman-gateway",
            "title": "Submarine Cable Map: Andaman Gateway",
            "quote": "",
            "claim": "general",
            "location": "",
        }
    ]


# --- error rows ------------------------------------------------------------------------------


def test_fixture_error_rows():
    rows = rows_by_name(FIXTURES)

    assert rows["broken.json"].record is None
    assert rows["broken.json"].error.startswith("not valid JSON: Expecting")
    assert "at line 5 column 1" in rows["broken.json"].error
    assert rows["missing-name.json"] == DatasetRow(
        "missing-name.json", error="missing the cable's name"
    )


def test_empty_file_is_not_valid_json(tmp_path):
    (tmp_path / "empty.json").write_text("")

    [row] = read(tmp_path / "empty.json")

    assert row == DatasetRow(
        "empty.json", error="not valid JSON: Expecting value at line 1 column 1"
    )


def test_file_that_is_not_utf8(tmp_path):
    (tmp_path / "latin.json").write_bytes('{"name": "Câble"}'.encode("latin-1"))

    assert next(read(tmp_path / "latin.json")).error == "not valid JSON: the file is not UTF-8 text"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"id": None}, "missing the cable's id"),
        ({"name": "   "}, "missing the cable's name"),
        ({"id": "", "name": None}, "missing the cable's id and name"),
        ({"length": "about 3000 km"}, "length 'about 3000 km' is not a length in km"),
        ({"rfs": "soon"}, "rfs 'soon' is not a date such as 2021, 2019 March or 2021 Q4"),
        ({"rfs": "2019 Smarch"}, "rfs '2019 Smarch'"),
        ({"landing_points": "Mombasa"}, "landing_points is not a list"),
        ({"landing_points": [{"id": "x"}]}, "landing point 1 has no name"),
        ({"owners": ["A", "B"]}, "owners ['A', 'B'] is not a text"),
    ],
)
def test_bad_values_make_an_error_row_naming_them(tmp_path, fields, error):
    row = one_row(tmp_path, **fields)

    assert row.record is None
    assert error in row.error


def test_every_bad_value_is_named_at_once(tmp_path):
    row = one_row(tmp_path, length="long", rfs="later")

    assert row.error == (
        "length 'long' is not a length in km; "
        "rfs 'later' is not a date such as 2021, 2019 March or 2021 Q4"
    )


def test_a_list_item_that_is_not_an_object(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([cable(), "oops", 3]))

    rows = list(read(path, today=TODAY))

    assert rows[1] == DatasetRow("list.json#2", error="holds a string, not a cable object")
    assert rows[2] == DatasetRow("list.json#3", error="holds a number, not a cable object")


# --- parsing rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15,000 km", "15000"),
        ("1,200 km", "1200"),
        ("45000 km", "45000"),
        ("620.5 km", "620.5"),
        ("12,345.6 km", "12345.6"),
        ("950km", "950"),
        (" 80 ", "80"),
        (1200, "1200"),
        ("n.a.", None),
        ("N.A.", None),
        ("", None),
        (None, None),
        ("TBD", None),
    ],
)
def test_length(text, expected):
    assert parse_length(text) == expected


@pytest.mark.parametrize("text", ["15.000,5 km", "1,20 km", "-5 km", "ten km", "15 miles", True])
def test_length_unparseable(text):
    with pytest.raises(ValueError, match="is not a length in km"):
        parse_length(text)


@pytest.mark.parametrize(
    ("text", "completed"),
    [
        ("2021", "2021"),
        ("2019 March", "2019-03"),
        ("March 2019", "2019-03"),
        ("2019 Mar", "2019-03"),
        ("2019 mar.", "2019-03"),
        ("Sept 2016", "2016-09"),
        ("2016-9", "2016-09"),
        ("2021 Q1", "2021"),
        ("2021 Q4", "2021"),
        ("Q2 2023", "2023"),
    ],
)
def test_ready_for_service_text(text, completed):
    assert parse_rfs_text(text).partial_date() == completed


@pytest.mark.parametrize("text", ["soon", "2019 Smarch", "2021 Q5", "1492", "2019-13", "21 Q1"])
def test_ready_for_service_unparseable(text):
    with pytest.raises(ValueError):
        parse_rfs_text(text)


@pytest.mark.parametrize(
    ("fields", "completed"),
    [
        ({"rfs": "2019 March", "rfs_year": 2019}, "2019-03"),  # rfs is the richer one
        ({"rfs": "n.a.", "rfs_year": 2012}, "2012"),
        ({"rfs": None, "rfs_year": "2012"}, "2012"),
        ({"rfs": "", "rfs_year": None}, None),
        ({"rfs": "soon", "rfs_year": 2024}, "2024"),  # rfs_year stands in for a bad rfs
        ({"rfs": "n.a.", "rfs_year": True}, None),
    ],
)
def test_ready_for_service_falls_back_to_rfs_year(tmp_path, fields, completed):
    assert record_of(tmp_path, **fields).get("completed") == completed


@pytest.mark.parametrize(
    ("rfs", "status"),
    [
        ("2024", "operational"),
        ("2025", "planned"),  # a bare year passes only once it is over
        ("2025 May", "operational"),
        ("2025 June", "operational"),  # a month counts from its first day
        ("2025 July", "planned"),
        ("2025 Q1", "operational"),
        ("2025 Q2", "operational"),  # a quarter counts from its last month
        ("2025 Q3", "planned"),
        ("2030 Q1", "planned"),
        ("n.a.", "unknown"),
    ],
)
def test_status_from_ready_for_service(tmp_path, rfs, status):
    assert record_of(tmp_path, rfs=rfs).get("status", "unknown") == status


def test_owners_split_on_commas_stripped_deduplicated():
    assert parse_owners(", ,China Unicom ,  PCCW Global, china unicom,") == [
        {"name": "China Unicom", "role": "owner"},
        {"name": "PCCW Global", "role": "owner"},
    ]
    assert parse_owners("n.a.") == []
    assert parse_owners(None) == []
    assert parse_owners("Ooredoo, Qatar") == [  # rare owners with commas are split too
        {"name": "Ooredoo", "role": "owner"},
        {"name": "Qatar", "role": "owner"},
    ]


@pytest.mark.parametrize(
    ("name", "city", "country"),
    [
        ("Mombasa, Kenya", "Mombasa", "Kenya"),
        ("Muanda, Congo, Dem. Rep.", "Muanda", "Congo, Dem. Rep."),
        ("Pointe-Noire, Congo, Rep.", "Pointe-Noire", "Congo, Rep."),
        ("Busan, Korea, Rep.", "Busan", "Korea, Rep."),
        ("Bandar Abbas, Iran, Islamic Rep.", "Bandar Abbas", "Iran, Islamic Rep."),
        ("Sandwich, MA, United States", "Sandwich, MA", "United States"),
        ("Marseille, France", "Marseille", "France"),
        ("Banjul, Gambia, The", "Banjul", "Gambia, The"),
        ("Fort-de-France, Martinique", "Fort-de-France", "Martinique"),
        ("Sandwich, MA, Congo, Dem. Rep.", "Sandwich, MA", "Congo, Dem. Rep."),
        ("To Be Determined, Ghana", "To Be Determined", "Ghana"),
        ("  Mombasa ,  Kenya ", "Mombasa", "Kenya"),
        ("TBD", "TBD", None),
        ("Congo, Dem. Rep.", "Congo, Dem. Rep.", "Congo, Dem. Rep."),
    ],
)
def test_split_landing_point_name(name, city, country):
    assert split_landing_point_name(name) == (city, country)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-4.05,39.67", (-4.05, 39.67)),
        (" 35.1 , 129.04 ", (35.1, 129.04)),
        ([12.11, -68.93], (12.11, -68.93)),
        ("", (None, None)),
        (None, (None, None)),
        ("n.a.", (None, None)),
        ("12.1;-68.9", (None, None)),
        ("95,10", (None, None)),  # latitude out of range
        ("10,190", (None, None)),
        ("1,2,3", (None, None)),
    ],
)
def test_latlon(value, expected):
    assert parse_latlon(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("True", True), (True, True), ("false", False), (False, False), (None, False)],
)
def test_tbd(value, expected):
    assert parse_tbd(value) is expected


def test_landing_point_ids_and_countries(tmp_path):
    points = [
        {"landing_point_id": "lp-1", "name": "Mombasa, Kenya", "latlon": "-4.05,39.67"},
        {"id": 42, "name": "Dar es Salaam, Tanzania", "is_tbd": "false"},
        {"id": "lp-3", "name": "TBD", "is_tbd": "true"},
        {"id": "lp-4", "name": "Lamu, kenya", "latlon": "-2.27,40.9"},
        {"id": "lp-5", "name": "Seoul", "country": "Korea, Rep.", "is_tbd": False},
    ]

    record = record_of(tmp_path, landing_points=points)

    assert [point["id"] for point in record["landing_points"]] == [
        "lp-1",
        "42",
        "lp-3",
        "lp-4",
        "lp-5",
    ]
    assert [point["tbd"] for point in record["landing_points"]] == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert record["landing_points"][1]["latitude"] is None
    assert record["landing_points"][4]["country_name"] == "Korea, Rep."
    assert record["countries"] == [
        {"name": "Kenya", "role": "landing_point"},
        {"name": "Tanzania", "role": "landing_point"},
        {"name": "Korea, Rep.", "role": "landing_point"},
    ]


def test_name_is_stripped_and_no_slug_is_made(tmp_path):
    record = record_of(tmp_path, name="  PEACE Cable \n")

    assert record["name"] == "PEACE Cable"
    assert "slug" not in record


def test_constants_match_the_reference_data():
    assert telegeography.CLAIM_GENERAL == ClaimKind.GENERAL
    slugs = {item["slug"] for item in json.loads(project_types_json().read_text())}
    assert telegeography.PROJECT_TYPE in slugs
