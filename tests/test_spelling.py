"""Typo correction from the index's own unstemmed vocabulary."""
from service.spelling import Speller, max_distance

VOCABULARY = {"sialadenitis": 3, "gland": 40, "glands": 12, "semen": 90, "pain": 120, "pin": 1, "rare": 1}


def test_distance_grows_with_length():
    assert [max_distance(w) for w in ("ab", "abc", "abcd", "abcdefg", "abcdefgh")] == [0, 0, 1, 1, 2]


def test_unknown_words_are_corrected_to_the_closest_most_frequent_word():
    speller = Speller(VOCABULARY)
    assert speller.correct("sialadenitus") == "sialadenitis"   # distance 1 in a long word
    assert speller.correct("sialadnitus") == "sialadenitis"    # distance 2 allowed past 7 letters
    assert speller.correct("glend") == "gland"
    assert speller.correct("semem") == "semen"


def test_short_words_digits_and_far_words_are_left_alone():
    speller = Speller(VOCABULARY)
    assert speller.correct("pan") is None      # three letters: no correction
    assert speller.correct("12345") is None
    assert speller.correct("zzzzzz") is None


def test_a_known_rare_word_moves_only_to_a_much_more_frequent_neighbour():
    speller = Speller(VOCABULARY)
    assert speller.correct("semen") is None    # well attested: never corrected
    assert speller.correct("rare") is None     # rare, but no frequent neighbour within one edit
    assert Speller({"paint": 1, "pain": 120}).correct("paint") == "pain"
    assert Speller({"paint": 1, "pain": 20}).correct("paint") is None  # not 50 times as frequent
