"""Finding a customer at the desk (``GET /api/people?q=``): name, pinyin, phone, policy, id."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from feeds import person, policy

from storage import db, schema
from storage.db import make_engine
from storage.models import Person

# The desk fixtures' people (desk_fixtures.FEED), plus namesakes and homophones.
EXTRA = {
    "people": [
        person("Q1", "章伟", "+8613100005678"),
        person("Q2", "张伟", "021-6123-4567"),
        person("Q3", "单田芳", "+8613500000001"),
        person("Q4", "张伟明", "+8613500000002"),
    ],
    "policies": [
        policy("E001", "Q1"),
        policy("E002", "Q2"),
        policy("E003", "Q3"),
        policy("E004", "Q4"),
    ],
    "usage": [],
}


@pytest.fixture
def searchable(people, import_feed, make_agent, auth_for):
    result = import_feed(EXTRA)
    assert result.exit_code == 0, result.output
    make_agent("ann")
    return auth_for("ann")


def search(client, headers, q):
    response = client.get("/api/people", query_string={"q": q}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def found(client, headers, q) -> list[tuple[str, str]]:
    return [(p["id"], p["found_by"]) for p in search(client, headers, q)["people"]]


def test_a_name_in_characters_finds_the_same_name_first_then_its_homophones(client, searchable):
    assert found(client, searchable, "张伟") == [
        ("P1", "name"),
        ("Q2", "name"),
        ("Q1", "name_sound"),
    ]


def test_a_homophone_typed_finds_the_name_on_file_as_the_ivr_would(client, searchable):
    assert found(client, searchable, "章伟") == [
        ("Q1", "name"),
        ("P1", "name_sound"),
        ("Q2", "name_sound"),
    ]


def test_a_surname_read_as_a_surname_is_found_by_its_ordinary_sound_too(client, searchable):
    assert ("Q3", "name_sound") in found(client, searchable, "丹田芳")
    assert found(client, searchable, "单田芳") == [("Q3", "name")]


@pytest.mark.parametrize("typed", ["zhangwei", "Zhang Wei", "ZHANG-WEI", "zhāng wěi"])
def test_pinyin_finds_everyone_spelt_so_with_or_without_spaces_and_tones(client, searchable, typed):
    assert sorted(found(client, searchable, typed)) == [
        ("P1", "pinyin"),
        ("Q1", "pinyin"),
        ("Q2", "pinyin"),
    ]


def test_a_longer_name_is_not_the_shorter_one(client, searchable):
    assert found(client, searchable, "张伟明") == [("Q4", "name")]


@pytest.mark.parametrize(
    "typed",
    ["+8613812345678", "13812345678", "138 1234 5678", "138-1234-5678", "0086 138 1234 5678"],
)
def test_a_phone_number_in_any_form_finds_its_owner(client, searchable, typed):
    assert found(client, searchable, typed) == [("P1", "phone")]


def test_a_landline_with_its_area_code_finds_its_owner(client, searchable):
    assert found(client, searchable, "(021) 61234567") == [("Q2", "phone")]


def test_the_last_six_digits_find_everyone_whose_number_ends_so(client, searchable):
    assert found(client, searchable, "345678") == [("P1", "phone_suffix")]
    assert {pid for pid, _ in found(client, searchable, "005678")} == {"Q1"}


def test_a_policy_number_finds_its_holder_and_its_insured_person(client, searchable):
    # D002 is held by 张伟 (P1) on his son 张小明 (P2).
    assert found(client, searchable, "D002") == [("P1", "policy"), ("P2", "policy")]
    assert found(client, searchable, "d002") == [("P1", "policy"), ("P2", "policy")]


def test_an_id_finds_that_person(client, searchable):
    assert found(client, searchable, "P3") == [("P3", "id")]


def test_results_are_masked_and_say_who_holds_and_who_is_insured(client, searchable):
    (zhang,) = [p for p in search(client, searchable, "P1")["people"]]
    assert zhang == {
        "id": "P1",
        "name": "张*",
        "phone": "138****5678",
        "found_by": "id",
        "policyholder": True,
        "insured": True,
        "household": [{"id": "P1", "name": "张*"}, {"id": "P2", "name": "张*明"}],
    }
    listed = str(search(client, searchable, "张伟")["people"])
    assert "张伟" not in listed and "13812345678" not in listed and "021" in listed


def test_the_number_found_by_is_the_one_shown(client, searchable):
    (hit,) = search(client, searchable, "02161234567")["people"]
    assert hit["phone"] == "021****4567"


def test_results_are_capped_and_say_there_are_more(app, client, searchable):
    from services import people

    with app.app_context():
        results = people.search(db.session(), "zhangwei", limit=2)
    assert len(results.people) == 2 and results.more


def test_nothing_found_is_an_empty_list_not_an_error(client, searchable):
    assert search(client, searchable, "欧阳娜娜") == {
        "query": "欧阳娜娜",
        "people": [],
        "more": False,
    }


@pytest.mark.parametrize(
    ("q", "code"), [("", "missing_query"), ("  ", "missing_query"), ("张" * 101, "invalid_query")]
)
def test_an_empty_or_overlong_query_is_a_json_400(client, searchable, q, code):
    response = client.get("/api/people", query_string={"q": q}, headers=searchable)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_searching_needs_a_signed_in_agent(client, searchable):
    assert client.get("/api/people?q=P1").status_code == 401


# -- the keys behind it ----------------------------------------------------------------------


def test_the_import_writes_the_search_keys_and_rewrites_them_with_the_name(
    app, import_feed, searchable
):
    with app.app_context():
        q1 = db.session().get(Person, "Q1")
        assert (q1.name_key, q1.name_pinyin) == ("章伟", "zhangwei")
    renamed = {"people": [person("Q1", "王芳", "+8613100005678")], "policies": [], "usage": []}
    assert import_feed(renamed).exit_code == 0
    with app.app_context():
        q1 = db.session().get(Person, "Q1")
        assert (q1.name_key, q1.name_pinyin) == ("王芳", "wangfang")


def test_the_migration_keys_the_people_already_stored(database_url):
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(schema.alembic_config(connection), "0004")
            connection.execute(
                sa.text("INSERT INTO people (id, name, updated_at) VALUES (:id, :name, :at)"),
                [
                    {"id": "M1", "name": "单田芳", "at": "2026-01-01 00:00:00"},
                    {"id": "M2", "name": "Li E", "at": "2026-01-01 00:00:00"},
                ],
            )
        schema.upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, name_key, name_pinyin FROM people ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("M1", "单田芳", "shantianfang"), ("M2", "lie", "lie")]
