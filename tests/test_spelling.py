"""Typo correction from the index's own unstemmed vocabulary."""

from service.query.spelling import Speller, max_distance

VOCABULARY = {"sialadenitis": 3, "gland": 40, "glands": 12, "semen": 90, "pain": 120, "pin": 1, "rare": 1}


def test_distance_grows_with_length():
    assert [max_distance(w) for w in ("ab", "abc", "abcd", "abcdefg", "abcdefgh")] == [0, 0, 1, 1, 2]


def test_unknown_words_are_corrected_to_the_closest_most_frequent_word():
    speller = Speller(VOCABULARY)
    assert speller.correct("sialadenitus") == "sialadenitis"  # distance 1 in a long word
    assert speller.correct("sialadnitus") == "sialadenitis"  # distance 2 allowed past 7 letters
    assert speller.correct("glend") == "gland"
    assert speller.correct("semem") == "semen"


def test_short_words_digits_and_far_words_are_left_alone():
    speller = Speller(VOCABULARY)
    assert speller.correct("pan") is None  # three letters: no correction
    assert speller.correct("12345") is None
    assert speller.correct("zzzzzz") is None


def test_a_known_rare_word_moves_only_to_a_much_more_frequent_neighbour():
    speller = Speller(VOCABULARY)
    assert speller.correct("semen") is None  # well attested: never corrected
    assert speller.correct("rare") is None  # rare, but no frequent neighbour within one edit
    assert Speller({"paint": 1, "pain": 120}).correct("paint") == "pain"
    assert Speller({"paint": 1, "pain": 20}).correct("paint") is None  # not 50 times as frequent


def test_ordinary_words_and_abbreviations_are_not_typos():
    speller = Speller({"while": 40, "hpp": 5, "gland": 40}, dictionary=frozenset({"white"}))
    assert speller.correct("white") is None  # an English word the corpus does not use
    assert speller.correct("hnpp") is None  # no vowel: an abbreviation or a code
    assert speller.correct("glend") == "gland"  # a typo is still corrected
    assert Speller({"while": 40}).correct("white") == "while"  # without a dictionary it would be


def test_the_model_vocabulary_is_the_dictionary(encoder):
    assert {"white", "toilet", "climax"} <= encoder.dictionary
    assert "glend" not in encoder.dictionary and "sialadenitis" not in encoder.dictionary
