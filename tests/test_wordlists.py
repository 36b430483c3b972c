"""The word lists read straight from wordfreq's data files are wordfreq's own lists."""

from __future__ import annotations

import pytest

from rotator.scan import wordlists


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROTATOR_CACHE_DIR", str(tmp_path / "cache"))
    wordlists.word_list.cache_clear()
    yield tmp_path / "cache"
    wordlists.word_list.cache_clear()


@pytest.mark.parametrize("language", ["en", "de", "pt", "ru"])
def test_a_language_holds_exactly_wordfreqs_words(fresh_cache, language):
    wordfreq = pytest.importorskip("wordfreq")
    expected = set(wordfreq.get_frequency_dict(language, wordlist="small"))
    words = wordlists.word_list(language)
    assert words.as_set() == expected
    sample = sorted(expected)[:: max(1, len(expected) // 500)]
    assert all(word in words for word in sample)
    assert "xqzvbnmtwrkpl" not in words and "" not in words and "a\nb" not in words


def test_the_languages_are_wordfreqs_small_lists():
    wordfreq = pytest.importorskip("wordfreq")
    assert set(wordlists.available_languages()) == set(wordfreq.available_languages("small"))


def test_a_list_is_decoded_once_then_read_from_the_cache(fresh_cache):
    first = wordlists.word_list("fr")
    cached = list((fresh_cache / "words").glob("fr-*.txt"))
    assert len(cached) == 1
    wordlists.word_list.cache_clear()
    again = wordlists.word_list("fr")
    assert again.as_set() == first.as_set() and "bonjour" in again


def test_an_unknown_language_has_no_list(fresh_cache):
    assert wordlists.word_list("xx") is None
