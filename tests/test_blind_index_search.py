"""Exact-match search through blind indexes, across scripts, scoped, post-filtered (R37)."""

from __future__ import annotations

import pytest

from casework.cases.models import Applicant
from casework.lib.fields import index_bits, search
from tests.factories import make_applicant

pytestmark = pytest.mark.django_db


def find(organisation, fields, query):
    queryset = Applicant.objects.filter(organisation=organisation)
    return {a.pk for a in search(queryset, fields, organisation.pk, query)}


@pytest.mark.parametrize("query", ["Иван Петров", "IVAN PETROV", "  ivan   petrov ", "Ivan-Petrov"])
def test_a_name_is_found_in_either_script(organisation, query):
    stored_latin = make_applicant(
        organisation, legal_name_latin="IVAN PETROV", legal_name_cyrillic=None
    )
    stored_cyrillic = make_applicant(
        organisation, legal_name_latin=None, legal_name_cyrillic="Иван Петров"
    )
    assert find(organisation, Applicant.NAME_FIELDS, query) == {stored_latin.pk, stored_cyrillic.pk}


def test_a_different_person_is_not_found(organisation):
    make_applicant(organisation, legal_name_latin="IVAN PETROV", legal_name_cyrillic="Иван Петров")
    assert find(organisation, Applicant.NAME_FIELDS, "Ivan Petrova") == set()
    assert find(organisation, Applicant.NAME_FIELDS, "Иван") == set()


def test_a_passport_number_is_found_whatever_its_spacing(organisation):
    applicant = make_applicant(organisation, international_passport_no="75 1234567")
    assert find(organisation, Applicant.PASSPORT_FIELDS, "751234567") == {applicant.pk}
    assert find(organisation, Applicant.PASSPORT_FIELDS, "75-123-4567") == {applicant.pk}
    assert find(organisation, Applicant.PASSPORT_FIELDS, "751234568") == set()


def test_email_and_phone_are_searchable(organisation):
    applicant = make_applicant(organisation, email="Ivan@Example.org", phone="+7 (900) 000-00-01")
    assert find(organisation, ["email"], "ivan@example.org") == {applicant.pk}
    assert find(organisation, ["phone"], "+79000000001") == {applicant.pk}


def test_another_organisation_cannot_find_our_applicant(organisation, other_organisation):
    make_applicant(organisation, legal_name_latin="IVAN PETROV")
    assert find(other_organisation, Applicant.NAME_FIELDS, "IVAN PETROV") == set()


def test_the_same_name_has_different_indexes_in_different_organisations(
    organisation, other_organisation
):
    ours = make_applicant(organisation, legal_name_latin="IVAN PETROV")
    theirs = make_applicant(other_organisation, legal_name_latin="IVAN PETROV")
    assert ours.legal_name_latin_bidx != theirs.legal_name_latin_bidx


def test_false_candidates_are_removed_by_decryption(organisation, settings):
    """With a 1-bit index half of all rows are candidates; only the real match is returned."""
    settings.CASEWORK_BLIND_INDEX_ROWS = 4  # floor(log2(4 / 2)) = 1 bit
    assert index_bits() == 1
    target = make_applicant(organisation, legal_name_latin="IVAN PETROV", legal_name_cyrillic=None)
    # Keys are random in every run: with 12 others, all of them missed the target's bit once
    # in 4,096 runs (seen in CI); with 40, once in 10^12.
    for number in range(40):
        make_applicant(organisation, legal_name_latin=f"PERSON {number}", legal_name_cyrillic=None)
    candidates = Applicant.objects.filter(legal_name_latin_bidx=target.legal_name_latin_bidx)
    assert candidates.count() > 1
    assert find(organisation, ["legal_name_latin"], "IVAN PETROV") == {target.pk}


def test_the_default_index_width_follows_the_cipher_sweet_bound(settings):
    settings.CASEWORK_BLIND_INDEX_ROWS = 10_000
    assert index_bits() == 12
    rows = settings.CASEWORK_BLIND_INDEX_ROWS
    assert 2 <= rows / 2 ** index_bits() < rows**0.5


def test_an_empty_query_finds_nothing(organisation):
    make_applicant(organisation)
    assert find(organisation, Applicant.NAME_FIELDS, "   ") == set()


def test_every_blind_index_column_is_indexed_together_with_the_organisation():
    from django.apps import apps

    from casework.lib.fields import encrypted_fields

    for model in apps.get_models():
        index_columns = {tuple(index.fields) for index in model._meta.indexes}
        for field in encrypted_fields(model):
            if field.blind_index:
                assert ("organisation", field.index_field_name) in index_columns, (
                    f"{model._meta.label}.{field.name} needs blind_index_indexes() in Meta"
                )
